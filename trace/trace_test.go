package trace

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/scope"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func testHinter(t *testing.T) Hinter {
	t.Helper()
	allow, err := proxy.ParseAllowlist([]string{"allowed.test:443", "*.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return Hinter{Home: "/home/u", Config: ".pent.toml", Allow: allow,
		HostExecuted: scope.HostExecutedLocations("/home/u", []string{"/usr/bin"}, "")}
}

func TestHints(t *testing.T) {
	h := testHinter(t)
	for _, tc := range []struct {
		name string
		got  Entry
		ok   bool
		want Entry
	}{
		{"hidden read", h.File(sandbox.FileDenial{Time: t0, PID: 3, Command: "cat", Op: sandbox.OpRead,
			Path: "/home/u/.config/tool/settings", Rule: "/home/u/.config/tool/settings", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "~/.config/tool/settings", PID: 3, Command: "cat",
				Fix:  &Fix{TablePaths, "read", "~/.config/tool/settings"},
				Hint: `add "~/.config/tool/settings" to [sandbox.paths] read in .pent.toml`}},
		{"create needs the directory, which a profile grants", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpCreate,
			Path: "/home/u/.cargo/x", Rule: "/home/u/.cargo", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "create", Target: "~/.cargo/x", Fix: &Fix{TableTop, KeyProfiles, "@cargo"},
				Hint: `add "@cargo" to profiles in .pent.toml (it grants ~/.cargo; or add "~/.cargo" to [sandbox.paths] read_write)`}},
		{"exec outside home", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpExec,
			Path: "/opt/x/bin/tool", Rule: "/opt/x/bin/tool", Grant: sandbox.GrantExecute}), true,
			Entry{Kind: KindFile, Op: "exec", Target: "/opt/x/bin/tool", Fix: &Fix{TablePaths, "execute", "/opt/x/bin/tool"},
				Hint: `add "/opt/x/bin/tool" to [sandbox.paths] execute in .pent.toml`}},
		{"no grant in a PATH directory", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpCreate,
			Path: "/home/u/.local/bin/tool", Rule: "/home/u/.local/bin", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "create", Target: "~/.local/bin/tool",
				Hint: "pent does not suggest a write grant for ~/.local/bin: ~/.local/bin runs or is trusted outside the sandbox (a directory on PATH); change it outside the sandbox"}},
		{"no grant of an rc file", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpWrite,
			Path: "/home/u/.bashrc", Rule: "/home/u/.bashrc", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "write", Target: "~/.bashrc",
				Hint: "pent does not suggest a write grant for ~/.bashrc: ~/.bashrc runs or is trusted outside the sandbox (interactive bash sources it); change it outside the sandbox"}},
		{"reading a host-executed file is fine, and @git grants it", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead,
			Path: "/home/u/.gitconfig", Rule: "/home/u/.gitconfig", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "~/.gitconfig", Fix: &Fix{TableTop, KeyProfiles, "@git"},
				Hint: `add "@git" to profiles in .pent.toml (it grants ~/.gitconfig; or add "~/.gitconfig" to [sandbox.paths] read)`}},
		{"a probe of a hidden file names the profile", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpProbe,
			Path: "/home/u/.gitconfig", Rule: "/home/u/.gitconfig", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "probe", Target: "~/.gitconfig", Fix: &Fix{TableTop, KeyProfiles, "@git"},
				Hint: `add "@git" to profiles in .pent.toml (it grants ~/.gitconfig; or add "~/.gitconfig" to [sandbox.paths] read)`}},
		{"the most specific profile", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead,
			Path: "/home/u/.npmrc", Rule: "/home/u/.npmrc", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "~/.npmrc", Fix: &Fix{TableTop, KeyProfiles, "@npm"},
				Hint: `add "@npm" to profiles in .pent.toml (it grants ~/.npmrc; or add "~/.npmrc" to [sandbox.paths] read)`}},
		{"no secret", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead,
			Path: "/home/u/.ssh/id_ed25519", Rule: "/home/u/.ssh/id_ed25519", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "~/.ssh/id_ed25519",
				Hint: "pent does not suggest ~/.ssh/id_ed25519: it holds secrets (~/.ssh/id_*, SSH private keys); grant it yourself only if the command must have them"}},
		{"no secret even where a profile grants it", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpProbe,
			Path: "/home/u/.local/share/keyrings", Rule: "/home/u/.local/share/keyrings", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "probe", Target: "~/.local/share/keyrings",
				Hint: "pent does not suggest ~/.local/share/keyrings: it holds secrets (~/.local/share/keyrings, Secret Service keyrings); grant it yourself only if the command must have them"}},
		{"no agent sockets", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpProbe,
			Path: "/run/user/1000/bus", Rule: "/run/user/1000/bus", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "probe", Target: "/run/user/1000/bus",
				Hint: "pent does not suggest /run/user/1000/bus: it holds secrets (/run/user, the session's sockets: ssh and gpg agents, D-Bus, keyrings); grant it yourself only if the command must have them"}},
		{"a new directory in home is granted by name, not home", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpCreate,
			Path: "/home/u/newdir", Rule: "/home/u", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "create", Target: "~/newdir", Fix: &Fix{TablePaths, "read_write", "~/newdir"},
				Hint: `add "~/newdir" to [sandbox.paths] read_write in .pent.toml`}},
		{"never home wholesale", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead,
			Path: "/home/u", Rule: "/home/u", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "~",
				Hint: "pent does not suggest ~: it would grant ~ wholesale; name the files the command needs"}},
		{"never /home", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpDelete,
			Path: "/home/u", Rule: "/home", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "delete", Target: "~",
				Hint: "pent does not suggest ~: it would grant ~ wholesale; name the files the command needs"}},
		{"never /", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpCreate,
			Path: "/", Rule: "/", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "create", Target: "/",
				Hint: "pent does not suggest /: it would grant / wholesale; name the files the command needs"}},
		{"a control group stands for all of them", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead,
			Path:  "/sys/fs/cgroup/memory/process_api/0704687c3573b334b1818810d46f8536/memory.limit_in_bytes",
			Rule:  "/sys/fs/cgroup/memory/process_api/0704687c3573b334b1818810d46f8536/memory.limit_in_bytes",
			Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "/sys/fs/cgroup/memory/process_api/0704687c3573b334b1818810d46f8536/memory.limit_in_bytes",
				Fix:  &Fix{TablePaths, "read", "/sys/fs/cgroup"},
				Hint: `add "/sys/fs/cgroup" to [sandbox.paths] read in .pent.toml (/sys/fs/cgroup stands for /sys/fs/cgroup/memory/process_api/0704687c3573b334b1818810d46f8536/memory.limit_in_bytes, this host's control groups)`}},
		{"no writes to kernel state", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpWrite,
			Path: "/sys/fs/cgroup/memory/memory.limit_in_bytes", Rule: "/sys/fs/cgroup/memory/memory.limit_in_bytes", Grant: sandbox.GrantWrite}), true,
			Entry{Kind: KindFile, Op: "write", Target: "/sys/fs/cgroup/memory/memory.limit_in_bytes",
				Hint: "pent does not suggest /sys/fs/cgroup/memory/memory.limit_in_bytes: pent never suggests changing kernel state (/proc, /sys)"}},
		{"no process directory", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead,
			Path: "/proc/12/environ", Rule: "/proc/12/environ", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "read", Target: "/proc/12/environ",
				Hint: "pent does not suggest /proc/12/environ: it names one process of one run (/proc/PID)"}},
		{"no per-boot id", h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpProbe,
			Path: "/run/systemd/sessions/4b0e6c1e-6d2a-4a3e-9d0e-1f2a3b4c5d6e/state", Rule: "/run/systemd/sessions/4b0e6c1e-6d2a-4a3e-9d0e-1f2a3b4c5d6e/state", Grant: sandbox.GrantRead}), true,
			Entry{Kind: KindFile, Op: "probe", Target: "/run/systemd/sessions/4b0e6c1e-6d2a-4a3e-9d0e-1f2a3b4c5d6e/state",
				Hint: "pent does not suggest /run/systemd/sessions/4b0e6c1e-6d2a-4a3e-9d0e-1f2a3b4c5d6e/state: it holds only on this host (4b0e6c1e-6d2a-4a3e-9d0e-1f2a3b4c5d6e is an id of this machine, boot or session)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Time, tc.want.Last, tc.want.Count = t0, t0, 1
			if protected := tc.got.Hint == "pent protects ~/p/.pent.toml from the sandbox; change it outside the sandbox"; (tc.got.Fix == nil && !protected) != (tc.got.Skip != nil) {
				t.Errorf("an entry without a fix must say what it skipped: %+v", tc.got)
			}
			if !equalEntry(tc.got, tc.want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", tc.got, tc.got.Fix, tc.want, tc.want.Fix)
			}
		})
	}
}

func TestNetworkHints(t *testing.T) {
	h := testHinter(t)
	for _, tc := range []struct {
		name   string
		d      proxy.Decision
		ok     bool
		target string
		fix    *Fix
	}{
		{"denied name", proxy.Decision{Action: "deny", Kind: "dns", Name: "denied.test", Reason: "A query"}, true,
			"denied.test", &Fix{TableProxy, KeyAllow, "denied.test"}},
		{"allowed name denied port", proxy.Decision{Action: "deny", Kind: "tcp", Name: "allowed.test", Port: 8443, Reason: "port"}, true,
			"allowed.test:8443", &Fix{TableProxy, KeyAllow, "allowed.test:8443"}},
		{"denied name on a connect", proxy.Decision{Action: "deny", Kind: "connect", Name: "api.other.test", Port: 443}, true,
			"api.other.test:443", &Fix{TableProxy, KeyAllow, "api.other.test"}},
		{"raw ip", proxy.Decision{Action: "deny", Kind: "tcp", Port: 80, Addr: "10.0.0.1:80", Reason: "raw IP connection"}, true,
			"10.0.0.1:80", nil},
		{"allowed name and port, refused range", proxy.Decision{Action: "deny", Kind: "tcp", Name: "a.example.com", Port: 80, Reason: "refused destination"}, true,
			"a.example.com:80", nil},
		{"allowed", proxy.Decision{Action: "allow", Kind: "dns", Name: "allowed.test"}, false, "", nil},
		{"upstream failure", proxy.Decision{Action: "deny", Kind: "tcp", Name: "allowed.test", Port: 443, Reason: "upstream failed: refused"}, false, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := h.Network(tc.d)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if e.Target != tc.target || (e.Fix == nil) != (tc.fix == nil) || (e.Fix != nil && *e.Fix != *tc.fix) || e.Hint == "" {
				t.Errorf("got %+v fix %+v, want target %q fix %+v", e, e.Fix, tc.target, tc.fix)
			}
		})
	}
}

// TestNetworkProcess: a denial the proxy attributed names the sandbox's
// process; one it could not names the pent process that opened the session.
func TestNetworkProcess(t *testing.T) {
	h := testHinter(t)
	for _, tc := range []struct {
		d       proxy.Decision
		pid     int
		command string
		holders int
	}{
		{proxy.Decision{Action: "deny", Kind: "dns", Name: "denied.test", PID: 4242, Comm: "node", ProcPID: 7}, 7, "node", 1},
		{proxy.Decision{Action: "deny", Kind: "dns", Name: "denied.test", PID: 4242}, 4242, "pent", 0},
		// The name is the sandboxed program's choice: "pent" or no name at
		// all is still an attributed process.
		{proxy.Decision{Action: "deny", Kind: "dns", Name: "denied.test", PID: 4242, Comm: "pent", ProcPID: 9}, 9, "pent", 1},
		{proxy.Decision{Action: "deny", Kind: "dns", Name: "denied.test", PID: 4242, ProcPID: 9, Holders: 3}, 9, "", 3},
	} {
		e, ok := h.Network(tc.d)
		if !ok || e.PID != tc.pid || e.Command != tc.command || e.Holders != tc.holders {
			t.Errorf("%+v: entry %+v, want %s[%d] of %d holders", tc.d, e, tc.command, tc.pid, tc.holders)
		}
	}
}

// equalEntry compares entries by value; a Skip must be what the hint says.
func equalEntry(a, b Entry) bool {
	if (a.Fix == nil) != (b.Fix == nil) || (a.Fix != nil && *a.Fix != *b.Fix) {
		return false
	}
	for _, e := range []Entry{a, b} {
		if e.Skip != nil && e.Skip.String() != e.Hint {
			return false
		}
	}
	a.Fix, b.Fix, a.Skip, b.Skip = nil, nil, nil, nil
	return a == b
}

func TestRecorderAggregates(t *testing.T) {
	r := NewRecorder(testHinter(t))
	d := sandbox.FileDenial{Time: t0, PID: 7, Command: "cat", Op: sandbox.OpRead, Path: "/etc/shadow", Rule: "/etc/shadow", Grant: sandbox.GrantRead}
	r.AddFile(d)
	d.Time, d.PID = t0.Add(time.Second), 8
	r.AddFile(d)
	d.Op = sandbox.OpWrite
	r.AddFile(d)
	// Decision lines arrive from the proxy log, possibly split.
	line := `{"time":"2026-11-27T10:00:05Z","action":"deny","kind":"dns","name":"denied.test","reason":"x","pid":9}` + "\n"
	r.Write([]byte(line[:20]))
	r.Write([]byte(line[20:] + line))
	r.Write([]byte(`{"time":"2026-11-27T10:00:06Z","action":"allow","kind":"dns","name":"allowed.test","reason":"x"}` + "\n"))
	got := r.Entries()
	if len(got) != 3 {
		t.Fatalf("want 3 entries, got %+v", got)
	}
	if got[0].Count != 2 || got[0].PID != 7 || !got[0].Last.Equal(t0.Add(time.Second)) {
		t.Errorf("repeats not folded: %+v", got[0])
	}
	if got[1].Op != "write" || got[1].Count != 1 {
		t.Errorf("a write is not a read: %+v", got[1])
	}
	if got[2].Target != "denied.test" || got[2].Count != 2 {
		t.Errorf("split decision lines: %+v", got[2])
	}
}

func TestLogRoundTripAndMerge(t *testing.T) {
	h := testHinter(t)
	run1 := []Entry{h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead, Path: "/home/u/.npmrc", Rule: "/home/u/.npmrc", Grant: sandbox.GrantRead})}
	run2 := run1[0]
	run2.Time, run2.Last, run2.Count = t0.Add(time.Hour), t0.Add(time.Hour), 3
	var buf bytes.Buffer
	if err := Append(&buf, run1); err != nil {
		t.Fatal(err)
	}
	if err := Append(&buf, []Entry{run2}); err != nil {
		t.Fatal(err)
	}
	entries, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	merged := Merge(entries)
	if len(merged) != 1 || merged[0].Count != 4 || !merged[0].Time.Equal(t0) || !merged[0].Last.Equal(t0.Add(time.Hour)) {
		t.Fatalf("merged: %+v", merged)
	}
	var out bytes.Buffer
	if err := Show(&out, merged); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"denied reads (1)", "~/.npmrc  4x", `add "@npm" to profiles in .pent.toml (it grants ~/.npmrc; or add "~/.npmrc" to [sandbox.paths] read)`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, out.String())
		}
	}
}

// TestShowEscapes: a file name chosen by the sandboxed command cannot drive
// the terminal that reads the trace.
func TestShowEscapes(t *testing.T) {
	var out bytes.Buffer
	e := Entry{Kind: "file", Op: "read", Target: "/tmp/\x1b]0;owned\x07x", Count: 1, Command: "c\x1b[2K", Hint: "h\rx"}
	if err := Show(&out, []Entry{e}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\x1b\x07\r") || !strings.Contains(out.String(), `/tmp/\x1b]0;owned\x07x`) {
		t.Errorf("control characters reached the output: %q", out.String())
	}
}

// TestAppendTerminalSafe: the trace log, which `pent trace show --json`
// prints, writes a command name with a bidi override, a C1 control or a
// format character as JSON escapes.
func TestAppendTerminalSafe(t *testing.T) {
	var out bytes.Buffer
	e := Entry{Kind: KindNetwork, Op: OpDNS, Target: "x.test", Count: 1, Command: "\u202eevil\u009b31m\u200f", PID: 7, Hint: "h"}
	if err := Append(&out, []Entry{e}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\u202e\u009b\u200f") || !strings.Contains(out.String(), `\u202eevil\u009b31m\u200f`) {
		t.Errorf("format or control characters reached the output: %q", out.String())
	}
	got, err := Read(&out)
	if err != nil || len(got) != 1 || got[0].Command != e.Command {
		t.Errorf("read back %+v (%v), want the command %q", got, err, e.Command)
	}
}

func TestReadRejectsBadLines(t *testing.T) {
	for _, line := range []string{
		`{"kind":"file","op":"read","target":"/x","count":0,"hint":""}`,
		`{"kind":"disk","op":"read","target":"/x","count":1,"hint":""}`,
		`{"kind":"file","op":"read","target":"","count":1,"hint":""}`,
		`{"kind":"file","op":"read","target":"/x","count":1,"hint":"","fix":{"table":"sandbox","key":"network","value":"x"}}`,
		`{"kind":"file","op":"read","target":"/x","count":1,"hint":"","extra":1}`,
		`not json`,
	} {
		if _, err := Read(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("accepted %s", line)
		}
	}
}

func TestSuggestMerges(t *testing.T) {
	h := testHinter(t)
	entries := []Entry{
		{Kind: KindNetwork, Fix: &Fix{TableProxy, KeyAllow, "denied.test"}},
		{Kind: KindFile, Fix: &Fix{TablePaths, "read", "~/.config/tool"}},
		{Kind: KindFile, Fix: &Fix{TablePaths, "read", "~/.config/tool"}},
		{Kind: KindFile, Fix: &Fix{TablePaths, "read_write", "~/data/x"}},
		{Kind: KindFile, Fix: &Fix{TablePaths, "execute", "~/tools/tool"}},
		{Kind: KindFile, Fix: &Fix{TableTop, KeyProfiles, "@git"}},
		{Kind: KindNetwork, Fix: &Fix{TableProxy, KeyAllow, "allowed.test:8443"}},
		{Kind: KindFile}, // protected: nothing to suggest
	}
	got := h.Suggest(entries).TOML()
	want := `profiles = ["@git"]

[sandbox.paths]
read = ["~/.config/tool"]
execute = ["~/tools/tool"]
read_write = ["~/data/x"]

[proxy]
domain_allowlist = ["denied.test", "allowed.test:8443"]
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !h.Suggest(entries[7:]).Empty() {
		t.Error("a protected denial suggested something")
	}
	key := h.File(sandbox.FileDenial{Time: t0, Op: sandbox.OpRead, Path: "/home/u/.ssh/id_ed25519", Rule: "/home/u/.ssh/id_ed25519", Grant: sandbox.GrantRead})
	if s := h.Suggest([]Entry{key}); !s.Empty() || len(s.Skipped) != 1 || s.Skipped[0].What != "~/.ssh/id_ed25519" {
		t.Errorf("a skipped denial is not listed as skipped: %+v", s)
	}
}

// TestSuggestIsSafe: fixes read back from a log (an older pent wrote them,
// or someone edited the log) are checked again as new ones are made: the
// unsafe ones are skipped with their reason, host-specific ones
// generalised, the ones a profile grants replaced by the profile.
func TestSuggestIsSafe(t *testing.T) {
	h := testHinter(t)
	for _, tc := range []struct {
		name    string
		fix     Fix
		want    string // the TOML, "" when skipped
		skipped string
		note    string
	}{
		{"ssh key", Fix{TablePaths, "read", "~/.ssh/id_ed25519"}, "",
			"pent does not suggest ~/.ssh/id_ed25519: it holds secrets (~/.ssh/id_*, SSH private keys); grant it yourself only if the command must have them", ""},
		{"the whole ssh directory", Fix{TablePaths, "read", "~/.ssh"}, "",
			"pent does not suggest ~/.ssh: it holds secrets (~/.ssh/id_*, SSH private keys); grant it yourself only if the command must have them", ""},
		{"aws", Fix{TablePaths, "read", "~/.aws/credentials"}, "",
			"pent does not suggest ~/.aws/credentials: it holds secrets (~/.aws, AWS credentials); grant it yourself only if the command must have them", ""},
		{"gnupg", Fix{TablePaths, "read_write", "~/.gnupg"}, "",
			"pent does not suggest ~/.gnupg: it holds secrets (~/.gnupg, GnuPG private keys); grant it yourself only if the command must have them", ""},
		{"home", Fix{TablePaths, "read_write", "~"}, "", "pent does not suggest ~: it would grant ~ wholesale; name the files the command needs", ""},
		{"home spelt out", Fix{TablePaths, "read", "/home/u/"}, "", "pent does not suggest ~: it would grant ~ wholesale; name the files the command needs", ""},
		{"/home", Fix{TablePaths, "read_write", "/home"}, "", "pent does not suggest /home: it would grant /home wholesale; name the files the command needs", ""},
		{"/", Fix{TablePaths, "read", "/"}, "", "pent does not suggest /: it would grant / wholesale; name the files the command needs", ""},
		{"rc file", Fix{TablePaths, "read_write", "~/.zshrc"}, "",
			"pent does not suggest a write grant for ~/.zshrc: ~/.zshrc runs or is trusted outside the sandbox (interactive zsh sources it); change it outside the sandbox", ""},
		{"PATH directory", Fix{TablePaths, "read_write", "/usr/bin"}, "",
			"pent does not suggest a write grant for /usr/bin: /usr/bin runs or is trusted outside the sandbox (a directory on PATH); change it outside the sandbox", ""},
		{"no write outside home: /etc/cron.d", Fix{TablePaths, "read_write", "/etc/cron.d"}, "",
			"pent does not suggest a write grant for /etc/cron.d: it lies outside your home directory, where the system's programs and services run or trust files (/etc, /usr, /var, /opt…); change it outside the sandbox, or write to a directory of your home or /tmp, which is private inside", ""},
		{"no write outside home: /etc/ld.so.preload", Fix{TablePaths, "read_write", "/etc/ld.so.preload"}, "",
			"pent does not suggest a write grant for /etc/ld.so.preload: it lies outside your home directory, where the system's programs and services run or trust files (/etc, /usr, /var, /opt…); change it outside the sandbox, or write to a directory of your home or /tmp, which is private inside", ""},
		{"no write outside home: /var/lib/dpkg/info", Fix{TablePaths, "read_write", "/var/lib/dpkg/info"}, "",
			"pent does not suggest a write grant for /var/lib/dpkg/info: it lies outside your home directory, where the system's programs and services run or trust files (/etc, /usr, /var, /opt…); change it outside the sandbox, or write to a directory of your home or /tmp, which is private inside", ""},
		{"no write outside home: /opt/tool", Fix{TablePaths, "read_write", "/opt/tool"}, "",
			"pent does not suggest a write grant for /opt/tool: it lies outside your home directory, where the system's programs and services run or trust files (/etc, /usr, /var, /opt…); change it outside the sandbox, or write to a directory of your home or /tmp, which is private inside", ""},
		{"no write outside home: /srv/www", Fix{TablePaths, "read_write", "/srv/www"}, "",
			"pent does not suggest a write grant for /srv/www: it lies outside your home directory, where the system's programs and services run or trust files (/etc, /usr, /var, /opt…); change it outside the sandbox, or write to a directory of your home or /tmp, which is private inside", ""},
		{"E10 a directory that holds a host-executed file", Fix{TablePaths, "read_write", "~/.config/go"}, "",
			"pent does not suggest a write grant for ~/.config/go: it holds ~/.config/go/env, which runs or is trusted outside the sandbox (host go runs the programs it names, as GOFLAGS=-toolexec); grant the files the command writes by name", ""},
		{"a profile's directory that holds a host-executed one", Fix{TablePaths, "read_write", "~/.cargo"}, "profiles = [\"@cargo\"]\n", "", ""},
		{"reading outside home is fine", Fix{TablePaths, "read", "/etc/tool.conf"}, "[sandbox.paths]\nread = [\"/etc/tool.conf\"]\n", "", ""},
		{"E10 .bash_aliases", Fix{TablePaths, "read_write", "~/.bash_aliases"}, "",
			"pent does not suggest a write grant for ~/.bash_aliases: ~/.bash_aliases runs or is trusted outside the sandbox (interactive bash sources it from the default ~/.bashrc); change it outside the sandbox", ""},
		{"E10 .local/share/applications", Fix{TablePaths, "read_write", "~/.local/share/applications"}, "",
			"pent does not suggest a write grant for ~/.local/share/applications: ~/.local/share/applications runs or is trusted outside the sandbox (the desktop runs the commands its entries name); change it outside the sandbox", ""},
		{"E10 .local/share/systemd", Fix{TablePaths, "read_write", "~/.local/share/systemd"}, "",
			"pent does not suggest a write grant for ~/.local/share/systemd: ~/.local/share/systemd runs or is trusted outside the sandbox (the systemd user manager runs its units); change it outside the sandbox", ""},
		{"E10 .vscode/extensions", Fix{TablePaths, "read_write", "~/.vscode/extensions"}, "",
			"pent does not suggest a write grant for ~/.vscode/extensions: ~/.vscode/extensions runs or is trusted outside the sandbox (host VS Code runs its extensions); change it outside the sandbox", ""},
		{"E10 .pki", Fix{TablePaths, "read_write", "~/.pki"}, "",
			"pent does not suggest a write grant for ~/.pki: ~/.pki runs or is trusted outside the sandbox (host browsers and tools trust its NSS certificates); change it outside the sandbox", ""},
		{"E10 .config/emacs", Fix{TablePaths, "read_write", "~/.config/emacs"}, "",
			"pent does not suggest a write grant for ~/.config/emacs: ~/.config/emacs runs or is trusted outside the sandbox (host emacs runs it); change it outside the sandbox", ""},
		{"E10 .config/go/env", Fix{TablePaths, "read_write", "~/.config/go/env"}, "",
			"pent does not suggest a write grant for ~/.config/go/env: ~/.config/go/env runs or is trusted outside the sandbox (host go runs the programs it names, as GOFLAGS=-toolexec); change it outside the sandbox", ""},
		{"E2 ~/.config/github-copilot/hosts.json", Fix{TablePaths, "read", "~/.config/github-copilot/hosts.json"}, "",
			"pent does not suggest ~/.config/github-copilot/hosts.json: it holds secrets (~/.config/github-copilot, GitHub Copilot's tokens); grant it yourself only if the command must have them", ""},
		{"E2 ~/.bash_history", Fix{TablePaths, "read", "~/.bash_history"}, "",
			"pent does not suggest ~/.bash_history: it holds secrets (~/.bash_history, shell history, which holds typed tokens and passwords); grant it yourself only if the command must have them", ""},
		{"E2 ~/.zsh_history", Fix{TablePaths, "read", "~/.zsh_history"}, "",
			"pent does not suggest ~/.zsh_history: it holds secrets (~/.zsh_history, shell history, which holds typed tokens and passwords); grant it yourself only if the command must have them", ""},
		{"E2 ~/.local/share/fish/fish_history", Fix{TablePaths, "read", "~/.local/share/fish/fish_history"}, "",
			"pent does not suggest ~/.local/share/fish/fish_history: it holds secrets (~/.local/share/fish/fish_history, shell history, which holds typed tokens and passwords); grant it yourself only if the command must have them", ""},
		{"E2 ~/.mozilla/firefox/abc.default/logins.json", Fix{TablePaths, "read", "~/.mozilla/firefox/abc.default/logins.json"}, "",
			"pent does not suggest ~/.mozilla/firefox/abc.default/logins.json: it holds secrets (~/.mozilla, Firefox profiles: saved logins and cookies); grant it yourself only if the command must have them", ""},
		{"E2 ~/.config/google-chrome/Default/Cookies", Fix{TablePaths, "read", "~/.config/google-chrome/Default/Cookies"}, "",
			"pent does not suggest ~/.config/google-chrome/Default/Cookies: it holds secrets (~/.config/google-chrome, Chrome profiles: saved logins and cookies); grant it yourself only if the command must have them", ""},
		{"E2 ~/.config/chromium/Default/Login Data", Fix{TablePaths, "read", "~/.config/chromium/Default/Login Data"}, "",
			"pent does not suggest ~/.config/chromium/Default/Login Data: it holds secrets (~/.config/chromium, Chromium profiles: saved logins and cookies); grant it yourself only if the command must have them", ""},
		{"cgroup", Fix{TablePaths, "read", "/sys/fs/cgroup/memory/process_api/0704687c3573b334b1818810d46f8536/memory.limit_in_bytes"},
			"[sandbox.paths]\nread = [\"/sys/fs/cgroup\"]\n", "",
			"/sys/fs/cgroup stands for /sys/fs/cgroup/memory/process_api/0704687c3573b334b1818810d46f8536/memory.limit_in_bytes, this host's control groups"},
		{"proc", Fix{TablePaths, "read", "/proc/4242/status"}, "", "pent does not suggest /proc/4242/status: it names one process of one run (/proc/PID)", ""},
		{"relative", Fix{TablePaths, "read", "x/y"}, "", "pent does not suggest x/y: not an absolute path", ""},
		{"unknown profile", Fix{TableTop, KeyProfiles, "@nope"}, "", "pent does not suggest @nope: not a value pent's config has for profiles", ""},
		{"a profile grants it", Fix{TablePaths, "read", "~/.gitconfig"}, "profiles = [\"@git\"]\n", "", ""},
		{"plain path", Fix{TablePaths, "read", "~/.config/tool"}, "[sandbox.paths]\nread = [\"~/.config/tool\"]\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.Suggest([]Entry{{Kind: KindFile, Fix: &tc.fix}})
			if got := s.TOML(); got != tc.want {
				t.Errorf("TOML:\n%s\nwant:\n%s", got, tc.want)
			}
			var skipped []string
			for _, sk := range s.Skipped {
				skipped = append(skipped, sk.String())
			}
			if got := strings.Join(skipped, "\n"); got != tc.skipped {
				t.Errorf("skipped: %q\nwant     %q", got, tc.skipped)
			}
			if got := strings.Join(s.Notes, "\n"); got != tc.note {
				t.Errorf("notes: %q\nwant   %q", got, tc.note)
			}
		})
	}
}

// TestProbesFold: a path has one file entry. Checks of it fold into one
// probe; a denial of it takes the probe's place and counts its checks.
func TestProbesFold(t *testing.T) {
	h := testHinter(t)
	probe := sandbox.FileDenial{Time: t0, PID: 5, Command: "git", Op: sandbox.OpProbe, Path: "/home/u/.gitconfig", Rule: "/home/u/.gitconfig", Grant: sandbox.GrantRead}
	read := probe
	read.Op, read.Time, read.PID = sandbox.OpRead, t0.Add(time.Second), 6
	other := probe
	other.Path, other.Rule = "/home/u/.config/git/config", "/home/u/.config/git/config"
	late := probe
	late.Time, late.PID = t0.Add(2*time.Second), 7
	for _, tc := range []struct {
		name string
		in   []sandbox.FileDenial
		want []string // op target count pid
	}{
		{"checks fold", []sandbox.FileDenial{probe, probe, probe}, []string{"probe ~/.gitconfig 3 5"}},
		{"a denial after checks takes their place", []sandbox.FileDenial{probe, probe, other, read},
			[]string{"read ~/.gitconfig 3 5", "probe ~/.config/git/config 1 5"}},
		{"checks after a denial count as the denial", []sandbox.FileDenial{read, late}, []string{"read ~/.gitconfig 2 6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecorder(h)
			var all []Entry
			for _, d := range tc.in {
				r.AddFile(d)
				all = append(all, h.File(d))
			}
			for _, entries := range [][]Entry{r.Entries(), Merge(all)} {
				var got []string
				for _, e := range entries {
					got = append(got, fmt.Sprintf("%s %s %d %d", e.Op, e.Target, e.Count, e.PID))
				}
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("got  %q\nwant %q", got, tc.want)
				}
			}
		})
	}
}

func TestApply(t *testing.T) {
	s := Suggestion{Keys: []string{"sandbox.paths.read", "proxy.domain_allowlist"}, Values: map[string][]string{
		"sandbox.paths.read":     {"~/.aws/credentials"},
		"proxy.domain_allowlist": {"denied.test", "allowed.test:8443"},
	}}
	for _, tc := range []struct{ name, in, want string }{
		{"empty file", "", "[sandbox.paths]\nread = [\"~/.aws/credentials\"]\n\n[proxy]\ndomain_allowlist = [\"denied.test\", \"allowed.test:8443\"]\n"},
		{"existing arrays keep comments",
			"# top\n[sandbox.paths] # paths\nread = [\"~/.npmrc\"] # mine\n\n[proxy]\ndomain_allowlist = [\n  \"a.test\", # first\n  \"denied.test\",\n]\n",
			"# top\n[sandbox.paths] # paths\nread = [\"~/.npmrc\", \"~/.aws/credentials\"] # mine\n\n[proxy]\ndomain_allowlist = [\n  \"a.test\", # first\n  \"denied.test\",\n  \"allowed.test:8443\",\n]\n"},
		{"table without the key",
			"[sandbox]\nnetwork = \"proxy\"\n\n[sandbox.paths]\nexecute = []\n\n[proxy]\n# none yet\ndomain_allowlist = []\n",
			"[sandbox]\nnetwork = \"proxy\"\n\n[sandbox.paths]\nread = [\"~/.aws/credentials\"]\nexecute = []\n\n[proxy]\n# none yet\ndomain_allowlist = [\"denied.test\", \"allowed.test:8443\"]\n"},
		{"dotted key under a parent table",
			"[sandbox]\npaths.read = [\"/a\"]\n[proxy]\ndomain_allowlist = [\"x.test\"]",
			"[sandbox]\npaths.read = [\"/a\", \"~/.aws/credentials\"]\n[proxy]\ndomain_allowlist = [\"x.test\", \"denied.test\", \"allowed.test:8443\"]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply([]byte(tc.in), s)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			path := filepath.Join(t.TempDir(), ".pent.toml")
			if _, err := config.Parse(path, got, config.Project); err != nil {
				t.Errorf("the result does not parse as a project file: %v", err)
			}
			if err := os.WriteFile(path, got, 0o600); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := Apply([]byte("[sandbox]\npaths = { read = [\"/a\"] }\n"), s); err == nil {
		t.Error("an inline table was edited into something invalid without an error")
	}
}

// FuzzParseLine: any line is either a valid Entry that survives a round
// trip, or an error — never a panic.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-27T10:00:00Z","last":"2026-11-27T10:00:00Z","kind":"file","op":"read","target":"~/.aws/credentials","pid":3,"command":"cat","count":2,"fix":{"table":"sandbox.paths","key":"read","value":"~/.aws/credentials"},"hint":"add"}`))
	f.Add([]byte(`{"time":"2026-11-27T10:00:00Z","last":"2026-11-27T10:00:00Z","kind":"network","op":"dns","target":"denied.test","count":1,"hint":"x"}`))
	f.Add([]byte(`{"kind":"file"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Append(&buf, []Entry{e}); err != nil {
			t.Fatal(err)
		}
		again, err := ParseLine(bytes.TrimSpace(buf.Bytes()))
		if err != nil {
			t.Fatalf("round trip of %+v: %v", e, err)
		}
		// Times compare by instant: a location does not survive JSON.
		if !again.Time.Equal(e.Time) || !again.Last.Equal(e.Last) {
			t.Fatalf("round trip changed the times: %+v -> %+v", e, again)
		}
		again.Time, again.Last, e.Time, e.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !equalEntry(again, e) {
			t.Fatalf("round trip: %+v -> %+v", e, again)
		}
	})
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct{ name, before, after, want string }{
		{"new file", "", "[proxy]\ndomain_allowlist = [\"a.test\"]\n", "+ [proxy]\n+ domain_allowlist = [\"a.test\"]\n"},
		{"a changed line with context",
			"# top\nwrap = []\n\n[sandbox.paths]\nread = [\"~/.npmrc\"] # mine\n\n[proxy]\n",
			"# top\nwrap = []\n\n[sandbox.paths]\nread = [\"~/.npmrc\", \"~/x\"] # mine\n\n[proxy]\n",
			"  …\n  [sandbox.paths]\n- read = [\"~/.npmrc\"] # mine\n+ read = [\"~/.npmrc\", \"~/x\"] # mine\n  \n  …\n"},
		{"a top-level key", "wrap = []\n", "profiles = [\"@git\"]\nwrap = []\n", "+ profiles = [\"@git\"]\n  wrap = []\n"},
		{"no change", "a = 1\n", "a = 1\n", "  …\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff([]byte(tc.before), []byte(tc.after)); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
