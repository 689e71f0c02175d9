//go:build linux

package e2e

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/internal/testutil"
	"golang.org/x/sys/unix"
)

// The escape suite attacks the built pent binary the way a hostile program
// in the sandbox would. Every attempt is run by testdata/escape (a small Go
// program, copied into the project as the attacker's own code) or by sh; it
// prints SUCCESS only when it got out. The suite also checks the host side
// (files unchanged, listeners not reached, DNS not asked) and counts an
// attempt that did not report at all as a success: nothing is assumed.

// escapeTally counts the attempts of the whole suite.
type escapeTally struct {
	mu        sync.Mutex
	attempted int
	byMode    map[string]int // attempts per mode ("root", "rootless")
	succeeded []string
}

func (e *escapeTally) record(name string, ok bool, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempted++
	if e.byMode == nil {
		e.byMode = map[string]int{}
	}
	mode, _, _ := strings.Cut(name, "/")
	e.byMode[mode]++
	if !ok {
		e.succeeded = append(e.succeeded, name+": "+why)
	}
}

// minAttempts is the floor the issue sets for one run of the suite.
const minAttempts = 40

// escAttempt is one way out, as the helper's batch file lists it, plus an
// optional check of the host afterwards that returns what changed.
type escAttempt struct {
	Name    string   `json:"name"`
	Args    []string `json:"args,omitempty"`
	Sh      string   `json:"sh,omitempty"`
	changed func() string
}

// escaper attacks one runner's sandbox.
type escaper struct {
	t      *testing.T
	r      *runner
	helper string // the attacker program inside the project
	tally  *escapeTally
}

var (
	escapeHelperOnce sync.Once
	escapeHelperBin  string
	escapeHelperErr  error
)

// escapeHelper builds testdata/escape once (static, CGO_ENABLED=0).
func escapeHelper(t *testing.T) string {
	t.Helper()
	escapeHelperOnce.Do(func() {
		dir := filepath.Join(scratch, "escape-bin")
		if escapeHelperErr = os.MkdirAll(dir, 0o755); escapeHelperErr != nil {
			return
		}
		escapeHelperBin = filepath.Join(dir, "escape")
		build := exec.Command("go", "build", "-o", escapeHelperBin, "./testdata/escape")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			escapeHelperErr = fmt.Errorf("building testdata/escape: %w\n%s", err, out)
		}
	})
	if escapeHelperErr != nil {
		t.Fatal(escapeHelperErr)
	}
	return escapeHelperBin
}

func newEscaper(t *testing.T, r *runner, tally *escapeTally) *escaper {
	t.Helper()
	data, err := os.ReadFile(escapeHelper(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &escaper{t: t, r: r, helper: filepath.Join(r.project, "escape"), tally: tally}
	r.writeFile(e.helper, string(data), 0o755)
	return e
}

// run runs the attempts in one sandbox started with flags and records each
// verdict; extra host checks run afterwards.
func (e *escaper) run(label string, flags []string, attempts []escAttempt) {
	e.t.Helper()
	list, err := json.Marshal(attempts)
	if err != nil {
		e.t.Fatal(err)
	}
	file := filepath.Join(e.r.project, "attempts-"+label+".json")
	e.r.writeFile(file, string(list), 0o644)
	args := append(append([]string{"run"}, flags...), "--", e.helper, "batch", file)
	res := e.r.pent(args...)
	e.r.assertNoSecret(res)
	verdicts := map[string]string{}
	for _, line := range strings.Split(res.stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "ATTEMPT "); ok {
			name, verdict, _ := strings.Cut(rest, " ")
			verdicts[name] = verdict
		}
	}
	for _, a := range attempts {
		name := e.r.mode + "/" + label + "/" + a.Name
		v, ok := verdicts[a.Name]
		switch {
		case !ok:
			e.fail(name, "the attempt did not report (did the sandbox die?)")
		case strings.HasPrefix(v, "SUCCESS"):
			e.fail(name, "the attempt got out: "+v)
		case !strings.HasPrefix(v, "BLOCKED"):
			e.fail(name, "the attempt ended without a verdict: "+v)
		default:
			if a.changed != nil {
				if what := a.changed(); what != "" {
					e.fail(name, "the host changed: "+what)
					continue
				}
			}
			e.tally.record(name, true, "")
		}
	}
}

func (e *escaper) fail(name, why string) {
	e.t.Helper()
	e.t.Errorf("ESCAPE %s: %s", name, why)
	e.tally.record(name, false, why)
}

// helperArgs is a helper attempt.
func helperArgs(name string, args ...string) escAttempt {
	return escAttempt{Name: name, Args: args}
}

// unchanged returns a host check that path still holds its content now.
func unchanged(t *testing.T, path string) func() string {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return func() string {
		now, err := os.ReadFile(path)
		if err != nil {
			return fmt.Sprintf("%s: %v", path, err)
		}
		if string(now) != string(before) {
			return fmt.Sprintf("%s now holds %q", path, now)
		}
		if fi2, err := os.Lstat(path); err != nil || fi2.Mode() != fi.Mode() || !fi2.ModTime().Equal(fi.ModTime()) ||
			fileUID(fi2) != fileUID(fi) {
			return fmt.Sprintf("%s: mode, owner or time changed", path)
		}
		return ""
	}
}

// absent returns a host check that path does not exist (it removes it if
// it does).
func absent(path string) func() string {
	return func() string {
		if _, err := os.Lstat(path); err == nil {
			os.RemoveAll(path)
			return path + " exists on the host"
		}
		return ""
	}
}

// noSetID returns a host check that path is not a set-user-ID or
// set-group-ID file (it removes it either way).
func noSetID(path string) func() string {
	return func() string {
		defer os.Remove(path)
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			return fmt.Sprintf("%s is %v on the host", path, fi.Mode())
		}
		return ""
	}
}

// setIDAttempts try to leave a set-user-ID or set-group-ID file in the
// project: a root run's would run as root for whoever executes it outside.
func (e *escaper) setIDAttempts() []escAttempt {
	var list []escAttempt
	for _, how := range []string{"chmod-u", "chmod-g", "create", "tmpfile", "mknod"} {
		path := filepath.Join(e.r.project, "setid-"+how)
		list = append(list, escAttempt{Name: "setid-" + how, Args: []string{"setid", how, path}, changed: noSetID(path)})
	}
	shell := filepath.Join(e.r.project, "setid-shell")
	return append(list, escAttempt{Name: "setid-shell",
		Sh:      `cp /bin/sh setid-shell && chmod u+s,g+s setid-shell 2>&1; [ -u setid-shell ] || [ -g setid-shell ] && echo SUCCESS || echo BLOCKED`,
		changed: noSetID(shell)})
}

// both combines host checks.
func both(checks ...func() string) func() string {
	return func() string {
		var out []string
		for _, c := range checks {
			if s := c(); s != "" {
				out = append(out, s)
			}
		}
		return strings.Join(out, "; ")
	}
}

// fileHandle is the open_by_handle_at handle of path on the host, as the
// helper takes it: "TYPE:HEX".
func fileHandle(t *testing.T, path string) string {
	t.Helper()
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, path, 0)
	if err != nil {
		t.Fatalf("name_to_handle_at %s: %v", path, err)
	}
	return fmt.Sprintf("%d:%s", h.Type(), hex.EncodeToString(h.Bytes()))
}

// filesystemAttempts read secrets and write outside the allowed paths.
func (e *escaper) filesystemAttempts() []escAttempt {
	t, r := e.t, e.r
	ssh := filepath.Join(r.home, ".ssh", "id_ed25519")
	aws := filepath.Join(r.home, ".aws", "credentials")
	sibling := filepath.Join(r.home, "src", "other", "secret.txt")
	r.writeFile(sibling, r.marker+"\n", 0o644)
	hostFile := filepath.Join(r.base, "host-file.txt")
	r.writeFile(hostFile, "host file\n", 0o644)
	cache := filepath.Join(r.home, ".cache", "evil.so")
	pentToml := filepath.Join(r.project, ".pent.toml")
	preCommit := filepath.Join(r.project, ".git", "hooks", "pre-commit")
	gitCfg := filepath.Join(r.project, ".git", "config")
	readme := filepath.Join(r.project, "README")
	handle := fileHandle(t, ssh)
	if r.acct.uid == 0 {
		// Control: with CAP_DAC_READ_SEARCH (root outside) the handle opens.
		if res := r.host(e.helper, "handle-read", r.project, handle); !strings.Contains(res.stdout, "SUCCESS") {
			t.Fatalf("control: the file handle of %s does not open outside the sandbox:\n%s", ssh, res)
		}
	}
	rootOnly := rootOnlyEtcFile(t, r.marker)
	secrets := both(unchanged(t, ssh), unchanged(t, aws))
	protected := both(unchanged(t, pentToml), unchanged(t, preCommit), unchanged(t, gitCfg))
	return []escAttempt{
		helperArgs("read-ssh", "read", ssh),
		helperArgs("read-aws", "read", aws),
		helperArgs("read-sibling", "read", sibling),
		helperArgs("symlink-ssh", "symlink-read", ssh),
		helperArgs("symlink-aws", "symlink-read", aws),
		helperArgs("symlink-sibling", "symlink-read", sibling),
		helperArgs("hardlink-ssh", "hardlink-read", ssh),
		helperArgs("hardlink-aws", "hardlink-read", aws),
		helperArgs("dotdot-ssh", "read", r.project+"/../../.ssh/id_ed25519"),
		helperArgs("dotdot-sibling", "read", r.project+"/../other/secret.txt"),
		helperArgs("proc-self-root", "read", "/proc/self/root"+ssh),
		helperArgs("proc-1-root", "read", "/proc/1/root"+ssh),
		helperArgs("proc-1-cwd", "read", "/proc/1/cwd"+aws),
		helperArgs("open-by-handle", "handle-read", r.project, handle),
		helperArgs("etc-shadow", "read", "/etc/shadow"),
		helperArgs("etc-root-only", "read", rootOnly),
		{Name: "write-home", Args: []string{"write", filepath.Join(r.home, ".bashrc")}, changed: absent(filepath.Join(r.home, ".bashrc"))},
		{Name: "write-outside", Args: []string{"write", filepath.Join(r.base, "planted")}, changed: absent(filepath.Join(r.base, "planted"))},
		{Name: "write-evil-lib", Args: []string{"write", cache}, changed: absent(cache)},
		{Name: "rename-out", Args: []string{"rename", readme, filepath.Join(r.home, "moved")},
			changed: both(absent(filepath.Join(r.home, "moved")), unchanged(t, readme))},
		{Name: "rename-secret-in", Args: []string{"rename", ssh, filepath.Join(r.project, "stolen")},
			changed: both(absent(filepath.Join(r.project, "stolen")), secrets)},
		{Name: "link-out", Args: []string{"link", readme, filepath.Join(r.home, "linked")}, changed: absent(filepath.Join(r.home, "linked"))},
		{Name: "tmpfile-linkat-home", Args: []string{"tmpfile-linkat", r.home, filepath.Join(r.home, "tmpfile")},
			changed: absent(filepath.Join(r.home, "tmpfile"))},
		{Name: "tmpfile-linkat-cross", Args: []string{"tmpfile-linkat", r.project, filepath.Join(r.base, "tmpfile")},
			changed: absent(filepath.Join(r.base, "tmpfile"))},
		{Name: "chmod-host", Args: []string{"chmod", hostFile}, changed: unchanged(t, hostFile)},
		{Name: "chown-host", Args: []string{"chown", hostFile}, changed: unchanged(t, hostFile)},
		{Name: "utime-host", Args: []string{"utime", hostFile}, changed: unchanged(t, hostFile)},
		{Name: "chmod-ssh", Args: []string{"chmod", ssh}, changed: secrets},
		{Name: "write-pent-toml", Args: []string{"write", pentToml}, changed: protected},
		{Name: "truncate-pent-toml", Args: []string{"truncate", pentToml}, changed: protected},
		{Name: "unlink-pent-toml", Args: []string{"unlink", pentToml}, changed: protected},
		{Name: "rename-over-pent-toml", Args: []string{"rename-over", pentToml}, changed: protected},
		{Name: "chmod-pent-toml", Args: []string{"chmod", pentToml}, changed: protected},
		{Name: "write-pre-commit", Args: []string{"write", preCommit}, changed: protected},
		{Name: "rename-over-pre-commit", Args: []string{"rename-over", preCommit}, changed: protected},
		{Name: "unlink-pre-commit", Args: []string{"unlink", preCommit}, changed: protected},
		{Name: "new-hook", Args: []string{"rename-over", filepath.Join(r.project, ".git", "hooks", "post-checkout")},
			changed: absent(filepath.Join(r.project, ".git", "hooks", "post-checkout"))},
		{Name: "write-git-config", Args: []string{"write", gitCfg}, changed: protected},
		{Name: "truncate-git-config", Args: []string{"truncate", gitCfg}, changed: protected},
		{Name: "rename-over-git-config", Args: []string{"rename-over", gitCfg}, changed: protected},
		{Name: "rename-git-away", Sh: `mv .git .git-away 2>&1 && mkdir -p .git/hooks && printf '#!/bin/sh\necho PWNED\n' > .git/hooks/pre-commit && echo SUCCESS || echo BLOCKED`,
			changed: both(protected, absent(filepath.Join(r.project, ".git-away")))},
		{Name: "rename-hooks-away", Args: []string{"rename", filepath.Join(r.project, ".git", "hooks"), filepath.Join(r.project, "hooks-away")},
			changed: both(protected, absent(filepath.Join(r.project, "hooks-away")))},
		{Name: "sysctl-write", Sh: `echo 1 2>&1 > /proc/sys/vm/drop_caches && echo SUCCESS || echo BLOCKED`},
		{Name: "sysctl-hostname", Sh: `echo pent-escape 2>&1 > /proc/sys/kernel/hostname && echo SUCCESS || echo BLOCKED`},
	}
}

// rootOnlyEtcFile creates a root-owned 0600 file holding marker in /etc,
// where no list of known secrets names it, and removes it when the test
// ends. A root run reads /etc as an unprivileged uid, so it must not open
// it (issue 14 item 5); a rootless run never could.
func rootOnlyEtcFile(t *testing.T, marker string) string {
	t.Helper()
	path := fmt.Sprintf("/etc/pent-e2e-secret-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := os.WriteFile(path, []byte(marker+"\n"), 0o600); err != nil {
		t.Fatalf("creating a root-only file in /etc (the e2e tests run as root): %v", err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// processAttempts go after host processes, the init stage and the kernel.
func (e *escaper) processAttempts(hostPID int) []escAttempt {
	pid := strconv.Itoa(hostPID)
	alive := func() string {
		if s := processState(e.t, hostPID); s == "" || s == "Z" || s == "t" || s == "T" {
			return fmt.Sprintf("the host process %d is gone or stopped (state %q)", hostPID, s)
		}
		return ""
	}
	return []escAttempt{
		{Name: "kill-host", Args: []string{"kill", pid}, changed: alive},
		{Name: "ptrace-host", Args: []string{"ptrace", pid}, changed: alive},
		{Name: "ptrace-test", Args: []string{"ptrace", strconv.Itoa(os.Getpid())}},
		helperArgs("ptrace-init", "ptrace", "1"),
		helperArgs("open-init-fd", "open-init-fd"),
		helperArgs("unshare-user", "unshare-user"),
		{Name: "unshare-Ur-umount", Sh: `if o=$(unshare -Ur sh -c 'umount -l /proc && umount -l /tmp' 2>&1); then echo SUCCESS; else echo "BLOCKED $o"; fi`},
		{Name: "unshare-Ur-mount", Sh: `if o=$(unshare -Urm sh -c 'mount -t tmpfs none /tmp' 2>&1); then echo SUCCESS; else echo "BLOCKED $o"; fi`},
		helperArgs("umount-home", "umount", e.r.home),
		helperArgs("umount-proc", "umount", "/proc"),
		helperArgs("mount-tmpfs", "mount-tmpfs", e.r.project),
		helperArgs("setns-mnt", "setns", "/proc/1/ns/mnt"),
		helperArgs("setns-user", "setns", "/proc/1/ns/user"),
		{Name: "nsenter", Sh: `if o=$(nsenter -t 1 -m -U -n true 2>&1); then echo SUCCESS; else echo "BLOCKED $o"; fi`},
		helperArgs("keyctl", "keyctl"),
		helperArgs("bpf", "bpf"),
		helperArgs("perf-event-open", "perf"),
		helperArgs("io-uring", "io-uring"),
		helperArgs("vsock", "vsock"),
		helperArgs("userfaultfd", "userfaultfd"),
		helperArgs("netlink", "netlink"),
		helperArgs("tioclinux", "tioclinux"),
		// Last: if it worked, the sandbox is gone and nothing after it reports.
		helperArgs("kill-init", "init-kill"),
	}
}

// hostSockets are UNIX sockets on the host a sandbox must not reach, in
// every network mode: a fake D-Bus session bus, a fake docker socket, an
// ssh-agent socket in /tmp (passed in SSH_AUTH_SOCK) and an abstract one.
type hostSockets struct {
	paths    map[string]string // attempt name → path
	abstract string
	sshAuth  string
	accepted atomic.Int32
}

func (e *escaper) startHostSockets() *hostSockets {
	t, r := e.t, e.r
	h := &hostSockets{paths: map[string]string{"dbus-session": filepath.Join(r.runtime, "bus")}}
	tmp, err := os.MkdirTemp("/tmp", "pent-e2e-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	r.chown(tmp)
	h.sshAuth = filepath.Join(tmp, "agent.sock")
	h.paths["ssh-agent"] = h.sshAuth
	if os.Geteuid() == 0 {
		h.paths["docker"] = fmt.Sprintf("/run/pent-e2e-docker-%d-%s.sock", os.Getpid(), r.mode)
	} else {
		h.paths["docker"] = filepath.Join(r.runtime, "docker.sock")
	}
	h.abstract = fmt.Sprintf("@pent-e2e-%d-%s", os.Getpid(), r.mode)
	for _, path := range append(mapValues(h.paths), h.abstract) {
		testutil.AcceptLoop(t, "unix", path, func(c net.Conn) {
			h.accepted.Add(1)
			c.Close()
		})
		if !strings.HasPrefix(path, "@") {
			if err := os.Chmod(path, 0o666); err != nil {
				t.Fatal(err)
			}
			r.chown(path)
		}
	}
	// Control: outside the sandbox, the account reaches every one. The
	// helper's connect returns before the accept loop counts it: wait for
	// every count before starting from zero, or a late one is blamed on the
	// first attempt (and every one after it).
	all := append(mapValues(h.paths), h.abstract)
	for _, path := range all {
		if res := r.host(e.helper, "unix", path); !strings.Contains(res.stdout, "SUCCESS") {
			t.Fatalf("control: %s is not reachable outside the sandbox either:\n%s", path, res)
		}
	}
	if !waitFor(30*time.Second, func() bool { return h.accepted.Load() == int32(len(all)) }) {
		t.Fatalf("control: the host sockets counted %d of the %d connections made outside the sandbox", h.accepted.Load(), len(all))
	}
	h.accepted.Store(0)
	return h
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// socketAttempts connect to every host socket, also through /var/run and
// /proc/1/root, plus extra sockets (a project proxy's) by path.
func (h *hostSockets) socketAttempts(extra map[string]string) []escAttempt {
	none := func() string {
		if n := h.accepted.Load(); n != 0 {
			return fmt.Sprintf("host sockets accepted %d connections", n)
		}
		return ""
	}
	var out []escAttempt
	add := func(name, path string) {
		out = append(out, escAttempt{Name: name, Args: []string{"unix", path}, changed: none})
	}
	for name, path := range h.paths {
		add(name, path)
		add(name+"-proc1root", "/proc/1/root"+path)
	}
	if docker := h.paths["docker"]; strings.HasPrefix(docker, "/run/") {
		add("docker-var-run", "/var"+docker)
	}
	add("abstract", h.abstract)
	for name, path := range extra {
		add(name, path)
	}
	return out
}

// netTargets are the host's listeners for the network attempts.
type netTargets struct {
	n      *localNet
	v6Port int
	v6Hits atomic.Int32
	label  string // exfiltration label, unique per runner
}

// networkAttempts try the host's loopback, direct IP over TCP, UDP and
// ICMP, IPv6, and DNS exfiltration.
func (nt *netTargets) networkAttempts(mode string) []escAttempt {
	n := nt.n
	banners, raw, udp, v6 := n.banners.Load(), n.rawHits.Load(), n.udpHits.Load(), nt.v6Hits.Load()
	label := nt.label + "-" + mode
	unreached := func() string {
		var out []string
		if d := n.banners.Load() - banners; d != 0 {
			out = append(out, fmt.Sprintf("%d connections reached the host loopback", d))
		}
		if d := n.rawHits.Load() - raw; d != 0 {
			out = append(out, fmt.Sprintf("%d direct-IP connections reached the host", d))
		}
		if d := n.udpHits.Load() - udp; d != 0 {
			out = append(out, fmt.Sprintf("%d UDP datagrams reached the host", d))
		}
		if d := nt.v6Hits.Load() - v6; d != 0 {
			out = append(out, fmt.Sprintf("%d IPv6 connections reached the host", d))
		}
		for _, q := range n.seen(&n.queries) {
			if strings.Contains(q, label) {
				out = append(out, "the DNS server upstream saw "+q)
			}
		}
		for _, h := range append(n.seen(&n.hosts), n.seen(&n.snis)...) {
			if strings.Contains(h, label) {
				out = append(out, "the web server served "+h)
			}
		}
		return strings.Join(out, "; ")
	}
	at := func(name string, args ...string) escAttempt {
		return escAttempt{Name: name, Args: args, changed: unreached}
	}
	dnsPort := n.dnsAddr[strings.LastIndexByte(n.dnsAddr, ':')+1:]
	list := []escAttempt{
		at("tcp-host-loopback", "tcp", fmt.Sprintf("127.0.0.1:%d", n.bannerTCP)),
		at("tcp-direct-ip", "tcp", fmt.Sprintf("%s:%d", n.hostIP, n.rawPort)),
		at("udp-loopback", "udp", fmt.Sprintf("127.0.0.1:%d", n.udpPort)),
		at("udp-direct-ip", "udp", fmt.Sprintf("%s:%d", n.hostIP, n.udpPort)),
		at("icmp-direct-ip", "ping", n.hostIP),
		at("ipv6-loopback", "tcp", fmt.Sprintf("[::1]:%d", nt.v6Port)),
		at("dns-txt-exfil", "dns", "127.0.0.1:"+dnsPort, label+".exfil.test", "TXT"),
		at("dns-null-exfil", "dns", n.hostIP+":53", label+"-null.exfil.test", "NULL"),
		at("dns-txt-port53", "dns", "127.0.0.1:53", label+"-53.x.test", "TXT"),
		// Domain fronting through the allowed name x.test (allowed in
		// proxy mode): a second request, and a ClientHello, for another.
		at("http-keepalive-front", "http-front", fmt.Sprintf("x.test:%d", n.httpPort), "x.test", label+"-front.test", "GET"),
		at("http-lowercase-front", "http-front", fmt.Sprintf("x.test:%d", n.httpPort), "x.test", label+"-lc.test", "get"),
		at("tls-sni-front", "tls-sni", fmt.Sprintf("x.test:%d", n.tlsPort), label+"-sni.test"),
	}
	if ip6 := hostIPv6(); ip6 != "" {
		list = append(list, at("ipv6-direct-ip", "tcp", fmt.Sprintf("[%s]:%d", ip6, nt.v6Port)))
	}
	return list
}

// hostIPv6 is a global IPv6 address of this host, or "".
func hostIPv6() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() == nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	return ""
}

func (nt *netTargets) listenV6(t *testing.T) {
	t.Helper()
	nt.v6Port = testutil.ServeBanner(t, "tcp6", "[::]:0", "V6-BANNER\n", &nt.v6Hits).(*net.TCPAddr).Port
}

// proxyWorks reports whether proxy mode starts; in CI it must.
func proxyWorks(t *testing.T, r *runner) bool {
	t.Helper()
	res := r.pent("run", "--network", "proxy", "--allow", "x.test", "--", "true")
	if res.code == 0 {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Errorf("proxy mode does not start, so its escape attempts cannot run:\n%s", res)
	} else {
		t.Logf("proxy mode does not start here; its escape attempts are left out (in CI this fails):\n%s", res)
	}
	return false
}

// proxySockets are the UNIX sockets pent's proxies created for this
// runner ($XDG_RUNTIME_DIR/pent/*/proxy.sock: the project's control and
// data sockets), found on the host.
func proxySockets(t *testing.T, r *runner) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.Walk(filepath.Join(r.runtime, "pent"), func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSocket != 0 {
			out[fmt.Sprintf("proxy-socket-%d", len(out))] = path
		}
		return nil
	})
	t.Logf("%s: proxy sockets on the host: %v", r.mode, out)
	return out
}

// reportSummary appends line to the file named by PENT_E2E_SUMMARY, when
// set: `go test` hides a passing test's output, and CI prints this file so
// that the escape tally is in its log.
func reportSummary(t *testing.T, line string) {
	path := os.Getenv("PENT_E2E_SUMMARY")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Errorf("writing the summary: %v", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		t.Errorf("writing the summary: %v", err)
	}
}

// TestEscape is the escape suite: every attempt, as root and rootless, in
// each network mode it applies to. It prints the tally at the end.
func TestEscape(t *testing.T) {
	tally := &escapeTally{}
	t.Cleanup(func() {
		tally.mu.Lock()
		defer tally.mu.Unlock()
		line := fmt.Sprintf("escape: %d attempted, %d succeeded (root %d, rootless %d)",
			tally.attempted, len(tally.succeeded), tally.byMode["root"], tally.byMode["rootless"])
		t.Log(line)
		fmt.Println(line)
		reportSummary(t, line)
		for _, s := range tally.succeeded {
			t.Log("  succeeded: " + s)
		}
		// A -run pattern naming subtests of TestEscape runs part of it.
		if part := flag.Lookup("test.run"); (part == nil || !strings.Contains(part.Value.String(), "/")) && tally.attempted < minAttempts {
			t.Errorf("only %d escape attempts ran, want at least %d", tally.attempted, minAttempts)
		}
	})
	bothModes(t, func(t *testing.T, r *runner) {
		e := newEscaper(t, r, tally)
		n := startLocalNet(t, r)
		nt := &netTargets{n: n, label: fmt.Sprintf("exf%d%s", os.Getpid(), r.mode)}
		nt.listenV6(t)
		socks := e.startHostSockets()
		sshEnv := []string{"--env", "SSH_AUTH_SOCK=" + socks.sshAuth}

		sleeper := r.command(t.Context(), r.project, "sleep", "300")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })

		e.run("fs", []string{"--network", "blocked"}, e.filesystemAttempts())
		e.run("git", []string{"--network", "blocked"}, e.gitAttempts())
		e.run("setid", []string{"--network", "blocked"}, e.setIDAttempts())
		for _, mode := range []string{"blocked", "unrestricted"} {
			e.run("proc-"+mode, append([]string{"--network", mode}, sshEnv...),
				append(e.processAttempts(sleeper.Process.Pid), socks.socketAttempts(nil)...))
		}
		for _, mode := range []string{"blocked", "localhost"} {
			e.run("net-"+mode, append([]string{"--network", mode}, sshEnv...),
				append(nt.networkAttempts(mode), socks.socketAttempts(nil)...))
		}
		if proxyWorks(t, r) {
			// A trusted proxy-mode project, so that its proxy keeps running
			// and its sockets exist on the host.
			writeProject(r, "x.test")
			r.stopDaemonAtEnd()
			flags := append([]string{"--network", "proxy"}, sshEnv...)
			e.run("net-proxy", flags, append(nt.networkAttempts("proxy"), socks.socketAttempts(proxySockets(t, r))...))
			// The project proxy's sockets, from sandboxes of every mode.
			for _, mode := range []string{"blocked", "unrestricted", "proxy"} {
				e.run("proxy-sockets-"+mode, []string{"--network", mode}, socks.socketAttempts(proxySockets(t, r)))
			}
		}
		e.run("host-exec-cargo", []string{"--network", "blocked", "--profile", "@cargo"}, e.hostExecAttempts(".cargo", "env", "bin", "config.toml"))
		e.run("host-exec-claude", []string{"--network", "blocked", "--profile", "@claude"}, e.hostExecAttempts(".claude", "settings.json", "hooks", "CLAUDE.md"))
		e.ldPreload()
		e.tiocsti()
		e.suidDumpable()
	})
	// The host-integrity attacks that need a fixture of their own, each
	// counted once per mode: one whose checks fail got out.
	t.Run("host-integrity", func(t *testing.T) {
		for _, a := range hostIntegrityAttempts {
			t.Run(a.name, func(t *testing.T) {
				bothModes(t, func(t *testing.T, r *runner) {
					defer func() {
						tally.record(r.mode+"/host-integrity/"+a.name, !t.Failed(), "its checks failed (see its log)")
					}()
					a.fn(t, r)
				})
			})
		}
	})
}

// hostIntegrityAttempts are the attacks on host integrity (SPEC §13) that
// TestEscape runs on a fresh fixture each, in both modes; run one alone
// with -run 'TestEscape/host-integrity/NAME'.
var hostIntegrityAttempts = []struct {
	name string
	fn   func(*testing.T, *runner)
}{
	{"git-odd-entries", attemptGitOddEntries},
	{"quarantine-fails-closed", attemptQuarantineFailsClosed},
	{"every-write-grant", attemptEveryWriteGrant},
	{"nested-git", attemptNestedGit},
	{"existing-nested-git", attemptExistingNestedGit},
	{"missing-host-executed", attemptMissingHostExecuted},
	{"missing-grant-host-executed", attemptMissingGrantHostExecuted},
	{"state-dir-forgery", attemptStateDirForgery},
	{"xdg-state-forgery", attemptXDGStateForgery},
	{"walk-errors", attemptWalkErrors},
	{"rebase-state", attemptRebaseState},
	{"guard-recovery", attemptRecovery},
	{"bare-repo-in-grant", attemptBareRepoInGrant},
	{"bare-repo-in-project", attemptBareRepoInProject},
	{"bare-repo-as-grant", attemptBareRepoAsGrant},
	{"separate-git-dir", attemptSeparateGitDir},
	{"gitdir-in-other-root", attemptGitdirInOtherRoot},
	{"git-dir-made-inside", attemptGitDirMadeInside},
	{"git-dir-exec-files", attemptGitDirExecFiles},
	{"kept-mark-name", attemptKeptMarkName},
	{"nested-existing-protected", attemptNestedExistingProtected},
	{"repo-in-git-objects", attemptRepoInGitObjects},
	{"rebase-strategy-path", attemptRebaseStrategyPath},
	{"bare-repo-made-in-grant", attemptBareRepoMadeInGrant},
	{"read-only-parent", attemptReadOnlyParent},
}

// suidDumpable attacks init's threads with fs.suid_dumpable=1, under which
// a thread that changes its ids becomes dumpable (ptraceable by its uid)
// again unless the stage says otherwise; in a root run it also looks for a
// thread of init left with the command's ids. The sysctl is restored
// afterwards, whatever happens.
func (e *escaper) suidDumpable() {
	t := e.t
	const sysctl = "/proc/sys/fs/suid_dumpable"
	old, err := os.ReadFile(sysctl)
	if err != nil {
		unavailable(t, "reading %s: %v", sysctl, err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(sysctl, old, 0); err != nil {
			t.Errorf("restoring %s to %q: %v", sysctl, strings.TrimSpace(string(old)), err)
		}
	})
	if err := os.WriteFile(sysctl, []byte("1\n"), 0); err != nil {
		unavailable(t, "setting %s (needs root): %v", sysctl, err)
	}
	attempts := []escAttempt{helperArgs("ptrace-init-threads", "ptrace-init-threads")}
	if e.r.mode == "root" { // rootless, init's threads all have the user's ids
		attempts = append(attempts, helperArgs("init-thread-own-uid", "init-thread-own-uid"))
	}
	e.run("suid-dumpable", []string{"--network", "blocked"}, attempts)
	if err := os.WriteFile(sysctl, old, 0); err != nil {
		t.Errorf("restoring %s to %q: %v", sysctl, strings.TrimSpace(string(old)), err)
	}
}

// hostExecAttempts go after what the host runs inside a directory a profile
// grants read_write (SPEC §13): dir (relative to HOME) holds the existing
// files file and config and the existing directory bin, all of which the
// host executes or trusts. Each is planted on the host first.
func (e *escaper) hostExecAttempts(dir, file, bin, config string) []escAttempt {
	t, r := e.t, e.r
	d := filepath.Join(r.home, dir)
	f, b, c := filepath.Join(d, file), filepath.Join(d, bin), filepath.Join(d, config)
	r.writeFile(f, "# host-executed fixture\n", 0o644)
	r.writeFile(c, "# host-trusted fixture\n", 0o644)
	r.writeFile(filepath.Join(b, "tool"), "#!/bin/sh\necho fixture tool\n", 0o755)
	tool := filepath.Join(b, "tool")
	kept := both(unchanged(t, f), unchanged(t, c), unchanged(t, tool))
	planted := filepath.Join(b, "planted")
	return []escAttempt{
		{Name: "write-" + file, Args: []string{"write", f}, changed: kept},
		{Name: "truncate-" + file, Args: []string{"truncate", f}, changed: kept},
		{Name: "rename-over-" + file, Args: []string{"rename-over", f}, changed: kept},
		{Name: "unlink-" + file, Args: []string{"unlink", f}, changed: kept},
		{Name: "write-" + config, Args: []string{"write", c}, changed: kept},
		{Name: "rename-over-" + config, Args: []string{"rename-over", c}, changed: kept},
		{Name: "create-in-" + bin, Args: []string{"write", planted}, changed: absent(planted)},
		{Name: "replace-in-" + bin, Args: []string{"rename-over", tool}, changed: kept},
		{Name: "rename-" + bin + "-away", Sh: fmt.Sprintf(`mv %[1]s %[1]s.away 2>&1 && mkdir %[1]s && echo x > %[1]s/tool && echo SUCCESS || echo BLOCKED`, b),
			changed: both(kept, absent(b+".away"))},
	}
}

// TestProfile_HostExecutedStayReadOnly: inside `pent run --profile @cargo`
// the cargo registry is writable but ~/.cargo/env and ~/.cargo/bin are not,
// and the host's login shell, which sources ~/.cargo/env, runs nothing the
// sandbox planted.
func TestProfile_HostExecutedStayReadOnly(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		cargo := filepath.Join(r.home, ".cargo")
		envFile := filepath.Join(cargo, "env")
		ran := filepath.Join(r.home, "planted-ran")
		r.writeFile(filepath.Join(r.home, ".profile"), `. "$HOME/.cargo/env"`+"\n", 0o644)
		r.writeFile(envFile, `export PATH="$HOME/.cargo/bin:$PATH"`+"\n", 0o644)
		r.writeFile(filepath.Join(cargo, "bin", "cargo"), "#!/bin/sh\n", 0o755)
		r.mkdir(filepath.Join(cargo, "registry"), 0o755)
		if res := r.host("bash", "-l", "-c", "true"); res.code != 0 {
			t.Fatalf("control: the host's login shell fails before the run:\n%s", res)
		}
		res := r.sandboxSh(fmt.Sprintf(`
			echo "touch %[1]s" >> ~/.cargo/env && echo PLANTED-ENV
			printf '#!/bin/sh\ntouch %[1]s\n' > ~/.cargo/bin/x && echo PLANTED-BIN
			echo crate > ~/.cargo/registry/crate && echo REGISTRY-OK
			true`, ran), "--network", "blocked", "--profile", "@cargo")
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, "REGISTRY-OK") {
			t.Errorf("the cargo registry is not writable under @cargo:\n%s", res)
		}
		for _, planted := range []string{"PLANTED-ENV", "PLANTED-BIN"} {
			if strings.Contains(res.stdout, planted) {
				t.Errorf("%s: the sandbox wrote what the host executes:\n%s", planted, res)
			}
		}
		r.assertFile(filepath.Join(cargo, "registry", "crate"), "crate\n")
		r.assertAbsent(filepath.Join(cargo, "bin", "x"))
		r.assertFile(envFile, `export PATH="$HOME/.cargo/bin:$PATH"`+"\n")
		if res := r.host("bash", "-l", "-c", "true"); res.code != 0 {
			t.Errorf("the host's login shell fails after the run:\n%s", res)
		}
		if _, err := os.Lstat(ran); err == nil {
			t.Errorf("the host's login shell ran code planted in the sandbox")
		}
	})
}

// ldPreload plants a library in ~/.cache on the host (an earlier sandboxed
// run could not have written it there) and has a sandboxed process preload
// it: the loader must not find it.
func (e *escaper) ldPreload() {
	lib := filepath.Join(e.r.home, ".cache", "libpent-evil.so")
	e.r.writeFile(lib, "not really a library\n", 0o755)
	// ld.so reports every failure to open as "cannot open shared object
	// file"; the -e test tells "absent" from "present but refused".
	script := `if [ -e ` + lib + ` ]; then echo "SUCCESS the planted library is visible"; exit; fi
out=$(LD_PRELOAD=` + lib + ` /bin/true 2>&1)
case "$out" in
  *"cannot open shared object file"*) echo "BLOCKED $out" ;;
  *) echo "SUCCESS $out" ;;
esac`
	e.run("ldpreload", nil, []escAttempt{{Name: "ld-preload-planted", Sh: script}})
}

// tiocsti runs a shell on a real terminal that starts the sandbox, whose
// command pushes a line into the terminal's input; the shell then reads a
// line. The injection must not arrive. A control without pent shows the
// same shell would read it.
func (e *escaper) tiocsti() {
	t := e.t
	injected := fmt.Sprintf("PENT-INJECTED-%d", time.Now().UnixNano())
	legacy, _ := os.ReadFile("/proc/sys/dev/tty/legacy_tiocsti")
	outerScript := func(inner string) string {
		return inner + `; IFS= read -r -t 3 line; echo "OUTSIDE-READ:[$line]"`
	}
	readLine := func(script string) string {
		out := e.runInTerminal("bash", "--norc", "--noprofile", "-c", script)
		for _, l := range strings.Split(out, "\n") {
			if i := strings.Index(l, "OUTSIDE-READ:["); i >= 0 {
				return strings.TrimRight(l[i:], "\r")
			}
		}
		t.Fatalf("the outer shell did not finish; terminal:\n%s", out)
		return ""
	}
	if strings.TrimSpace(string(legacy)) == "1" {
		control := readLine(outerScript(fmt.Sprintf("%q tiocsti %s", e.helper, injected)))
		if !strings.Contains(control, injected) {
			t.Fatalf("control: TIOCSTI without pent did not reach the outer shell (%s); the test measures nothing", control)
		}
	}
	for _, enc := range []string{"plain", "high"} {
		name := e.r.mode + "/tty/tiocsti-" + enc
		got := readLine(outerScript(fmt.Sprintf("%q run -- %q tiocsti %s %s", pentBin, e.helper, injected, enc)))
		if strings.Contains(got, injected) {
			e.fail(name, "the injected text reached the shell outside: "+got)
		} else {
			e.tally.record(name, true, "")
		}
	}
}

// runInTerminal runs argv as the runner's account as the session leader of
// a fresh pty (its controlling terminal) and returns what the terminal
// showed once it ended.
func (e *escaper) runInTerminal(argv ...string) string {
	t, r := e.t, e.r
	p := r.startOnPty(r.command(t.Context(), r.project, argv[0], argv[1:]...), nil)
	p.wait(runTimeout)
	p.stop()
	<-p.done
	t.Logf("%s terminal of %q:\n%s", r.mode, argv, p.output())
	return p.output()
}

// TestTerminalProgramsUnderSeccomp: the seccomp filter leaves terminals
// usable — a pager, an editor and job control in an interactive bash.
func TestTerminalProgramsUnderSeccomp(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		p := r.startInPty("run", "--env", "TERM=xterm", "--", "sh", "-c", "less /etc/passwd; echo LESS-DONE")
		p.expect("root:", 20*time.Second)
		p.write("q")
		p.expect("LESS-DONE", 10*time.Second)
		if ws := p.wait(10 * time.Second); ws.ExitStatus() != 0 {
			t.Errorf("less under pent: exit %v", ws)
		}

		if vim := cleanLookPath("vim"); strings.HasPrefix(vim, "/") {
			p := r.startInPty("run", "--env", "TERM=xterm", "--", "sh", "-c", "vim -u NONE -N; echo VIM-DONE")
			p.expect("\x1b[", 20*time.Second) // vim drew its screen
			time.Sleep(300 * time.Millisecond)
			p.write("\x1b:q!\r")
			p.expect("VIM-DONE", 10*time.Second)
			if ws := p.wait(10 * time.Second); ws.ExitStatus() != 0 {
				t.Errorf("vim under pent: exit %v", ws)
			}
		} else if os.Getenv("CI") == "true" {
			t.Error("vim is not installed (CI installs vim-tiny)")
		}

		p = r.startInPty("run", "--env", "TERM=xterm", "--", "bash", "--norc", "--noprofile", "-i")
		p.write("PS1='$ '; echo READY-$((40+2))\r")
		p.expect("READY-42", 20*time.Second)
		p.write("sleep 30 &\r")
		p.expect("[1]", 10*time.Second)
		p.write("fg\r")
		p.expect("sleep 30", 10*time.Second)
		time.Sleep(300 * time.Millisecond)
		p.write("\x1a") // Ctrl-Z
		p.expect("Stopped", 10*time.Second)
		p.write("bg; echo BG-$((1+1))\r")
		p.expect("BG-2", 10*time.Second)
		p.write("kill %1; wait; echo KILLED-$((2+2))\r")
		p.expect("KILLED-4", 10*time.Second)
		p.write("exit 0\r")
		if ws := p.wait(10 * time.Second); ws.ExitStatus() != 0 {
			t.Errorf("bash -i under pent: exit %v; terminal:\n%s", ws, p.output())
		}
	})
}

// TestRun_SIGKILLLeavesNothing: SIGKILL of pent mid-run leaves no process of
// the run, no new mount on the host, and the next run works.
func TestRun_SIGKILLLeavesNothing(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		before := mountCounts(t, mountPoint)
		arg := strconv.Itoa(200000 + os.Getpid()%100000 + len(r.mode))
		for _, mode := range []string{"blocked", "localhost", "unrestricted"} {
			cmd, out := r.startPent("READY", "run", "--network", mode, "--", "sh", "-c",
				"sleep "+arg+" & echo READY; exec sleep "+arg)
			if !waitFor(10*time.Second, func() bool { return len(findProcesses(t, "sleep\x00"+arg+"\x00")) == 2 }) {
				t.Fatalf("%s: the sandboxed sleeps never showed up on the host; output:\n%s", mode, out)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if !waitFor(10*time.Second, func() bool { return len(findProcesses(t, "sleep\x00"+arg+"\x00")) == 0 }) {
				pids := findProcesses(t, "sleep\x00"+arg+"\x00")
				t.Errorf("%s: processes of the run outlived pent's SIGKILL: %v", mode, pids)
				for _, pid := range pids {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		for _, m := range addedMounts(before, mountCounts(t, mountPoint)) {
			if strings.HasPrefix(m, r.base) || strings.HasPrefix(m, "/tmp") || strings.HasPrefix(m, "/run") ||
				strings.HasPrefix(m, "/proc") || strings.HasPrefix(m, "/dev") || strings.HasPrefix(m, "/home") {
				t.Errorf("a mount leaked onto the host after SIGKILL: %s", m)
			}
		}
		res := r.sandboxSh("echo NEXT-RUN-OK")
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, "NEXT-RUN-OK") {
			t.Errorf("the run after the SIGKILL did not work:\n%s", res)
		}
	})
}

// mountPoint keys a mountinfo line by its mount point.
func mountPoint(fields []string) string { return fields[4] }

// plantedFsmonitor is the attack of issue 14: a second git directory in the
// project whose config names a core.fsmonitor command, which the host's own
// git runs once .git points at it.
func plantedFsmonitor(marker string) string {
	return `mkdir -p evil-git/objects evil-git/refs && printf 'ref: refs/heads/main\n' > evil-git/HEAD && ` +
		`printf '[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "touch ` + marker + `; false"\n' > evil-git/config`
}

// stays is the inside half of an attempt whose defence is on the host: it
// runs plant, waits a moment and reports SUCCESS when path is still there.
func stays(plant, path string) string {
	return plant + ` 2>/dev/null; sleep 0.3; if [ -e '` + path + `' ] || [ -L '` + path + `' ]; then echo SUCCESS; else echo BLOCKED; fi`
}

// gitAttempts plant git configuration, indirection and the protected names
// of SPEC §13 that do not exist yet; the host's own git status then must
// not run the planted command. The project becomes a real repository first.
func (e *escaper) gitAttempts() []escAttempt {
	t, r := e.t, e.r
	if res := r.host("git", "init", "-q"); res.code != 0 {
		t.Fatalf("git init on the host:\n%s", res)
	}
	marker := filepath.Join(r.base, "fsmonitor-ran")
	hostGit := func() string {
		res := r.host("git", "status", "--short")
		if _, err := os.Lstat(marker); err == nil {
			os.Remove(marker)
			return "the host's git status ran the planted core.fsmonitor command"
		}
		if res.code != 0 {
			return "the host's git status fails: " + res.stderr
		}
		return ""
	}
	attempt := func(name, rel, plant string) escAttempt {
		path := filepath.Join(r.project, rel)
		return escAttempt{Name: name, Sh: stays(plant, path), changed: both(hostGit, absent(path))}
	}
	fsmon := plantedFsmonitor(marker)
	return []escAttempt{
		attempt("git-commondir", ".git/commondir", fsmon+` && echo ../evil-git > .git/commondir`),
		attempt("git-commondir-rename", ".git/commondir", fsmon+` && echo ../evil-git > .git/refs/x && mv .git/refs/x .git/commondir`),
		attempt("git-config-worktree", ".git/config.worktree", `printf '[core]\n\tfsmonitor = "touch `+marker+`; false"\n' > .git/config.worktree`),
		attempt("git-alternates", ".git/objects/info/alternates", `echo /tmp > .git/objects/info/alternates`),
		attempt("git-http-alternates", ".git/objects/info/http-alternates", `echo http://x.test/ > .git/objects/info/http-alternates`),
		attempt("git-modules", ".git/modules", `mkdir -p .git/modules/m/hooks && printf '#!/bin/sh\ntouch `+marker+`\n' > .git/modules/m/hooks/post-checkout`),
		attempt("git-worktrees", ".git/worktrees", `mkdir -p .git/worktrees/w && echo ../../../evil-git > .git/worktrees/w/commondir`),
		attempt("git-unknown-entry", ".git/fsmonitor-daemon", `mkdir .git/fsmonitor-daemon`),
		attempt("git-symlink-config", ".git/config.worktree", `ln -s ../evil-git/config .git/config.worktree`),
		attempt("new-envrc", ".envrc", `echo 'touch `+marker+`' > .envrc`),
		attempt("new-claude-settings", ".claude", `mkdir -p .claude && echo '{"hooks":{}}' > .claude/settings.json`),
		attempt("new-mcp-json", ".mcp.json", `echo '{}' > .mcp.json`),
		attempt("new-gitmodules", ".gitmodules", `printf '[submodule "x"]\n\tpath = x\n\turl = ../evil-git\n' > .gitmodules`),
		attempt("new-vscode", ".vscode", `mkdir -p .vscode && echo '{}' > .vscode/tasks.json`),
		attempt("new-symlink-cursor", ".cursor", `ln -s evil-git .cursor`),
		attempt("new-codex", ".codex", `mkdir .codex`),
		attempt("new-gemini", ".gemini", `mkdir .gemini`),
		attempt("new-idea", ".idea", `mkdir .idea`),
		attempt("new-pent-dir", ".pent", `mkdir .pent && echo 'network = "unrestricted"' > .pent/pent.toml`),
	}
}
