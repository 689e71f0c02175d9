//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pent-sandbox/pent/config"
)

// The README tests (issue 10: "every example in them is run by a test")
// read ../README.md and run what it shows: the quick-start lines, the
// project and shell-hook walk-through in an interactive bash, the first of
// the two commands (install and run, as a new user would), every TOML
// block through the config parser, and every pent command and flag it
// names. They adapt only what cannot run here as written: npm's registry is
// a stand-in on loopback (the test's DNS server answers every name with
// 127.0.0.1, an HTTP server plays registry.npmjs.org), reached with the
// README's own flags.

// readmePath is the README, relative to this package.
const readmePath = "../README.md"

// mdBlock is one fenced code block of the README.
type mdBlock struct {
	lang    string
	section string // the "## " heading above it, "" before the first
	line    int    // 1-based line of the opening fence
	lines   []string
}

// readme is the README split into lines and fenced blocks.
type readme struct {
	lines  []string
	blocks []mdBlock
}

func readReadme(t *testing.T) readme {
	t.Helper()
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	rd := readme{lines: strings.Split(string(data), "\n")}
	section := ""
	var cur *mdBlock
	for i, line := range rd.lines {
		switch {
		case cur == nil && strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &mdBlock{lang: strings.TrimPrefix(line, "```"), section: section, line: i + 1}
		case cur != nil && strings.HasPrefix(line, "```"):
			rd.blocks = append(rd.blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: the code block is never closed", cur.line)
	}
	return rd
}

// block returns the first block of lang in section; section "" is the part
// before the first heading.
func (rd readme) block(t *testing.T, section, lang string) mdBlock {
	t.Helper()
	for _, b := range rd.blocks {
		if b.section == section && b.lang == lang {
			return b
		}
	}
	t.Fatalf("README.md has no %s block in section %q", lang, section)
	return mdBlock{}
}

// shLine is one line of a shell block: the code and its trailing comment.
type shLine struct {
	readmeLine    int
	code, comment string
}

// shComment finds the comment of a shell line: a # at the start or after a
// blank, outside quotes.
var shComment = regexp.MustCompile(`^((?:[^#'"]|'[^']*'|"[^"]*")*?)(?:(?:^|\s)#\s?(.*))?$`)

// shLines splits a shell block into code and comments.
func (b mdBlock) shLines() []shLine {
	var out []shLine
	for i, line := range b.lines {
		m := shComment.FindStringSubmatch(line)
		if m == nil {
			m = []string{line, line, ""}
		}
		out = append(out, shLine{readmeLine: b.line + 1 + i, code: strings.TrimSpace(m[1]), comment: strings.TrimSpace(m[2])})
	}
	return out
}

// commands are the code lines of a shell block.
func (b mdBlock) commands() []shLine {
	var out []shLine
	for _, l := range b.shLines() {
		if l.code != "" {
			out = append(out, l)
		}
	}
	return out
}

// shellWithPent runs line with bash -c in dir as r's account, with the
// binary under test first on PATH, as a user who installed pent would.
func (r *runner) shellWithPent(dir, line string) result {
	r.t.Helper()
	saved := r.extraEnv
	r.extraEnv = append(append([]string{}, saved...), "PATH="+filepath.Dir(pentBin)+":"+cleanPath)
	defer func() { r.extraEnv = saved }()
	return r.exec(dir, "bash", "-c", line)
}

// standIn is the test's stand-in for the internet npm talks to: a DNS
// server that answers every A query with 127.0.0.1 (the way the real
// internet answers every name that exists) and an HTTP server that serves a
// registry with one package, tiny@1.0.0. Both record what reached them.
type standIn struct {
	dnsAddr   string
	port      int
	mu        sync.Mutex
	queries   []string // query names, without the final dot
	hosts     []string // HTTP Host headers
	tarball   []byte
	integrity string // sha512 SRI of the tarball
	shasum    string // sha1, hex
}

// tinyIndex is the code of the stand-in package.
const tinyIndex = `module.exports = "tiny-from-the-stand-in";` + "\n"

func startStandIn(t *testing.T) *standIn {
	t.Helper()
	s := &standIn{}
	s.tarball = tinyTarball(t)
	sum := sha512.Sum512(s.tarball)
	s.integrity = "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	sha := sha1.Sum(s.tarball)
	s.shasum = hex.EncodeToString(sha[:])
	s.startDNS(t)
	srv := httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(srv.Close)
	s.port = urlPort(t, srv.URL)
	return s
}

// tinyTarball is an npm package tarball of tiny@1.0.0.
func tinyTarball(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{
		{"package/package.json", `{"name":"tiny","version":"1.0.0","main":"index.js"}` + "\n"},
		{"package/index.js", tinyIndex},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (s *standIn) startDNS(t *testing.T) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		for _, q := range req.Question {
			s.record(&s.queries, strings.TrimSuffix(q.Name, "."))
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	s.dnsAddr = pc.LocalAddr().String()
}

func (s *standIn) record(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *standIn) seen(list *[]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), *list...)
}

// registryURL is the stand-in registry under the real registry's name.
func (s *standIn) registryURL() string {
	return fmt.Sprintf("http://registry.npmjs.org:%d/", s.port)
}

func (s *standIn) serveHTTP(w http.ResponseWriter, req *http.Request) {
	s.record(&s.hosts, req.Host)
	tarURL := s.registryURL() + "tiny/-/tiny-1.0.0.tgz"
	switch req.URL.Path {
	case "/tiny":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name":      "tiny",
			"dist-tags": map[string]string{"latest": "1.0.0"},
			"versions": map[string]any{"1.0.0": map[string]any{
				"name": "tiny", "version": "1.0.0",
				"dist": map[string]string{"tarball": tarURL, "integrity": s.integrity, "shasum": s.shasum},
			}},
		})
	case "/tiny/-/tiny-1.0.0.tgz":
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(s.tarball)
	case "/-/npm/v1/security/advisories/bulk", "/-/npm/v1/security/audits/quick":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	default:
		http.NotFound(w, req)
	}
}

// writeGlobal points pent's proxy at the stand-in DNS server and lets
// names resolve to loopback, where the stand-in registry listens.
func (s *standIn) writeGlobal(r *runner) {
	r.t.Helper()
	r.writeFile(r.globalConfig(), fmt.Sprintf("[proxy]\nupstream_dns = [%q]\ndestinations = [\"upstream:127.0.0.0/8\"]\n", s.dnsAddr), 0o644)
}

// writeNpmProject writes an npm project in dir that depends on tiny@1.0.0
// and uses the stand-in registry (.npmrc); lock adds package-lock.json, for
// npm ci. scripts are package.json's scripts.
func (s *standIn) writeNpmProject(r *runner, dir string, lock bool, scripts map[string]string) {
	r.t.Helper()
	pkg, err := json.MarshalIndent(map[string]any{
		"name": "readme-app", "version": "1.0.0", "private": true,
		"dependencies": map[string]string{"tiny": "1.0.0"},
		"scripts":      scripts,
	}, "", "  ")
	if err != nil {
		r.t.Fatal(err)
	}
	r.writeFile(filepath.Join(dir, "package.json"), string(pkg)+"\n", 0o644)
	r.writeFile(filepath.Join(dir, ".npmrc"), "registry="+s.registryURL()+"\n", 0o644)
	if !lock {
		return
	}
	lockfile, err := json.MarshalIndent(map[string]any{
		"name": "readme-app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
		"packages": map[string]any{
			"": map[string]any{"name": "readme-app", "version": "1.0.0", "dependencies": map[string]string{"tiny": "1.0.0"}},
			"node_modules/tiny": map[string]any{
				"version": "1.0.0", "resolved": s.registryURL() + "tiny/-/tiny-1.0.0.tgz", "integrity": s.integrity,
			},
		},
	}, "", "  ")
	if err != nil {
		r.t.Fatal(err)
	}
	r.writeFile(filepath.Join(dir, "package-lock.json"), string(lockfile)+"\n", 0o644)
}

// assertOnlyRegistry fails unless the stand-in saw registry.npmjs.org and
// nothing else: no other DNS name, no other Host.
func (s *standIn) assertOnlyRegistry(t *testing.T) {
	t.Helper()
	queries := s.seen(&s.queries)
	if !slices.Contains(queries, "registry.npmjs.org") {
		t.Errorf("the stand-in DNS server never saw registry.npmjs.org: %q", queries)
	}
	for _, q := range queries {
		if q != "registry.npmjs.org" {
			t.Errorf("a query for %q reached the upstream DNS server", q)
		}
	}
	hosts := s.seen(&s.hosts)
	if len(hosts) == 0 {
		t.Error("nothing reached the stand-in registry")
	}
	for _, h := range hosts {
		if h != "registry.npmjs.org:"+strconv.Itoa(s.port) {
			t.Errorf("the stand-in registry got a request for Host %q", h)
		}
	}
}

// npmTestJS is the test script of the quick start's `npm test`: its own
// loopback must work; the host's loopback listener and name resolution must
// not.
const npmTestJS = `const net = require("net"), dns = require("dns"), fs = require("fs");
const hostPort = Number(fs.readFileSync("host-port.txt", "utf8"));
const srv = net.createServer(c => c.end("own-loopback\n")).listen(0, "127.0.0.1", () => {
  net.connect(srv.address().port, "127.0.0.1").on("data", d => {
    console.log("OWN-LOOPBACK " + d.toString().trim());
    srv.close();
    const h = net.connect(hostPort, "127.0.0.1");
    h.on("data", () => { console.log("HOST-LOOPBACK-REACHED"); process.exit(1); });
    h.on("error", e => {
      console.log("HOST-LOOPBACK-REFUSED " + e.code);
      dns.lookup("registry.npmjs.org", err => {
        console.log(err ? "DNS-REFUSED " + err.code : "DNS-RESOLVED");
        process.exit(err ? 0 : 1);
      });
    });
  });
});
`

// TestReadme_QuickStart runs the four `pent run` lines of the README's
// first block, as written, in a fresh working directory.
func TestReadme_QuickStart(t *testing.T) {
	needTool(t, "npm", "npm")
	lines := readReadme(t).block(t, "", "sh").commands()
	bothModes(t, func(t *testing.T, r *runner) {
		s := startStandIn(t)
		s.writeGlobal(r)
		dir := filepath.Join(r.home, "src", "quick")
		s.writeNpmProject(r, dir, true, map[string]string{"test": "node test.js"})
		r.writeFile(filepath.Join(dir, "test.js"), npmTestJS, 0o644)
		host := listenHost(t)
		r.writeFile(filepath.Join(dir, "host-port.txt"), strconv.Itoa(host.port), 0o644)

		handled := 0
		for _, l := range lines {
			// The check depends on the command pent runs, not on the flags,
			// so that a README fix of the flags needs no change here.
			flags, program, ok := strings.Cut(l.code, " -- ")
			if !ok || !strings.HasPrefix(flags, "pent run") {
				t.Errorf("README.md:%d: %q is not a `pent run ... -- COMMAND` line", l.readmeLine, l.code)
				continue
			}
			res := r.shellWithPent(dir, l.code)
			r.assertNoSecret(res)
			if strings.Contains(res.stderr, "pent: warning") {
				t.Errorf("README.md:%d: %q warns, the README shows no warning:\n%s", l.readmeLine, l.code, res)
			}
			switch program {
			case "cat ~/.ssh/id_ed25519":
				if res.code == 0 || !strings.Contains(res.stderr, "No such file or directory") {
					t.Errorf("README.md:%d: want %q:\n%s", l.readmeLine, l.comment, res)
				}
			case "sh -c 'echo ok > notes.txt'":
				res.wantCode(t, 0)
				r.assertFile(filepath.Join(dir, "notes.txt"), "ok\n")
			case "npm ci":
				if res.code != 0 {
					t.Errorf("README.md:%d: %q failed:\n%s", l.readmeLine, l.code, res)
				}
				r.assertFile(filepath.Join(dir, "node_modules", "tiny", "index.js"), tinyIndex)
				s.assertOnlyRegistry(t)
				// Every flow went through pent's proxy, which logged it.
				log, err := os.ReadFile(filepath.Join(r.home, ".local", "state", "pent", "proxy.log"))
				if err != nil || !regexp.MustCompile(`"action":"allow".*"name":"registry\.npmjs\.org"`).Match(log) {
					t.Errorf("README.md:%d: the run's proxy log shows no allowed connection to registry.npmjs.org (%v):\n%s", l.readmeLine, err, log)
				}
				r.refusesOtherNames(dir, s, flags)
			case "npm test":
				res.wantCode(t, 0)
				for _, want := range []string{"OWN-LOOPBACK own-loopback", "HOST-LOOPBACK-REFUSED ECONNREFUSED", "DNS-REFUSED"} {
					if !strings.Contains(res.stdout, want) {
						t.Errorf("README.md:%d: npm test printed no %q:\n%s", l.readmeLine, want, res)
					}
				}
				if c := host.conns.Load(); c != 0 {
					t.Errorf("README.md:%d: %d connections reached the host's loopback listener", l.readmeLine, c)
				}
			default:
				t.Errorf("README.md:%d: %q has no check in TestReadme_QuickStart; add one", l.readmeLine, program)
				continue
			}
			handled++
		}
		if handled != 4 {
			t.Errorf("want the README's four quick-start lines, ran %d", handled)
		}
	})
}

// refusesOtherNames runs pent with the quick start's npm flags (flags is
// "pent run ...") and commands that try a name other than the allowed one
// and the stand-in registry's raw address: both must fail, and the other
// name must never reach the upstream DNS server or the registry.
func (r *runner) refusesOtherNames(dir string, s *standIn, flags string) {
	r.t.Helper()
	port := strconv.Itoa(s.port)
	for _, target := range []string{"http://registry.npmjs.com:" + port + "/tiny", "http://127.0.0.1:" + port + "/tiny"} {
		res := r.shellWithPent(dir, flags+" -- curl -fsS --max-time 10 "+target)
		if res.code == 0 {
			r.t.Errorf("with the quick start's flags %q, %s was reachable:\n%s", flags, target, res)
		}
	}
	for _, q := range s.seen(&s.queries) {
		if q == "registry.npmjs.com" {
			r.t.Error("registry.npmjs.com was resolved upstream")
		}
	}
	for _, h := range s.seen(&s.hosts) {
		if !strings.HasPrefix(h, "registry.npmjs.org:") {
			r.t.Errorf("the stand-in registry got a request for Host %q", h)
		}
	}
}

// readmeBashRC is the README's hook line for ~/.bashrc.
func readmeBashRC(t *testing.T, rd readme) string {
	t.Helper()
	for _, b := range rd.blocks {
		for _, l := range b.commands() {
			if b.section == "Install" && b.lang == "sh" && l.comment == "~/.bashrc" {
				return l.code
			}
		}
	}
	t.Fatal("README.md's Install section shows no hook line for ~/.bashrc")
	return ""
}

// preinstallProbe is the package's preinstall script: it runs when npm
// install does and records whether it could read the home directory's key.
const preinstallProbe = `cat ~/.ssh/id_ed25519 > home-probe.txt 2>&1 || echo DENIED >> home-probe.txt`

// TestReadme_ProjectHook types the "Projects and the shell hook" block into
// an interactive bash whose ~/.bashrc holds the README's hook line: pent
// init writes what the comment says, pent allow trusts it, the next prompt
// prints the README's message and defines the wrappers, npm install runs in
// the sandbox (its install script cannot read ~/.ssh), and leaving the
// directory removes the wrappers. pent status and pent proxy status|logs|stop
// then run in the project.
func TestReadme_ProjectHook(t *testing.T) {
	needTool(t, "npm", "npm")
	rd := readReadme(t)
	hookLine := readmeBashRC(t, rd)
	block := rd.block(t, "Projects and the shell hook", "sh")
	bothModes(t, func(t *testing.T, r *runner) {
		s := startStandIn(t)
		s.writeGlobal(r)
		if err := os.Remove(filepath.Join(r.project, ".pent.toml")); err != nil {
			t.Fatal(err)
		}
		s.writeNpmProject(r, r.project, false, map[string]string{"preinstall": preinstallProbe})
		r.stopDaemonAtEnd()
		bash := shellKind{
			name: "bash",
			rc: func(home, _ string) (string, string) {
				return filepath.Join(home, ".bashrc"), "PS1='" + shellPrompt + " '\n" + hookLine + "\n"
			},
			args: func(home string) []string {
				return []string{"--noprofile", "--rcfile", filepath.Join(home, ".bashrc"), "-i"}
			},
		}
		r.writeShellRC(bash, "")
		sh := r.startShell(bash, r.home)

		var prev string // output of the previous command line
		for _, l := range block.shLines() {
			if l.code == "" {
				if msg, ok := strings.CutPrefix(l.comment, "next prompt: "); ok {
					if !slices.Contains(pentLines(prev), msg) {
						t.Errorf("README.md:%d: the next prompt did not print %q:\n%s", l.readmeLine, msg, prev)
					}
					if got := sh.line("type -t npm"); strings.TrimSpace(got) != "function" {
						t.Errorf("README.md:%d: npm is not wrapped at the next prompt (type -t npm: %q)", l.readmeLine, got)
					}
				}
				continue
			}
			if l.code == "pent allow" {
				if !strings.Contains(l.comment, "then asks") {
					t.Errorf("README.md:%d: the comment does not say that pent allow asks", l.readmeLine)
				}
				prev = sh.allow("y")
			} else {
				prev = sh.line(l.code)
			}
			switch l.code {
			case "cd ~/src/app", "pent allow":
			case "pent init @npm":
				r.checkInitComment(l)
			case "npm install":
				r.assertFile(filepath.Join(r.project, "node_modules", "tiny", "index.js"), tinyIndex)
				probe, err := os.ReadFile(filepath.Join(r.project, "home-probe.txt"))
				if err != nil || !strings.Contains(string(probe), "No such file or directory") || !hasExactLine(string(probe), "DENIED") ||
					strings.Contains(string(probe), r.marker) {
					t.Errorf("README.md:%d: npm install's preinstall script was not sandboxed (%v):\n%s", l.readmeLine, err, probe)
				}
				s.assertOnlyRegistry(t)
				if strings.Contains(prev, "pent: warning") {
					t.Errorf("README.md:%d: npm install warns, the README shows no warning:\n%s", l.readmeLine, prev)
				}
				// @npm grants ~/.npm read_write: npm's cache must reach the
				// host (SPEC §4.1: nothing written to an allowed path is lost).
				if fi, err := os.Stat(filepath.Join(r.home, ".npm", "_cacache")); err != nil || !fi.IsDir() {
					t.Errorf("README.md:%d: npm's cache ~/.npm/_cacache (read_write in @npm) did not reach the host: %v", l.readmeLine, err)
				}
				sh.line("cd ..")
				if got := sh.line("type -t npm"); strings.TrimSpace(got) != "file" {
					t.Errorf("README.md:%d: leaving the directory did not remove the wrapper (type -t npm: %q)", l.readmeLine, got)
				}
			default:
				t.Errorf("README.md:%d: %q has no check in TestReadme_ProjectHook; add one", l.readmeLine, l.code)
			}
		}

		// pent status tells the truth about the calling shell: in the
		// hooked shell it lists the wrappers; outside one, none.
		sh.line("cd ~/src/app")
		if out := sh.line("pent status"); !strings.Contains(out, "(allowed)") || !strings.Contains(out, "hook:     active in this shell") ||
			!strings.Contains(out, "wrapped:  npm, npx") {
			t.Errorf("pent status in the hooked shell does not show the project allowed and wrapping npm, npx:\n%s", out)
		}
		status := r.pent("status")
		status.wantCode(t, 0)
		if !strings.Contains(status.stdout, "(allowed)") || !strings.Contains(status.stdout, "hook:     not active") || strings.Contains(status.stdout, "wrapped:") {
			t.Errorf("pent status outside a hooked shell must show the project allowed and no wrappers:\n%s", status)
		}
		st := r.proxyStatus()
		if !st.running || !strings.Contains(st.policy, "registry.npmjs.org") {
			t.Errorf("pent proxy status after npm install:\n%s", st.rawOutput)
		}
		if logs := r.pent("proxy", "logs"); logs.code != 0 || !strings.Contains(logs.stdout, "registry.npmjs.org") {
			t.Errorf("pent proxy logs does not show npm's connections:\n%s", logs)
		}
		r.pent("proxy", "stop").wantCode(t, 0)
		if !waitFor(10*time.Second, func() bool { return !processAlive(st.pid) }) {
			t.Errorf("pent proxy stop left the proxy (pid %d) running", st.pid)
		}
	})
}

// checkInitComment checks that the file pent init wrote is commented and
// sets what the README's comment says it does (e.g. `profiles = ["@npm"],
// wrap = ["npm", "npx"]`), by parsing both.
func (r *runner) checkInitComment(l shLine) {
	r.t.Helper()
	path := filepath.Join(r.project, ".pent.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		r.t.Fatalf("README.md:%d: pent init wrote no .pent.toml: %v", l.readmeLine, err)
	}
	got, err := config.Parse(path, data, config.Project)
	if err != nil {
		r.t.Fatalf("README.md:%d: the file pent init wrote does not parse: %v", l.readmeLine, err)
	}
	if !regexp.MustCompile(`(?m)^#`).Match(data) {
		r.t.Errorf("README.md:%d: the file pent init wrote has no comments:\n%s", l.readmeLine, data)
	}
	_, claim, ok := strings.Cut(l.comment, ": ")
	if !ok {
		r.t.Fatalf("README.md:%d: the comment %q does not say what pent init writes", l.readmeLine, l.comment)
	}
	want, err := config.Parse("README comment", []byte(strings.ReplaceAll(claim, "], ", "]\n")), config.Project)
	if err != nil {
		r.t.Fatalf("README.md:%d: the comment's %q is not TOML: %v", l.readmeLine, claim, err)
	}
	if !slices.Equal(got.Profiles, want.Profiles) || !slices.Equal(got.Wrap, want.Wrap) {
		r.t.Errorf("README.md:%d: pent init @npm wrote profiles %q, wrap %q; the README says %s", l.readmeLine, got.Profiles, got.Wrap, claim)
	}
}

// tomlKind is the kind of config file a README TOML block is an example
// of: a global file when it defines [profile.*], a project file when it
// sets wrap. A block with both is an example of no file at all.
func tomlKind(data string) (config.Kind, error) {
	profile := regexp.MustCompile(`(?m)^\s*\[profile\.`).MatchString(data)
	wrap := regexp.MustCompile(`(?m)^\s*wrap\s*=`).MatchString(data)
	switch {
	case profile && wrap:
		return 0, errors.New("it sets wrap (project files only) and defines [profile.*] (global file only): no config file accepts both; split it into a project example and a global example")
	case profile:
		return config.Global, nil
	}
	return config.Project, nil
}

// TestReadme_TOMLBlocks parses every TOML block of the README as the kind
// of file it shows, and the seed's keys the README says are accepted.
func TestReadme_TOMLBlocks(t *testing.T) {
	rd := readReadme(t)
	n := 0
	for _, b := range rd.blocks {
		if b.lang != "toml" {
			continue
		}
		n++
		data := strings.Join(b.lines, "\n") + "\n"
		kind, err := tomlKind(data)
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		if _, err := config.Parse("README.md", []byte(data), kind); err != nil {
			var ce *config.Error
			if errors.As(err, &ce) && ce.Line > 0 {
				t.Errorf("README.md:%d: as a %s: %v", b.line+ce.Line, kind, err)
			} else {
				t.Errorf("README.md:%d: as a %s: %v", b.line, kind, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("README.md has no toml block")
	}
	const seedClaim = "The seed's keys (`[sandbox.network] mode = \"proxy_only\"`, `[sandbox.paths] write`) are accepted."
	if !strings.Contains(strings.Join(rd.lines, " "), seedClaim) {
		t.Fatalf("README.md no longer says %q; update this test", seedClaim)
	}
	for _, seed := range []string{"[sandbox.network]\nmode = \"proxy_only\"\n", "[sandbox.paths]\nwrite = [\"~/.cache/seed\"]\n"} {
		if _, err := config.Parse("seed", []byte(seed), config.Project); err != nil {
			t.Errorf("the seed's %q is not accepted: %v", seed, err)
		}
	}
}

// codeSpan is inline code in Markdown.
var codeSpan = regexp.MustCompile("`([^`]+)`")

// argWord is a word of a pent command line as the README writes it.
var argWord = regexp.MustCompile(`^[A-Za-z0-9@~./_:=|-]+$`)

// readmeCommands returns every pent command line the README shows, in
// shell blocks and inline code, as the arguments after "pent": up to "--",
// a pipe, a list operator, a comment or the end of a command substitution.
// Alternatives (`show|add`) are expanded and optional brackets dropped.
func readmeCommands(rd readme) [][]string {
	var pieces []string
	inBlock, lang := false, ""
	for _, line := range rd.lines {
		if strings.HasPrefix(line, "```") {
			inBlock, lang = !inBlock, strings.TrimPrefix(line, "```")
			continue
		}
		if inBlock && lang == "sh" {
			if m := shComment.FindStringSubmatch(line); m != nil {
				pieces = append(pieces, m[1])
			}
		}
		for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
			pieces = append(pieces, m[1])
		}
	}
	var out [][]string
	for _, p := range pieces {
		toks := strings.Fields(strings.ReplaceAll(p, "$(", " "))
		for i, tok := range toks {
			if strings.Trim(tok, `"'`) != "pent" {
				continue
			}
			var args []string
			for _, a := range toks[i+1:] {
				last := strings.HasSuffix(a, ")") || strings.HasSuffix(a, `)"`)
				a = strings.Trim(strings.TrimRight(a, `)"`), "[]")
				if a == "--" || strings.HasPrefix(a, "|") || strings.HasSuffix(a, "|") || !argWord.MatchString(a) {
					break
				}
				args = append(args, a)
				if last {
					break
				}
			}
			out = append(out, expandAlternatives(args)...)
		}
	}
	return out
}

// expandAlternatives turns ["config", "show|add"] into ["config", "show"]
// and ["config", "add"].
func expandAlternatives(args []string) [][]string {
	out := [][]string{nil}
	for _, a := range args {
		var next [][]string
		for _, alt := range strings.Split(a, "|") {
			for _, prefix := range out {
				next = append(next, append(slices.Clone(prefix), alt))
			}
		}
		out = next
	}
	return out
}

// cliCommands are the commands SPEC §2 and the issue name, which must exist
// whether or not the README shows them.
var cliCommands = [][]string{
	{"run"}, {"config", "show"}, {"config", "add"}, {"config", "rm"}, {"config", "init"}, {"config", "edit"},
	{"config", "path"}, {"profiles"}, {"allow"}, {"deny"}, {"doctor"}, {"status"}, {"edit"}, {"prune"},
	{"init"}, {"trace", "show"}, {"trace", "clear"}, {"trace", "suggest"}, {"proxy", "status"},
	{"proxy", "stop"}, {"proxy", "logs"}, {"hook"}, {"completion", "bash"}, {"version"}, {"shell"},
}

// usageLine is the line under "Usage:" in a help text.
func usageLine(help string) string {
	_, rest, _ := strings.Cut(help, "Usage:\n")
	line, _, _ := strings.Cut(rest, "\n")
	return strings.TrimSpace(line)
}

// isUsageOf reports whether usage line u is that of command path (["pent",
// "config", "show"]).
func isUsageOf(u string, path []string) bool {
	p := strings.Join(path, " ")
	return u == p || strings.HasPrefix(u, p+" ")
}

// subcommands are the names under "Available Commands:" in a help text.
func subcommands(help string) []string {
	_, rest, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		return nil
	}
	var names []string
	for _, line := range strings.Split(rest, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(line, "  ") {
			break
		}
		names = append(names, f[0])
	}
	return names
}

// checkCommand requires that pent args exists: each leading word is a
// (possibly hidden) subcommand whose help names it, or an argument of a
// command without subcommands; and `pent ARGS --help`, which parses every
// flag shown, exits 0 with the help of that command.
func (r *runner) checkCommand(args []string) {
	r.t.Helper()
	path := []string{"pent"}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		cand := append(slices.Clone(path), a)
		if isUsageOf(usageLine(r.pentQuiet(append(slices.Clone(cand[1:]), "--help")...).stdout), cand) {
			path = cand
			continue
		}
		if subs := subcommands(r.pentQuiet(append(slices.Clone(path[1:]), "--help")...).stdout); len(subs) > 0 {
			r.t.Errorf("pent %s: %q is not a command of %s (it has %q)", strings.Join(args, " "), a, strings.Join(path, " "), subs)
			return
		}
		break
	}
	res := r.pentQuiet(append(slices.Clone(args), "--help")...)
	if res.code != 0 || !isUsageOf(usageLine(res.stdout), path) {
		r.t.Errorf("pent %s --help: want exit 0 and the usage of %s (every flag known), got exit %d:\n%s",
			strings.Join(args, " "), strings.Join(path, " "), res.code, res.stdout)
	}
}

// readOnlyCommands are the README commands that change nothing; they also
// run for real (the others run in the tests of what they do).
var readOnlyCommands = map[string]bool{
	"version": true, "doctor": true, "profiles": true, "profiles @npm": true, "config show": true,
	"config path": true, "trace show": true, "trace show --json": true, "hook bash": true, "hook zsh": true,
	"hook fish": true, "completion bash": true, "status": true, "keep --list": true,
}

// TestReadme_Commands: every pent command and flag the README shows, and
// every command the spec names, exists (`pent CMD FLAGS --help` exits 0
// with that command's help); the read-only ones also run for real and exit
// 0. A made-up flag and a made-up subcommand must be refused, which shows
// that the check can fail.
func TestReadme_Commands(t *testing.T) {
	cmds := readmeCommands(readReadme(t))
	if len(cmds) < 20 || !slices.ContainsFunc(cmds, func(c []string) bool { return slices.Equal(c, []string{"config", "path"}) }) {
		t.Fatalf("found only %d pent commands in the README (want the config show|add|... alternatives among them): %q", len(cmds), cmds)
	}
	bothModes(t, func(t *testing.T, r *runner) {
		seen := map[string]bool{}
		for _, args := range append(cmds, cliCommands...) {
			key := strings.Join(args, " ")
			if seen[key] {
				continue
			}
			seen[key] = true
			r.checkCommand(args)
			if readOnlyCommands[key] {
				r.pentIn(r.home, args...).wantCode(t, 0)
			}
		}
		t.Logf("%s: checked %d commands: %q", r.mode, len(seen), slices.Sorted(func(yield func(string) bool) {
			for k := range seen {
				if !yield(k) {
					return
				}
			}
		}))
		// Controls: the check refuses what does not exist.
		if res := r.pentQuiet("run", "--no-such-flag", "--help"); res.code == 0 {
			t.Errorf("pent run --no-such-flag --help exits 0: the flag check cannot fail")
		}
		if subs := subcommands(r.pentQuiet("trace", "--help").stdout); !slices.Contains(subs, "show") {
			t.Errorf("the subcommand check does not see trace's subcommands: %q", subs)
		}
		if u := usageLine(r.pentQuiet("trace", "no-such-command", "--help").stdout); isUsageOf(u, []string{"pent", "trace", "no-such-command"}) {
			t.Errorf("the usage check takes a made-up subcommand for a command: %q", u)
		}
	})
}

// TestReadme_TwoCommands runs the README's command 1 — install.sh, then
// pent run from the install — as written, in a copy of the repository, as
// the unprivileged user with an empty HOME (so it installs to
// ~/.local/bin; as root it would write /usr/local/bin on this machine,
// which TestInstall covers with --prefix instead). Command 2 is this test
// suite: the test checks that .ci/run runs it.
func TestReadme_TwoCommands(t *testing.T) {
	rd := readReadme(t)
	cmds := rd.block(t, "Two commands", "sh").commands()
	if len(cmds) != 2 {
		t.Fatalf("want the two commands in the README's Two commands block, found %d", len(cmds))
	}
	t.Run("test command is CI's", func(t *testing.T) {
		ci, err := os.ReadFile("../.ci/run")
		if err != nil {
			t.Fatal(err)
		}
		var runs []string
		for _, line := range strings.Split(string(ci), "\n") {
			if l := strings.TrimSpace(line); strings.Contains(l, "go test") && !strings.Contains(l, "-fuzz") && !strings.HasPrefix(l, "#") {
				runs = append(runs, l)
			}
		}
		if !slices.Contains(runs, cmds[1].code) {
			t.Errorf("README.md:%d: command 2 is %q; .ci/run does not run it (it runs %q)", cmds[1].readmeLine, cmds[1].code, runs)
		}
	})
	t.Run("install and run", func(t *testing.T) {
		needTool(t, "git", "git")
		a, why := rootlessAccount()
		if a == nil {
			unavailable(t, "%s", why)
		}
		goEnv := hostGoEnv(t)
		r := newRunner(t, "rootless", a)
		// Where the README's output block says the clone is: ~/src/pent.
		r.mkdir(filepath.Join(r.home, "src"), 0o755)
		tree := filepath.Join(r.home, "src", "pent")
		if err := os.Rename(copyWorkingTree(t), tree); err != nil {
			t.Fatal(err)
		}
		r.extraEnv = append(r.extraEnv, "SHELL=/bin/bash", "GOTOOLCHAIN=local", "GOFLAGS=-modcacherw")
		if a.uid == os.Geteuid() {
			r.extraEnv = append(r.extraEnv, "GOCACHE="+goEnv["GOCACHE"], "GOMODCACHE="+goEnv["GOMODCACHE"], "GOPROXY=off")
		} else {
			r.extraEnv = append(r.extraEnv, "GOCACHE="+rootlessGoCache(t, a),
				"GOPROXY=file://"+moduleMirror(t, goEnv["GOMODCACHE"]), "GOSUMDB=off")
		}
		res := timed(t, "command 1", func() result { return r.execWithin(buildTimeout, tree, "bash", "-c", cmds[0].code) })
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		// The README shows how the output ends; nothing the sandbox refused
		// (a home that cannot be listed) may show on stderr.
		want := rd.block(t, "Two commands", "text")
		out := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
		if tail := out[max(0, len(out)-len(want.lines)):]; !slices.Equal(tail, want.lines) {
			t.Errorf("README.md:%d: command 1 ends with\n%s\nbut the README shows\n%s", want.line, strings.Join(tail, "\n"), strings.Join(want.lines, "\n"))
		}
		if deniedStyle.MatchString(res.stderr) || strings.Contains(res.stderr, "cannot open") {
			t.Errorf("README.md:%d: command 1 printed an error:\n%s", cmds[0].readmeLine, res)
		}
		if strings.Contains(res.stdout, ".ssh") || strings.Contains(res.stdout, ".aws") {
			t.Errorf("README.md:%d: ls -A ~ in the sandbox listed the hidden home:\n%s", cmds[0].readmeLine, res)
		}
		r.assertFile(filepath.Join(tree, "pent-demo.txt"), "written from the sandbox\n")
		if fi, err := os.Stat(filepath.Join(r.home, ".local", "bin", "pent")); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("command 1 did not install ~/.local/bin/pent: %v", err)
		}
	})
}
