//go:build linux

// Package e2e runs the built pent binary the way a user would — as root and
// as an unprivileged user with a temporary HOME — and checks what a sandboxed
// command can and cannot do from the outside: exit statuses, files left on the
// host, connections a host-side listener saw.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/pent-sandbox/pent/internal/testutil"
)

// rootlessUser is the account the rootless subtests run as when the test
// process is root.
const rootlessUser = "pent-e2e"

// runTimeout bounds every single pent invocation.
const runTimeout = 60 * time.Second

// buildTimeout bounds a run of install.sh, which builds pent: on a machine
// shared with other builds, a cold build takes longer than runTimeout.
const buildTimeout = 5 * time.Minute

var (
	// pentBin is the absolute path of the pent binary under test.
	pentBin string
	// scratch is a 0755 directory every test user can traverse; each test
	// gets its own fixture tree below it.
	scratch string
)

// TestMain builds pent once for the whole package and removes the scratch
// tree afterwards.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// testMain is TestMain with deferred cleanup (os.Exit skips defers).
func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp(scratchBase(), "pent-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: scratch directory: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	scratch = dir
	// PENT_E2E_BIN runs the suite against an already built binary (one every
	// test user can execute) instead of building ./cmd/pent.
	if pentBin = os.Getenv("PENT_E2E_BIN"); pentBin == "" {
		if pentBin, err = buildPent(filepath.Join(dir, "bin")); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			return 1
		}
	}
	return m.Run()
}

// scratchBase is where fixture trees live: PENT_E2E_TMPDIR, else /home as
// root (where real home directories are), else the user's cache directory.
// Not /tmp or /var/tmp: pent gives the sandbox private copies of those, so a
// HOME below them would be hidden by that alone and the tests would not
// prove that pent hides $HOME itself.
func scratchBase() string {
	if d := os.Getenv("PENT_E2E_TMPDIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		if fi, err := os.Stat("/home"); err == nil && fi.IsDir() {
			return "/home"
		}
	}
	if d, err := os.UserCacheDir(); err == nil && os.MkdirAll(d, 0o755) == nil {
		return d
	}
	return os.TempDir()
}

// privateScratch are the directories pent replaces with private, empty ones.
var privateScratch = []string{"/tmp", "/var/tmp", "/dev/shm"}

// inPrivateScratch reports whether path lies in a directory the sandbox sees
// a private copy of.
func inPrivateScratch(path string) bool {
	for _, d := range privateScratch {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// buildPent builds ./cmd/pent with CGO_ENABLED=0 into dir (mode 0755).
func buildPent(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "pent")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pent")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building pent: %w\n%s", err, out)
	}
	return bin, os.Chmod(bin, 0o755)
}

// account is a user the binary runs as.
type account struct {
	name     string
	uid, gid int
}

var (
	rootlessOnce sync.Once
	rootlessAcct *account
	rootlessWhy  string
)

// rootlessAccount returns the unprivileged account for rootless runs: the
// test process's own user when it is not root; otherwise pent-e2e (created
// with useradd if absent), falling back to nobody.
func rootlessAccount() (*account, string) {
	rootlessOnce.Do(func() {
		if os.Geteuid() != 0 {
			u, err := user.Current()
			name := "self"
			if err == nil {
				name = u.Username
			}
			rootlessAcct = &account{name: name, uid: os.Geteuid(), gid: os.Getegid()}
			return
		}
		if _, err := user.Lookup(rootlessUser); err != nil {
			_ = exec.Command("useradd", "-M", "-s", "/bin/sh", rootlessUser).Run()
		}
		for _, name := range []string{rootlessUser, "nobody"} {
			if a, err := lookupAccount(name); err == nil {
				rootlessAcct = a
				return
			}
		}
		rootlessWhy = "no unprivileged account: useradd " + rootlessUser + " failed and there is no nobody user"
	})
	return rootlessAcct, rootlessWhy
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, err
	}
	if uid == 0 {
		return nil, fmt.Errorf("%s is root", name)
	}
	return &account{name: name, uid: uid, gid: gid}, nil
}

// unavailable ends a test that cannot run on this machine: a skip with the
// reason outside CI, a failure in CI (CI=true), where .ci/run installs
// everything the suite needs and a skip would hide a missing check.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must be able to run this test: "+format, args...)
	}
	t.Skipf(format, args...)
}

// bothModes runs fn as subtest "root" (pent started by root) and "rootless"
// (pent started by an unprivileged user), each with a fresh fixture tree,
// in parallel: each mode has its own HOME, project, runtime directory and
// project proxy, and nothing else is shared. The subtests start once the
// calling test function has returned, so it must do nothing after this call
// but register cleanups.
func bothModes(t *testing.T, fn func(t *testing.T, r *runner)) {
	t.Helper()
	modes(t, true, fn)
}

// bothModesInTurn is bothModes with the root subtest run to its end before
// the rootless one starts, for tests whose two modes share a host resource.
func bothModesInTurn(t *testing.T, fn func(t *testing.T, r *runner)) {
	t.Helper()
	modes(t, false, fn)
}

// modes runs fn as root and rootless, in parallel when parallel is set.
func modes(t *testing.T, parallel bool, fn func(t *testing.T, r *runner)) {
	t.Helper()
	t.Run("root", func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		if os.Geteuid() != 0 {
			unavailable(t, "root mode needs the test process to run as root (CI does)")
		}
		fn(t, newRunner(t, "root", &account{name: "root"}))
	})
	t.Run("rootless", func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		a, why := rootlessAccount()
		if a == nil {
			unavailable(t, "%s", why)
		}
		fn(t, newRunner(t, "rootless", a))
	})
}

// runner runs pent as one account with a private fixture tree:
//
//	base/            0755, owned by the test process
//	  run/           XDG_RUNTIME_DIR, 0700
//	  home/          HOME, 0700, with ~/.ssh/id_ed25519 and ~/.aws/credentials
//	    .config .local/share .local/state   the XDG dirs
//	    src/app/     the project: .pent.toml, .git/hooks/pre-commit, .git/config
type runner struct {
	t       *testing.T
	mode    string
	acct    *account
	base    string
	home    string
	runtime string
	project string
	// marker is the secret text planted in the fixture secrets.
	marker string
	// extraEnv is added to the clean environment of every process started.
	extraEnv []string
}

// Fixture contents that tests compare against afterwards.
const (
	projectConfig = "# e2e fixture project\n[sandbox]\nnetwork = \"blocked\"\n"
	preCommitHook = "#!/bin/sh\necho fixture hook\nexit 0\n"
	gitConfig     = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
)

func newRunner(t *testing.T, mode string, a *account) *runner {
	t.Helper()
	base, err := os.MkdirTemp(scratch, "t-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(base); err != nil {
			t.Errorf("removing the fixture tree after the test (something pent left behind?): %v", err)
		}
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &runner{
		t:       t,
		mode:    mode,
		acct:    a,
		base:    base,
		home:    filepath.Join(base, "home"),
		runtime: filepath.Join(base, "run"),
		marker:  fmt.Sprintf("PENT-E2E-SECRET-%d-%d", os.Getpid(), time.Now().UnixNano()),
	}
	r.project = filepath.Join(r.home, "src", "app")
	for _, d := range []string{r.home, r.runtime} {
		r.mkdir(d, 0o700)
	}
	r.mkdir(filepath.Join(r.home, ".ssh"), 0o700)
	r.writeFile(filepath.Join(r.home, ".ssh", "id_ed25519"),
		"-----BEGIN OPENSSH PRIVATE KEY-----\n"+r.marker+"\n-----END OPENSSH PRIVATE KEY-----\n", 0o600)
	r.writeFile(filepath.Join(r.home, ".aws", "credentials"),
		"[default]\naws_secret_access_key = "+r.marker+"\n", 0o600)
	for _, d := range []string{".config/pent", ".local/share", ".local/state"} {
		r.mkdir(filepath.Join(r.home, d), 0o755)
	}
	r.writeFile(filepath.Join(r.project, ".pent.toml"), projectConfig, 0o644)
	r.writeFile(filepath.Join(r.project, ".git", "hooks", "pre-commit"), preCommitHook, 0o755)
	r.writeFile(filepath.Join(r.project, ".git", "config"), gitConfig, 0o644)
	r.writeFile(filepath.Join(r.project, "README"), "fixture\n", 0o644)
	return r
}

// mkdir creates dir and its missing parents below base with mode, owned by
// the runner's account; existing directories are left as they are.
// quietFish keeps an interactive fish of this runner from starting its
// background fish_update_completions, which would go on writing into HOME
// after the test ends: fish starts it only when this directory is missing.
func (r *runner) quietFish() {
	r.t.Helper()
	r.mkdir(filepath.Join(r.home, ".local", "share", "fish", "generated_completions"), 0o755)
}

func (r *runner) mkdir(dir string, mode os.FileMode) {
	r.t.Helper()
	rel, err := filepath.Rel(r.base, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		r.t.Fatalf("mkdir %s: not below the fixture tree", dir)
	}
	cur := r.base
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		err := os.Mkdir(cur, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			r.t.Fatal(err)
		}
		if err := os.Chmod(cur, mode); err != nil { // defeat the umask
			r.t.Fatal(err)
		}
		r.chown(cur)
	}
}

// writeFile writes a fixture file owned by the runner's account.
func (r *runner) writeFile(path, content string, mode os.FileMode) {
	r.t.Helper()
	r.mkdir(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		r.t.Fatal(err)
	}
	r.chown(path)
}

func (r *runner) chown(path string) {
	r.t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if err := os.Lchown(path, r.acct.uid, r.acct.gid); err != nil {
		r.t.Fatal(err)
	}
}

// globalConfig is the path of the global config file.
func (r *runner) globalConfig() string {
	return filepath.Join(r.home, ".config", "pent", "pent.toml")
}

// cleanPath is the PATH of every process the tests start.
const cleanPath = "/usr/local/bin:/usr/bin:/bin"

// cleanLookPath resolves a bare command name in cleanPath, not in the test
// process's own PATH (which may hold per-user shims other users cannot run).
func cleanLookPath(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range filepath.SplitList(cleanPath) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// env is the complete, clean environment pent starts with.
func (r *runner) env() []string {
	name := r.acct.name
	return append([]string{
		"PATH=" + cleanPath,
		"HOME=" + r.home,
		"USER=" + name,
		"LOGNAME=" + name,
		"TERM=dumb",
		"XDG_RUNTIME_DIR=" + r.runtime,
		"XDG_CONFIG_HOME=" + filepath.Join(r.home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(r.home, ".local", "share"),
		"XDG_STATE_HOME=" + filepath.Join(r.home, ".local", "state"),
	}, r.extraEnv...)
}

// sysProcAttr switches to the runner's account when the test process is
// root and the account is not.
func (r *runner) sysProcAttr() *syscall.SysProcAttr {
	if os.Geteuid() != 0 || r.acct.uid == 0 {
		return &syscall.SysProcAttr{}
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: uint32(r.acct.uid), Gid: uint32(r.acct.gid), Groups: []uint32{},
	}}
}

// command prepares name args as the runner's account in dir.
func (r *runner) command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cleanLookPath(name), args...)
	cmd.Dir = dir
	cmd.Env = r.env()
	cmd.SysProcAttr = r.sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// result is how one process ended.
type result struct {
	args   []string
	stdout string
	stderr string
	// code is the exit status, -1 when killed by a signal.
	code int
	// signal is the signal that killed the process, 0 if it exited.
	signal syscall.Signal
}

func (res result) String() string {
	how := fmt.Sprintf("exit %d", res.code)
	if res.signal != 0 {
		how = "killed by " + res.signal.String()
	}
	return fmt.Sprintf("%q: %s\n--- stdout ---\n%s--- stderr ---\n%s", res.args, how, res.stdout, res.stderr)
}

// stackTrace recognises a Go panic or runtime crash on stderr.
var stackTrace = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[)`)

// pent runs the binary in the project directory.
func (r *runner) pent(args ...string) result {
	r.t.Helper()
	return r.pentIn(r.project, args...)
}

// pentIn runs the binary in dir and checks it never printed a stack trace.
func (r *runner) pentIn(dir string, args ...string) result {
	r.t.Helper()
	res := r.exec(dir, pentBin, args...)
	if stackTrace.MatchString(res.stderr) {
		r.t.Errorf("pent printed a Go stack trace:\n%s", res)
	}
	return res
}

// host runs a command directly (no sandbox) as the runner's account, for the
// controls that prove a probe can succeed.
func (r *runner) host(name string, args ...string) result {
	r.t.Helper()
	return r.exec(r.project, name, args...)
}

func (r *runner) exec(dir, name string, args ...string) result {
	r.t.Helper()
	return r.execWithin(runTimeout, dir, name, args...)
}

// execWithin is exec with the time bound d.
func (r *runner) execWithin(d time.Duration, dir, name string, args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := r.command(ctx, dir, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: append([]string{filepath.Base(name)}, args...), stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		r.t.Fatalf("timed out after %v:\n%s", d, res)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		ws := exitErr.Sys().(syscall.WaitStatus)
		res.code = ws.ExitStatus()
		if ws.Signaled() {
			res.signal = ws.Signal()
		}
	default:
		r.t.Fatalf("starting %q: %v", res.args, err)
	}
	r.t.Logf("%s: %s", r.mode, res)
	return res
}

// wantCode fails the test unless the process exited with code.
func (res result) wantCode(t *testing.T, code int) {
	t.Helper()
	if res.code != code || res.signal != 0 {
		t.Errorf("want exit status %d, got:\n%s", code, res)
	}
}

// sandboxSh runs script with sh -c inside the sandbox; flags go before "--".
func (r *runner) sandboxSh(script string, flags ...string) result {
	r.t.Helper()
	return r.pent(append(append([]string{"run"}, flags...), "--", "sh", "-c", script)...)
}

// allow runs `pent allow --yes` in the project and requires it to succeed.
func (r *runner) allow() result {
	r.t.Helper()
	res := r.pent("allow", "--yes")
	if res.code != 0 {
		r.t.Fatalf("pent allow failed:\n%s", res)
	}
	return res
}

// assertNoSecret fails if the fixture marker appears in the output, and if the
// secret files changed.
func (r *runner) assertNoSecret(res result) {
	r.t.Helper()
	if strings.Contains(res.stdout+res.stderr, r.marker) {
		r.t.Errorf("the secret marker leaked into the output of %q", res.args)
	}
}

// assertFile fails unless path holds exactly want on the host.
func (r *runner) assertFile(path, want string) {
	r.t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		r.t.Errorf("%s on the host: %v", path, err)
		return
	}
	if string(got) != want {
		r.t.Errorf("%s changed on the host: want %q, got %q", path, want, got)
	}
}

// assertAbsent fails if path exists on the host (and removes it, so that a
// failing run as root leaves nothing in /etc or /usr).
func (r *runner) assertAbsent(path string) {
	r.t.Helper()
	if _, err := os.Lstat(path); err == nil {
		r.t.Errorf("%s exists on the host after the run", path)
		if err := os.RemoveAll(path); err != nil {
			r.t.Errorf("cleaning up %s: %v", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.t.Errorf("checking %s: %v", path, err)
	}
}

// probeLib is a shell function for scripts that try many things in one run:
// `try NAME CMD ARGS...` prints "NAME=OK" or "NAME=FAIL <error on one line>".
const probeLib = `try() { n=$1; shift; if o=$("$@" 2>&1); then echo "$n=OK"; else echo "$n=FAIL $(printf '%s' "$o" | tr '\n' ' ')"; fi; }
`

// probe is the outcome of one `try` line.
type probe struct {
	ok  bool
	msg string
}

var probeLine = regexp.MustCompile(`^([A-Za-z0-9_.-]+)=(OK|FAIL)(?: (.*))?$`)

// probes parses the `try` lines of res and requires every name in want to be
// present, so a script that stopped early cannot pass.
func probes(t *testing.T, res result, want ...string) map[string]probe {
	t.Helper()
	got := map[string]probe{}
	for _, line := range strings.Split(res.stdout, "\n") {
		if m := probeLine.FindStringSubmatch(line); m != nil {
			got[m[1]] = probe{ok: m[2] == "OK", msg: m[3]}
		}
	}
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("probe %s did not report (the script did not run to the end?):\n%s", name, res)
		}
	}
	return got
}

// deniedStyle matches the errors a denied filesystem access may produce:
// EACCES, EROFS, ENOENT (dash says "Directory nonexistent" when a
// redirection's directory is missing) or EPERM.
var deniedStyle = regexp.MustCompile(`Permission denied|Read-only file system|No such file or directory|Directory nonexistent|Operation not permitted`)

// hasExactLine reports whether out has a line that is exactly want once
// surrounding whitespace (a terminal's \r too) is trimmed. Scripts use it
// because their own text can show up in the output (/proc/*/cmdline, a
// terminal's echo), so a substring match would find the probe itself.
func hasExactLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

// hostListener is a TCP server on the host's loopback that counts the
// connections it accepts, to prove that a sandbox did not reach it.
type hostListener struct {
	port  int
	conns atomic.Int32
}

// listenHost starts a hostListener for the duration of the test.
func listenHost(t *testing.T) *hostListener {
	t.Helper()
	h := &hostListener{}
	h.port = testutil.ServeBanner(t, "tcp", "127.0.0.1:0", "HOST-BANNER\n", &h.conns).(*net.TCPAddr).Port
	return h
}

// connectScript is a python3 client that prints CONNECTED or REFUSED <err>
// for 127.0.0.1:port.
func connectScript(port int) string {
	return fmt.Sprintf(`import socket
try:
    s = socket.create_connection(("127.0.0.1", %d), timeout=5)
    print("CONNECTED", s.recv(64).decode().strip())
except OSError as e:
    print("REFUSED", e)
`, port)
}

// ptyProc is a process (pent, or a shell) running with a pty as its
// controlling terminal.
type ptyProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File

	mu     sync.Mutex
	out    bytes.Buffer
	update chan struct{}
	seen   int           // how much output expect, waitFor and consume used up
	done   chan struct{} // closed when the terminal reads EOF or EIO
	exited chan struct{} // closed when pent has been reaped
}

// startInPty starts pent args in the project directory on a fresh pty
// (startOnPty).
func (r *runner) startInPty(args ...string) *ptyProc {
	r.t.Helper()
	return r.startOnPty(r.command(context.Background(), r.project, pentBin, args...), nil)
}

// startOnPty starts cmd (made by r.command) as the session leader of a new
// session whose controlling terminal is a fresh pty of size (the default
// when nil), the way a terminal emulator starts a shell; it is killed when
// the test ends.
func (r *runner) startOnPty(cmd *exec.Cmd, size *pty.Winsize) *ptyProc {
	r.t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		r.t.Fatal(err)
	}
	defer tty.Close()
	if size != nil {
		if err := pty.Setsize(ptmx, size); err != nil {
			ptmx.Close()
			r.t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(tty.Name(), r.acct.uid, r.acct.gid); err != nil {
			ptmx.Close()
			r.t.Fatal(err)
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	if err := cmd.Start(); err != nil {
		ptmx.Close()
		r.t.Fatalf("starting %q in a pty: %v", cmd.Args, err)
	}
	p := &ptyProc{t: r.t, cmd: cmd, ptmx: ptmx,
		update: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	r.t.Cleanup(p.stop)
	go p.read()
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p
}

func (p *ptyProc) read() {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		n, err := p.ptmx.Read(buf)
		p.mu.Lock()
		p.out.Write(buf[:n])
		p.mu.Unlock()
		select {
		case p.update <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// output is everything the terminal showed so far.
func (p *ptyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits until the terminal shows text after what earlier steps
// consumed, and consumes it.
func (p *ptyProc) expect(text string, timeout time.Duration) {
	p.t.Helper()
	if !p.waitFor(text, timeout) {
		p.t.Fatalf("%q did not appear within %v; the terminal showed after the last match:\n%s", text, timeout, p.output()[p.seen:])
	}
}

// waitFor reports whether the terminal shows text, after what earlier steps
// consumed, within timeout; when it does, the text is consumed.
func (p *ptyProc) waitFor(text string, timeout time.Duration) bool {
	p.t.Helper()
	_, ok := p.consume(text, timeout)
	return ok
}

// consume waits up to timeout for text after the consumed output, consumes
// it and returns what came between. A terminal that closes first fails the
// test.
func (p *ptyProc) consume(text string, timeout time.Duration) (string, bool) {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		out := p.output()
		if i := strings.Index(out[p.seen:], text); i >= 0 {
			before := out[p.seen : p.seen+i]
			p.seen += i + len(text)
			return before, true
		}
		select {
		case <-p.update:
		case <-p.done:
			if !strings.Contains(p.output()[p.seen:], text) {
				p.t.Fatalf("terminal closed before %q appeared; it showed after the last match:\n%s", text, p.output()[p.seen:])
			}
		case <-deadline.C:
			return "", false
		}
	}
}

// skipAll consumes everything the terminal showed so far.
func (p *ptyProc) skipAll() { p.seen = len(p.output()) }

// write types b on the terminal.
func (p *ptyProc) write(b string) {
	p.t.Helper()
	if _, err := p.ptmx.Write([]byte(b)); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the process to end and returns its wait status.
func (p *ptyProc) wait(timeout time.Duration) syscall.WaitStatus {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("%q did not end within %v; the terminal showed:\n%s", p.cmd.Args, timeout, p.output())
	}
	return p.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// stop kills the process if it is still running and closes the terminal.
func (p *ptyProc) stop() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.ptmx.Close()
}

// mountCounts counts the host's mounts (/proc/self/mountinfo) by key of
// their line's fields.
func mountCounts(t *testing.T, key func(fields []string) string) map[string]int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out[key(f)]++
		}
	}
	return out
}

// addedMounts are the keys of mountCounts that after has more of than
// before.
func addedMounts(before, after map[string]int) []string {
	var out []string
	for m, n := range after {
		if n > before[m] {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// fileUID is the owner of a file on the host.
func fileUID(fi os.FileInfo) int {
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// writeFileAnywhere writes a file outside the fixture tree, owned by the
// runner's account, and removes it when the test ends.
func (r *runner) writeFileAnywhere(path, content string) {
	r.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { os.Remove(path) })
	r.chown(path)
}
