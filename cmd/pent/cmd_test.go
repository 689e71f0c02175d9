package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/sandbox"
)

// testFactory is a Factory over a temporary HOME with captured streams.
func testFactory(t *testing.T, cwd string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	if cwd == "" {
		cwd = t.TempDir()
	}
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	f := &Factory{
		IO:    &IOStreams{In: os.Stdin, Out: out, ErrOut: errOut},
		Env:   map[string]string{"HOME": home, "PATH": "/usr/bin:/bin"},
		Getwd: func() (string, error) { return cwd, nil },
		Self:  "/usr/local/bin/pent",
	}
	return f, out, errOut
}

func TestExecuteExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{"no command", []string{"run"}, exitUsage, "needs a command"},
		{"unknown flag", []string{"run", "--bogus", "--", "true"}, exitUsage, "unknown flag"},
		{"bad network", []string{"run", "--network", "wide", "--", "true"}, exitUsage, "--network \"wide\""},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"unknown shell", []string{"hook", "tcsh"}, exitUsage, "unsupported shell"},
		{"bad format", []string{"config", "show", "--format", "yaml"}, exitUsage, "--format"},
		{"bad domain", []string{"run", "--allow", "*", "--", "true"}, exitFailure, ""},
		{"unknown profile", []string{"profiles", "@nmp"}, exitFailure, "no profile"},
		{"version", []string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, errOut := testFactory(t, "")
			got := Execute(f, tt.args)
			if got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, errOut)
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Fatalf("stderr %q does not mention %q", errOut, tt.wantErr)
			}
			if got != 0 && !strings.HasPrefix(errOut.String(), "pent: ") {
				t.Fatalf("message not prefixed with pent: %q", errOut)
			}
		})
	}
}

func TestRunFlagLayer(t *testing.T) {
	tests := []struct {
		name string
		opts RunOptions
		want string
	}{
		{"default leaves network unset", RunOptions{}, ""},
		{"allow implies proxy", RunOptions{Allow: []string{"example.com"}}, "proxy"},
		{"explicit network wins over allow", RunOptions{Allow: []string{"example.com"}, Network: "blocked"}, "blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layer, err := tt.opts.flagLayer()
			if err != nil {
				t.Fatal(err)
			}
			if layer.Network != tt.want {
				t.Fatalf("network %q, want %q", layer.Network, tt.want)
			}
		})
	}
}

// TestRunPolicyLayering checks what a run would get, without running it:
// global ⊕ trusted project ⊕ flags, and an untrusted project ignored.
func TestRunPolicyLayering(t *testing.T) {
	project := t.TempDir()
	f, _, errOut := testFactory(t, project)
	home := f.Env["HOME"]
	mustWrite(t, filepath.Join(home, ".config/pent/pent.toml"), "[sandbox.paths]\nread = [\"~/global-read\"]\n")
	mustWrite(t, filepath.Join(project, ".pent.toml"), "[sandbox.paths]\nread_write = [\"out\"]\n")

	policy := func() sandbox.Policy {
		t.Helper()
		var got sandbox.Policy
		cmd := NewCmdRun(f, func(o *RunOptions) error {
			flags, err := o.flagLayer()
			if err != nil {
				return err
			}
			l, err := f.load(run.LoadRequest{Flags: flags})
			if err != nil {
				return err
			}
			if err := o.checkTrust(l); err != nil {
				return err
			}
			host, err := f.runHost(l)
			if err != nil {
				return err
			}
			got, _, err = run.Policy(&l.Config, host, o.Command)
			return err
		})
		cmd.SetArgs([]string{"--read", "/srv/data", "--", "true"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return got
	}

	p := policy()
	if !slices.Contains(p.Read, filepath.Join(home, "global-read")) || !slices.Contains(p.Read, "/srv/data") {
		t.Fatalf("global and flag reads missing: %v", p.Read)
	}
	if slices.Contains(p.Write, filepath.Join(project, "out")) {
		t.Fatalf("untrusted project granted %v", p.Write)
	}
	if !strings.Contains(errOut.String(), "pent allow") {
		t.Fatalf("no warning naming pent allow: %q", errOut)
	}

	if code := Execute(f, []string{"allow", "--yes"}); code != 0 {
		t.Fatalf("allow exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut.String(), filepath.Join(project, "out")) && !strings.Contains(errOut.String(), "out") {
		t.Fatalf("allow did not show the grant: %q", errOut)
	}
	p = policy()
	if !slices.Contains(p.Write, filepath.Join(project, "out")) || !slices.Contains(p.Write, project) {
		t.Fatalf("trusted project grants missing: %v", p.Write)
	}

	mustWrite(t, filepath.Join(project, ".pent.toml"), "[sandbox.paths]\nread_write = [\"elsewhere\"]\n")
	errOut.Reset()
	wrapped := NewCmdRun(f, nil)
	wrapped.SetArgs([]string{"--wrapped", "true", "--", "true"})
	err := wrapped.Execute()
	if ex, ok := err.(exitError); !ok || ex.code != exitFailure {
		t.Fatalf("wrapped run of an edited project: err %v, want exit 1", err)
	}
	if !strings.Contains(errOut.String(), "changed since you allowed it") {
		t.Fatalf("no reason given: %q", errOut)
	}
}

func TestMalformedGlobalConfigNamesFileAndLine(t *testing.T) {
	f, _, errOut := testFactory(t, "")
	path := filepath.Join(f.Env["HOME"], ".config/pent/pent.toml")
	mustWrite(t, path, "profiles = [\"@npm\"]\n\n[sandbox]\nnetwrok = \"blocked\"\n")
	if code := Execute(f, []string{"run", "--", "true"}); code != exitFailure {
		t.Fatalf("exit %d, want 1", code)
	}
	want := path + ":4:"
	if !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "network") {
		t.Fatalf("stderr %q lacks %q and a suggestion", errOut, want)
	}
}

func TestConfigAddRmInit(t *testing.T) {
	project := t.TempDir()
	f, out, errOut := testFactory(t, project)
	steps := []struct {
		args []string
		want int
	}{
		{[]string{"config", "add", "@npm"}, exitFailure}, // no project file yet
		{[]string{"init", "@npm"}, 0},
		{[]string{"init"}, exitFailure}, // already exists
		{[]string{"config", "add", "@gh", "cargo"}, 0},
		{[]string{"config", "rm", "@npm"}, 0},
		{[]string{"config", "add", "@nosuch"}, exitFailure},
		{[]string{"config", "add", "--global", "@claude"}, 0},
	}
	for _, s := range steps {
		if code := Execute(f, s.args); code != s.want {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s", s.args, code, s.want, errOut)
		}
	}
	data, err := os.ReadFile(filepath.Join(project, ".pent.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"@gh"`) || !strings.Contains(string(data), `"@cargo"`) || strings.Contains(string(data), `profiles = ["@npm"`) {
		t.Fatalf("project file after add/rm:\n%s", data)
	}
	if !strings.Contains(string(data), `"npm"`) {
		t.Fatalf("init did not propose the profile's commands for wrap:\n%s", data)
	}
	out.Reset()
	if code := Execute(f, []string{"config", "show", "--format", "json"}); code != 0 {
		t.Fatalf("config show: %s", errOut)
	}
	if !strings.Contains(out.String(), "@claude") {
		t.Fatalf("config show lacks the global profile: %s", out)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAllowMarksHostExecutedGrant: `pent allow` shows a project grant of a
// directory the host executes as a widening, with the reason; a grant around
// such locations is one only while one of them is missing (the sandbox could
// create it; existing ones stay read-only at run time).
func TestAllowMarksHostExecutedGrant(t *testing.T) {
	project := t.TempDir()
	f, _, errOut := testFactory(t, project)
	home := f.Env["HOME"]
	mustWrite(t, filepath.Join(project, ".pent.toml"), "[sandbox.paths]\nread_write = [\"~/.local/bin\", \"~/.cargo\"]\n")
	lines := func() (bin, cargo string) {
		t.Helper()
		errOut.Reset()
		if code := Execute(f, []string{"allow", "--yes"}); code != 0 {
			t.Fatalf("allow exit %d: %s", code, errOut)
		}
		for _, line := range strings.Split(errOut.String(), "\n") {
			switch {
			case strings.Contains(line, filepath.Join(home, ".local/bin")):
				bin = line
			case strings.Contains(line, filepath.Join(home, ".cargo")):
				cargo = line
			}
		}
		return bin, cargo
	}
	for _, name := range []string{"bin/cargo", "env", "env.fish", "config.toml"} {
		mustWrite(t, filepath.Join(home, ".cargo", name), "")
	}
	bin, cargo := lines()
	if !strings.Contains(bin, "widening") || !strings.Contains(bin, "a directory on PATH") {
		t.Errorf("the grant of ~/.local/bin is not marked as a widening with its reason: %q\n%s", bin, errOut)
	}
	if !strings.Contains(cargo, "widening") || !strings.Contains(cargo, filepath.Join(home, ".cargo", "config")+",") {
		t.Errorf("the grant of ~/.cargo without ~/.cargo/config is not marked as a widening naming it: %q\n%s", cargo, errOut)
	}
	mustWrite(t, filepath.Join(home, ".cargo", "config"), "")
	if _, cargo = lines(); cargo == "" || strings.Contains(cargo, "widening") {
		t.Errorf("the grant of ~/.cargo, whose host-executed entries all exist (and stay read-only), is marked: %q\n%s", cargo, errOut)
	}
}

// TestAllowMarksXDGStateGrant: a grant around pent's state directory where
// XDG_STATE_HOME puts it (not ~/.local/state) is a widening while the
// directory is missing: the next pent acts on the run records kept there.
func TestAllowMarksXDGStateGrant(t *testing.T) {
	project := t.TempDir()
	f, _, errOut := testFactory(t, project)
	home := f.Env["HOME"]
	f.Env["XDG_STATE_HOME"] = filepath.Join(home, "xs")
	mustWrite(t, filepath.Join(home, "xs", "keep"), "")
	mustWrite(t, filepath.Join(project, ".pent.toml"), "[sandbox.paths]\nread_write = [\"~/xs\"]\n")
	if code := Execute(f, []string{"allow", "--yes"}); code != 0 {
		t.Fatalf("allow exit %d: %s", code, errOut)
	}
	var line string
	for _, l := range strings.Split(errOut.String(), "\n") {
		if strings.Contains(l, filepath.Join(home, "xs")) {
			line = l
		}
	}
	if !strings.Contains(line, "widening") || !strings.Contains(line, filepath.Join(home, "xs", "pent")) {
		t.Errorf("the grant around $XDG_STATE_HOME/pent is not marked as a widening naming it: %q\n%s", line, errOut)
	}
}

// TestWrappedRunRefusesWhatTheHookKeeps: a wrapped command refuses to run
// when an unknown .pent.toml appears beside an allowed .pent/pent.toml, or
// when an allowed project file is deleted, and `pent deny` finds a deleted
// allowed file (the only way to release its wrappers).
func TestWrappedRunRefusesWhatTheHookKeeps(t *testing.T) {
	tests := []struct {
		name   string
		allow  []string // project files to write and allow, relative to the root
		then   func(t *testing.T, root string)
		cwd    string
		reason string
	}{
		{"unknown .pent.toml beside an allowed seed file", []string{".pent/pent.toml"}, func(t *testing.T, root string) {
			mustWrite(t, filepath.Join(root, ".pent.toml"), "wrap = []\n")
		}, ".", ".pent.toml is not allowed yet"},
		{"allowed nested file deleted", []string{".pent.toml", "sub/.pent.toml"}, func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "sub", ".pent.toml")); err != nil {
				t.Fatal(err)
			}
		}, "sub", "sub/.pent.toml is gone or unreadable since you allowed it"},
		{"allowed project file deleted", []string{".pent.toml"}, func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, ".pent.toml")); err != nil {
				t.Fatal(err)
			}
		}, ".", ".pent.toml is gone or unreadable since you allowed it"},
		{"allowed seed directory deleted", []string{".pent/pent.toml"}, func(t *testing.T, root string) {
			if err := os.RemoveAll(filepath.Join(root, ".pent")); err != nil {
				t.Fatal(err)
			}
		}, ".", ".pent/pent.toml is gone or unreadable since you allowed it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cwd := filepath.Join(root, tt.cwd)
			f, _, errOut := testFactory(t, cwd)
			for _, rel := range tt.allow {
				mustWrite(t, filepath.Join(root, rel), "wrap = [\"npm\"]\n")
				if code := Execute(f, []string{"allow", "--yes", filepath.Join(root, rel)}); code != 0 {
					t.Fatalf("allow %s: exit %d: %s", rel, code, errOut)
				}
			}
			tt.then(t, root)
			errOut.Reset()
			wrapped := NewCmdRun(f, nil)
			wrapped.SetArgs([]string{"--wrapped", "true", "--", "true"})
			err := wrapped.Execute()
			if ex, ok := err.(exitError); !ok || ex.code != exitFailure {
				t.Fatalf("wrapped run: err %v, want exit 1; stderr:\n%s", err, errOut)
			}
			if !strings.Contains(errOut.String(), "refusing to run true: ") || !strings.Contains(errOut.String(), tt.reason) {
				t.Fatalf("stderr %q lacks the refusal and %q", errOut, tt.reason)
			}
		})
	}
	t.Run("deny finds a deleted allowed file", func(t *testing.T) {
		root := t.TempDir()
		f, _, errOut := testFactory(t, filepath.Join(root, "sub"))
		for _, rel := range []string{".pent.toml", "sub/.pent.toml"} {
			mustWrite(t, filepath.Join(root, rel), "wrap = [\"npm\"]\n")
			if code := Execute(f, []string{"allow", "--yes", filepath.Join(root, rel)}); code != 0 {
				t.Fatalf("allow %s: exit %d: %s", rel, code, errOut)
			}
		}
		if err := os.Remove(filepath.Join(root, "sub", ".pent.toml")); err != nil {
			t.Fatal(err)
		}
		errOut.Reset()
		if code := Execute(f, []string{"deny"}); code != 0 {
			t.Fatalf("deny: exit %d: %s", code, errOut)
		}
		if want := "denied " + filepath.Join(root, "sub", ".pent.toml"); !strings.Contains(errOut.String(), want) {
			t.Fatalf("stderr %q lacks %q", errOut, want)
		}
	})
}

// TestOutputEscapesControlCharacters feeds a project path holding ESC[2J
// through every route pent prints by: the stderr printer (Say, Warn,
// Notice), the stdout report printer (Line), the top-level error printer (an
// OS error and a parse error position) and `pent status`'s "(set by …)". No
// raw ESC may reach the terminal; each route shows it escaped.
func TestOutputEscapesControlCharacters(t *testing.T) {
	const esc = "\x1b[2J"
	t.Run("printers", func(t *testing.T) {
		var out, errOut bytes.Buffer
		io := &IOStreams{Out: &out, ErrOut: &errOut}
		io.Say("say %s", esc)
		io.Warn("warn %v", errors.New(esc))
		io.Notice("pent: notice " + esc)
		io.Line("line %s", esc)
		want := "pent: say \\x1b[2J\npent: warning: warn \\x1b[2J\npent: notice \\x1b[2J\n"
		if errOut.String() != want || out.String() != "line \\x1b[2J\n" {
			t.Fatalf("stderr %q stdout %q, want %q and the line escaped", errOut.String(), out.String(), want)
		}
	})
	routes := []struct {
		name    string
		content string // the project file; "" for a symlink to /etc/hostname, "socket" for a socket
		setup   []string
		args    []string
		// shows is the stream where the path shows; "" when stdout is shell code
		// (quoted, not shown) and only stderr is checked.
		shows string
	}{
		{"OS error", "", nil, []string{"status"}, "stderr"},
		{"parse error position", "wrap = [\"npm\"]\nbogus = 1\n", nil, []string{"allow", "--yes"}, "stderr"},
		{"say", "wrap = [\"npm\"]\n", nil, []string{"deny"}, "stderr"},
		{"OS error from open", "socket", nil, []string{"status"}, "stderr"},
		{"hook notice", "wrap = [\"npm\"]\n", nil, []string{"export", "bash", "--fresh=1"}, ""},
		{"status set by", "[sandbox]\nnetwork = \"blocked\"\n", []string{"allow", "--yes"}, []string{"status"}, "stdout"},
	}
	for _, tt := range routes {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d"+esc)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, ".pent.toml")
			switch tt.content {
			case "":
				if err := os.Symlink("/etc/hostname", file); err != nil {
					t.Fatal(err)
				}
			case "socket": // open(2) fails with ENXIO: a raw *fs.PathError
				l, err := net.Listen("unix", file)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			default:
				mustWrite(t, file, tt.content)
			}
			f, out, errOut := testFactory(t, dir)
			if tt.setup != nil {
				if code := Execute(f, tt.setup); code != 0 {
					t.Fatalf("%v: exit %d: %s", tt.setup, code, errOut)
				}
			}
			out.Reset()
			errOut.Reset()
			Execute(f, tt.args)
			got, shown := errOut.String(), errOut.String()
			switch tt.shows {
			case "stdout":
				got, shown = out.String(), out.String()+errOut.String()
			case "stderr":
				shown = out.String() + errOut.String()
			}
			if strings.Contains(shown, "\x1b") || !strings.Contains(got, `d\x1b[2J`) {
				t.Fatalf("%v: want the path escaped, never raw; stdout %q stderr %q", tt.args, out, errOut)
			}
		})
	}
}

// TestProfilesShowsReasons: `pent profiles @x` gives each domain of an
// agent profile its own line with what the CLI contacts it for, and the
// profile's notes; a profile without reasons keeps its one-line list.
func TestProfilesShowsReasons(t *testing.T) {
	tests := []struct {
		profile string
		want    []string
	}{
		{"@claude", []string{
			"\n    platform.claude.com ", "refreshes them (/v1/oauth/token)\n",
			"\n  note: Amazon Bedrock: add your region's endpoint",
		}},
		{"@gemini", []string{"\n    www.googleapis.com ", "(/oauth2/v2/userinfo)\n"}},
		{"@npm", []string{"\n  domains:   registry.npmjs.org, registry.yarnpkg.com, repo.yarnpkg.com\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			f, out, errOut := testFactory(t, "")
			if code := Execute(f, []string{"profiles", tc.profile}); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("pent profiles %s lacks %q:\n%s", tc.profile, w, out)
				}
			}
		})
	}
}
