package seatbelt

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

var update = flag.Bool("update", false, "rewrite the golden SBPL files in testdata/sbpl")

// The profiles below are what cmd/pent builds on a Mac for user alice with a
// project in ~/src/app (sandbox.Defaults on macOS, plus the named profiles'
// paths with ~ expanded). They are written out rather than computed so that
// the golden files do not depend on the machine running the tests.
const (
	macHome    = "/Users/alice"
	macProject = macHome + "/src/app"
	macTmp     = "/private/var/folders/7x/k2c9q1d50r8_7h1p2q3r4s5t0000gn/T/pent-tmp-123456"
)

func macDefault() Profile {
	return Profile{
		Dir:       macProject,
		Network:   scope.NetBlocked,
		Execute:   []string{"/usr", "/bin", "/sbin", "/opt", "/usr/local/bin"},
		Read:      []string{"/etc"},
		Write:     []string{macProject},
		Protected: protectedUnder(macProject),
		// The policy's Masked paths, then its PrivateTmp ones.
		Hidden: []string{macHome, "/home", "/tmp", "/var/tmp", "/dev/shm"},
	}
}

// protectedUnder is what sandbox.ProtectedUnder(root) lists (this package
// cannot import sandbox), in its order.
func protectedUnder(root string) []string {
	var out []string
	for _, name := range []string{".pent.toml", ".pent", ".envrc", ".vscode", ".idea", ".cursor", ".claude", ".mcp.json", ".gitmodules", ".codex", ".gemini"} {
		out = append(out, filepath.Join(root, name))
	}
	for _, g := range []string{
		"hooks", "config", "config.worktree", "commondir", "modules", "worktrees",
		"info/exclude", "info/attributes", "info/sparse-checkout", "info/grafts",
		"objects/info/alternates", "objects/info/http-alternates",
	} {
		out = append(out, filepath.Join(root, ".git", g))
	}
	return out
}

// withRun is p with the run's private temporary directory and proxy port.
func withRun(p Profile, tmp string, proxyPort int) Profile {
	p.TmpDir, p.ProxyPort = tmp, proxyPort
	return p
}

// home expands ~ in paths the way the config loader does.
func home(paths ...string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = strings.Replace(p, "~", macHome, 1)
	}
	return out
}

// withNode adds @base and @node.
func withNode(p Profile) Profile {
	p.Traverse = append(p.Traverse, home("~", "~/.config", "~/.cache", "~/.local", "~/.local/share", "~/.local/state")...)
	p.Read = append(p.Read, home("~/.terminfo", "~/.inputrc", "~/.editorconfig", "~/.config/fontconfig", "~/.local/share/terminfo")...)
	p.Execute = append(p.Execute, home("~/.nvm", "~/.volta", "~/.local/share/fnm", "~/.fnm", "~/.local/share/mise")...)
	p.Write = append(p.Write, home("~/.cache/node-gyp", "~/.node-gyp", "~/.cache/node")...)
	return p
}

// npmProfile is @npm (with @node and @base); its domains are the proxy's.
func npmProfile() Profile {
	p := withNode(macDefault())
	p.Network = scope.NetProxy
	p.Write = append(p.Write, home("~/.npm", "~/.cache/yarn", "~/.yarn/berry", "~/.local/share/pnpm/store", "~/.cache/pnpm")...)
	p.Read = append(p.Read, home("~/.npmrc", "~/.yarnrc", "~/.yarnrc.yml", "~/.config/pnpm")...)
	return p
}

// claudeProfile is @claude (with @node and @base).
func claudeProfile() Profile {
	p := withNode(macDefault())
	p.Network = scope.NetProxy
	p.Write = append(p.Write, home("~/.claude", "~/.claude.json", "~/.claude.json.backup", "~/.config/claude")...)
	p.Execute = append(p.Execute, home("~/.local/share/claude", "~/.local/bin/claude")...)
	return p
}

var sbplGoldens = []struct {
	name string
	p    func() Profile
	tmp  string
	port int
}{
	{"default", macDefault, macTmp, 0},
	{"npm", npmProfile, macTmp, 53127},
	{"claude", claudeProfile, macTmp, 53127},
	{"proxy", func() Profile { p := macDefault(); p.Network = scope.NetProxy; return p }, macTmp, 41000},
	{"localhost", func() Profile { p := macDefault(); p.Network = scope.NetLocalhost; return p }, macTmp, 0},
	{"unrestricted", func() Profile { p := macDefault(); p.Network = scope.NetUnrestricted; return p }, macTmp, 0},
	{"quoted-paths", func() Profile {
		p := macDefault()
		p.Dir = macHome + `/My "Work" (2024)\drafts`
		p.Write = []string{p.Dir}
		p.Protected = protectedUnder(p.Dir)
		p.Read = append(p.Read, macHome+"/Library/Application Support/Some (Tool)")
		return p
	}, macTmp, 0},
	{"hidden-in-project", func() Profile {
		// A directory hidden inside the writable project (a masked
		// secrets directory two levels down).
		p := macDefault()
		p.Hidden = append(p.Hidden, macProject+"/config/secrets")
		return p
	}, macTmp, 0},
	{"root-read", func() Profile {
		// A run in / without a project: / is withheld, readable only.
		p := macDefault()
		p.Dir, p.Write, p.Protected = "/", nil, nil
		p.Read = append(p.Read, "/")
		p.Write = []string{macHome + "/.npm"}
		return p
	}, macTmp, 0},
}

// TestSBPLGolden compares the generated profiles with testdata/sbpl; run
// `go test ./seatbelt/ -run SBPL -update` to rewrite them after a deliberate
// change, and review the diff.
func TestSBPLGolden(t *testing.T) {
	for _, g := range sbplGoldens {
		t.Run(g.name, func(t *testing.T) {
			got, err := SBPL(withRun(g.p(), g.tmp, g.port))
			if err != nil {
				t.Fatal(err)
			}
			rulesOf(t, got) // well-formed
			path := filepath.Join("testdata", "sbpl", g.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("profile differs from %s (run with -update and review the diff):\n%s", path, got)
			}
		})
	}
}

// TestSBPLDecisions asks the generated profiles what they decide, rule by
// rule, with the last-match-wins evaluator.
func TestSBPLDecisions(t *testing.T) {
	profiles := map[string][]sbplRule{}
	for _, g := range sbplGoldens {
		text, err := SBPL(withRun(g.p(), g.tmp, g.port))
		if err != nil {
			t.Fatal(err)
		}
		profiles[g.name] = rulesOf(t, text)
	}
	proj := macProject
	tests := []struct {
		profile, op, path string
		want              bool
	}{
		// Secrets and the rest of $HOME stay closed.
		{"default", "file-read-data", macHome + "/.ssh/id_ed25519", false},
		{"default", "file-read-data", macHome + "/.aws/credentials", false},
		{"npm", "file-read-data", macHome + "/.ssh/id_ed25519", false},
		{"default", "file-read-data", macHome + "/Library/Keychains/login.keychain-db", false},
		// The project is readable, writable, executable.
		{"default", "file-read-data", proj + "/main.go", true},
		{"default", "file-write-create", proj + "/build/out.o", true},
		{"default", "process-exec", proj + "/node_modules/.bin/tsc", true},
		{"default", "file-map-executable", proj + "/node_modules/x/build/addon.node", true},
		// Protected entries are read-only, and so are the directories that hold them.
		{"default", "file-read-data", proj + "/.pent.toml", true},
		{"default", "file-write-data", proj + "/.pent.toml", false},
		{"default", "file-write-create", proj + "/.pent/pent.toml", false},
		{"default", "file-write-create", proj + "/.git/hooks/pre-commit", false},
		{"default", "file-write-data", proj + "/.git/config", false},
		{"default", "file-write-unlink", proj + "/.git", false},
		{"default", "file-write-unlink", proj, false},
		{"default", "file-write-data", proj + "/.git/index", true},
		{"default", "file-write-create", proj + "/.vscode/tasks.json", false},
		{"default", "file-write-data", "/System/Volumes/Data" + proj + "/.envrc", false},
		{"quoted-paths", "file-write-data", macHome + `/My "Work" (2024)\drafts/.pent.toml`, false},
		{"quoted-paths", "file-write-data", macHome + `/My "Work" (2024)\drafts/notes.md`, true},
		{"quoted-paths", "file-read-data", macHome + "/Library/Application Support/Some (Tool)/state", true},
		// System files: readable, not writable; programs run only from Execute paths.
		{"default", "file-read-data", "/private/etc/hosts", true},
		{"default", "file-write-data", "/private/etc/hosts", false},
		{"default", "process-exec", "/usr/bin/git", true},
		{"default", "file-write-data", "/usr/local/bin/tool", false},
		{"default", "file-map-executable", "/System/Library/Frameworks/Security.framework/Security", true},
		{"default", "file-read-data", "/System/Volumes/Data/Users/alice/.ssh/id_ed25519", false},
		{"default", "process-exec", "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder", false},
		{"default", "process-exec", "/Applications/Terminal.app/Contents/MacOS/Terminal", false},
		// Temporary files: the run's own directory, never the host's /tmp.
		{"default", "file-write-create", macTmp + "/x", true},
		{"default", "file-read-data", "/private/tmp/other-user-file", false},
		{"default", "file-write-create", "/private/tmp/x", false},
		{"default", "file-read-data", "/private/var/folders/7x/k2c9q1d50r8_7h1p2q3r4s5t0000gn/T/other", false},
		// Ancestors can be stat'ed but not listed; a Traverse directory can be listed.
		{"default", "file-read-metadata", macHome, true},
		{"default", "file-read-data", macHome, false},
		{"npm", "file-read-data", macHome, true},
		{"npm", "file-read-data", macHome + "/.config/gh/hosts.yml", false},
		{"npm", "file-read-data", macHome + "/.npmrc", true},
		{"npm", "file-write-data", macHome + "/.npmrc", false},
		{"npm", "file-write-create", macHome + "/.npm/_cacache/x", true},
		{"claude", "file-write-data", macHome + "/.claude.json", true},
		{"claude", "process-exec", macHome + "/.local/bin/claude", true},
		{"claude", "file-write-data", macHome + "/.local/bin/claude", false},
		// Devices.
		{"default", "file-write-data", "/dev/null", true},
		{"default", "file-write-data", "/dev/ttys003", true},
		{"default", "file-read-data", "/dev/disk0", false},
		// / readable, hidden directories stay hidden beneath it, grants inside them stay.
		{"root-read", "file-read-data", "/Library/Preferences/com.apple.x.plist", true},
		{"root-read", "file-read-data", macHome + "/.ssh/id_ed25519", false},
		{"root-read", "file-read-data", "/System/Volumes/Data" + macHome + "/.ssh/id_ed25519", false},
		{"root-read", "file-read-data", "/private/tmp/x", false},
		{"root-read", "file-write-create", macHome + "/.npm/x", true},
		{"root-read", "file-read-metadata", macHome, true},
		{"root-read", "file-write-data", "/private/etc/hosts", false},
		// A hidden directory cannot be moved out from under its denial:
		// neither it nor a writable directory above it can be renamed.
		{"hidden-in-project", "file-read-data", proj + "/config/secrets/key", false},
		{"hidden-in-project", "file-write-rename", proj + "/config/secrets", false},
		{"hidden-in-project", "file-write-rename", proj + "/config", false},
		{"hidden-in-project", "file-write-unlink", proj + "/config", false},
		{"hidden-in-project", "file-write-rename", "/System/Volumes/Data" + proj + "/config", false},
		{"hidden-in-project", "file-write-create", proj + "/config/app.toml", true},
		{"hidden-in-project", "file-write-rename", proj + "/src", true},
		{"default", "file-write-rename", proj + "/.git", false},
		{"default", "file-write-rename", proj, false},
	}
	for _, tt := range tests {
		if got := decide(profiles[tt.profile], tt.op, tt.path); got != tt.want {
			t.Errorf("%s profile: %s %s = %v, want %v", tt.profile, tt.op, tt.path, got, tt.want)
		}
	}
}

// TestSBPLProtectedLast checks the ordering the semantics rely on: every
// denial of a protected path comes after every grant.
func TestSBPLProtectedLast(t *testing.T) {
	profile, err := SBPL(macDefault())
	if err != nil {
		t.Fatal(err)
	}
	lastAllow := strings.LastIndex(profile, "(allow ")
	firstProtect := strings.Index(profile, `(deny file-write* (subpath "`+macProject+`/.pent.toml")`)
	if firstProtect < 0 || firstProtect < lastAllow {
		t.Fatalf("protected denial at %d, last allow at %d:\n%s", firstProtect, lastAllow, profile)
	}
}

func TestSBPLCanonicalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/tmp", "/private/tmp"},
		{"/tmp/x/../y", "/private/tmp/y"},
		{"/var/folders/ab/T", "/private/var/folders/ab/T"},
		{"/etc/hosts", "/private/etc/hosts"},
		{"/etcetera", "/etcetera"},
		{"/variable/x", "/variable/x"},
		{"/private/var/x", "/private/var/x"},
		{"/Users/alice/", "/Users/alice"},
		{"/", "/"},
		{"/Users/a b/(c)", "/Users/a b/(c)"},
	}
	for _, tt := range tests {
		got, err := canonicalPath(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("canonicalPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSBPLString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/plain", `"/plain"`},
		{`/a "quoted" dir`, `"/a \"quoted\" dir"`},
		{`/back\slash`, `"/back\\slash"`},
		{`/end\`, `"/end\\"`},
		{`/\"`, `"/\\\""`},
		{"/paren (1)", `"/paren (1)"`},
		{"/ünïcode/日本", `"/ünïcode/日本"`},
		{"/semi;colon #x", `"/semi;colon #x"`},
	}
	for _, tt := range tests {
		got := sbplString(tt.in)
		if got != tt.want {
			t.Errorf("sbplString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		top, err := parseSBPL("(literal " + got + ")")
		if err != nil || len(top) != 1 || top[0].list[1].atom != tt.in {
			t.Errorf("sbplString(%q) does not read back: %v %+v", tt.in, err, top)
		}
	}
}

func TestSBPLRejects(t *testing.T) {
	bad := map[string]string{
		"newline":       "/Users/alice/a\nb",
		"carriage":      "/a\rb",
		"nul":           "/a\x00b",
		"tab":           "/a\tb",
		"escape":        "/a\x1b[31m",
		"delete":        "/a\x7f",
		"c1 control":    "/a\u0085b",
		"invalid utf-8": "/a\xffb",
		"relative":      "relative/path",
		"empty":         "",
	}
	for name, path := range bad {
		for field, set := range map[string]func(*Profile){
			"Read":      func(p *Profile) { p.Read = append(p.Read, path) },
			"Write":     func(p *Profile) { p.Write = append(p.Write, path) },
			"Execute":   func(p *Profile) { p.Execute = append(p.Execute, path) },
			"Traverse":  func(p *Profile) { p.Traverse = append(p.Traverse, path) },
			"Protected": func(p *Profile) { p.Protected = append(p.Protected, path) },
			"Hidden":    func(p *Profile) { p.Hidden = append(p.Hidden, path) },
		} {
			p := macDefault()
			set(&p)
			if out, err := SBPL(p); err == nil {
				t.Errorf("%s path in %s: SBPL succeeded, want an error:\n%s", name, field, out)
			}
		}
		if name != "empty" {
			if _, err := SBPL(withRun(macDefault(), path, 0)); err == nil {
				t.Errorf("%s TmpDir: SBPL succeeded, want an error", name)
			}
		}
	}
}

func TestSBPLNetworkOptions(t *testing.T) {
	tests := []struct {
		network scope.Network
		port    int
		ok      bool
		want    string
	}{
		{scope.NetProxy, 8080, true, `(allow network-outbound (remote tcp "localhost:8080"))`},
		{scope.NetProxy, 0, false, ""},
		{scope.NetProxy, -1, false, ""},
		{scope.NetProxy, 65536, false, ""},
		{scope.NetBlocked, 0, true, "; No socket may connect"},
		{scope.NetBlocked, 8080, false, ""},
		{scope.NetLocalhost, 0, true, `(allow network-outbound (remote ip "localhost:*"))`},
		{scope.NetUnrestricted, 0, true, `(allow network-outbound (remote ip "*:*"))`},
		{scope.NetUnrestricted, 1, false, ""},
		{"wide-open", 0, false, ""},
	}
	for _, tt := range tests {
		p := macDefault()
		p.Network = tt.network
		out, err := SBPL(withRun(p, "", tt.port))
		if (err == nil) != tt.ok {
			t.Errorf("%s port %d: err = %v, want ok=%v", tt.network, tt.port, err, tt.ok)
			continue
		}
		if tt.ok && !strings.Contains(out, tt.want) {
			t.Errorf("%s port %d: profile lacks %q", tt.network, tt.port, tt.want)
		}
		if !tt.ok {
			continue
		}
		// Only the open modes name a remote other than the proxy, and
		// only unrestricted reaches beyond loopback.
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "(allow network") && tt.network == scope.NetBlocked {
				t.Errorf("blocked profile allows %s", line)
			}
			if strings.Contains(line, `"*:*"`) && tt.network != scope.NetUnrestricted {
				t.Errorf("%s profile allows %s", tt.network, line)
			}
		}
	}
}

// TestSBPLUnixSockets checks that a UNIX socket is closed to connect and
// bind in every mode, whatever file rules cover its path (Seatbelt checks
// connect(2) on one as network-outbound), except the one socket a mode
// names: mDNSResponder's, in unrestricted mode.
func TestSBPLUnixSockets(t *testing.T) {
	const mdns = "/private/var/run/mDNSResponder"
	for _, n := range scope.Networks {
		p := macDefault()
		p.Network = n
		p.Write = append(p.Write, "/private/var/run", macHome+"/.ssh")
		if n == scope.NetProxy {
			p.ProxyPort = 1
		}
		out, err := SBPL(p)
		if err != nil {
			t.Fatal(err)
		}
		rules := rulesOf(t, out)
		for _, sock := range []string{"/private/var/run/docker.sock", macHome + "/.ssh/agent.sock", "/private/var/run/syslog", macProject + "/app.sock"} {
			if !decide(rules, "file-write-data", sock) {
				t.Fatalf("%s: the test's write grant does not cover %s", n, sock)
			}
			for _, op := range []string{"network-outbound", "network-bind"} {
				if decide(rules, op, sock) {
					t.Errorf("%s profile: %s %s allowed, want denied although a file rule covers it", n, op, sock)
				}
			}
		}
		if got, want := decide(rules, "network-outbound", mdns), n == scope.NetUnrestricted; got != want {
			t.Errorf("%s profile: network-outbound %s = %v, want %v", n, mdns, got, want)
		}
	}
}

// TestSBPLNeverOpens checks that no profile allows what starts code outside
// the sandbox (open(1) through LaunchServices, Apple Events, launchd jobs),
// and that the denials come last, after every allow rule.
func TestSBPLNeverOpens(t *testing.T) {
	for _, g := range sbplGoldens {
		out, err := SBPL(withRun(g.p(), g.tmp, g.port))
		if err != nil {
			t.Fatal(err)
		}
		rules := rulesOf(t, out)
		for _, op := range []string{"lsopen", "appleevent-send", "job-creation"} {
			for _, r := range rules {
				if r.allow && r.coversOp(op) {
					t.Errorf("%s profile: a rule allows %s: %v", g.name, op, r.ops)
				}
			}
			if decide(rules, op, "/Applications/Terminal.app") {
				t.Errorf("%s profile allows %s", g.name, op)
			}
		}
		for _, svc := range []string{"com.apple.coreservices.launchservicesd", "com.apple.coreservices.appleevents"} {
			if strings.Contains(out, "(allow mach-lookup (global-name \""+svc) {
				t.Errorf("%s profile allows mach-lookup of %s", g.name, svc)
			}
		}
		if last := strings.LastIndex(out, "(allow "); last > strings.Index(out, "(deny lsopen)") {
			t.Errorf("%s profile: an allow rule follows (deny lsopen)", g.name)
		}
	}
}

// TestSBPLTrust checks that every mode with a network lets Security.framework
// verify certificates (Go's crypto/x509 asks trustd), and blocked does not.
func TestSBPLTrust(t *testing.T) {
	for _, n := range scope.Networks {
		p := macDefault()
		p.Network = n
		if n == scope.NetProxy {
			p.ProxyPort = 1
		}
		out, err := SBPL(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range []string{"com.apple.trustd.agent", "com.apple.trustd", "com.apple.SecurityServer", "com.apple.ocspd"} {
			if got, want := strings.Contains(out, `(global-name "`+svc+`")`), n != scope.NetBlocked; got != want {
				t.Errorf("%s profile: mach-lookup of %s = %v, want %v", n, svc, got, want)
			}
		}
	}
}

// TestSBPLDeterministic guards the golden files against map-order or
// duplicate drift.
func TestSBPLDeterministic(t *testing.T) {
	p := npmProfile()
	p.Write = append(p.Write, p.Write...)
	a, err := SBPL(withRun(p, "", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SBPL(withRun(npmProfile(), "", 1))
	if a != b {
		t.Error("duplicate policy paths changed the profile")
	}
	if n := strings.Count(a, `(subpath "`+macHome+`/.npm")`); n != 1 {
		t.Errorf("~/.npm granted %d times", n)
	}
}

func TestSBPLAncestors(t *testing.T) {
	got := ancestors("/Users/alice/src/app")
	want := []string{"/Users", "/Users/alice", "/Users/alice/src"}
	if !slices.Equal(got, want) {
		t.Errorf("ancestors = %q, want %q", got, want)
	}
	if got := ancestors("/"); len(got) != 0 {
		t.Errorf("ancestors(/) = %q", got)
	}
}

// FuzzSBPLPath checks that any path either is refused or comes out as a
// well-formed profile whose string literal reads back as the canonical path.
func FuzzSBPLPath(f *testing.F) {
	for _, seed := range []string{"/Users/a", `/a"b`, `/a\b`, "/a\nb", "/tmp/x", "/(x) y", "/\xff", `/\"\\`, "rel"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p := Profile{Network: scope.NetBlocked, Write: []string{path}}
		out, err := SBPL(p)
		if err != nil {
			return
		}
		want, err := canonicalPath(path)
		if err != nil {
			t.Fatalf("SBPL accepted %q that canonicalPath refuses: %v", path, err)
		}
		rules := rulesOf(t, out)
		if !decide(rules, "file-write-data", want) {
			t.Fatalf("the profile for %q does not let %q be written:\n%s", path, want, out)
		}
		if want != "/" && decide(rules, "file-write-data", want+"-sibling") {
			t.Fatalf("the profile for %q lets a sibling be written:\n%s", path, out)
		}
	})
}
