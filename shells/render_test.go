package shells

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/hook"
)

// oddName is a directory name with every character quoting must survive.
const oddName = "sp ace'q\"d$HOME`x`\\b\nnl;&|*?[a]{b}~ü€!#"

// shellSyntax is how each test script does the few things that differ.
type shellSyntax struct {
	sh Shell
	// userFn defines a user function npm that prints "user" and its args.
	userFn string
	// isFn prints "fn" when NAME is a function, "nofn" otherwise.
	isFn func(name string) string
	// status prints the status of the previous command.
	status string
	// source loads a file.
	source string
}

var syntaxes = []shellSyntax{
	{
		sh:     Bash{},
		userFn: `npm() { "$DUMP" user "$@"; }`,
		isFn:   func(n string) string { return "declare -F " + n + " >/dev/null && echo fn || echo nofn" },
		status: `echo "status=$?"`,
		source: ".",
	},
	{
		sh:     Zsh{},
		userFn: `npm() { "$DUMP" user "$@"; }`,
		isFn:   func(n string) string { return "(( ${+functions[" + n + "]} )) && echo fn || echo nofn" },
		status: `echo "status=$?"`,
		source: ".",
	},
	{
		sh:     Fish{},
		userFn: `function npm; "$DUMP" user $argv; end`,
		isFn:   func(n string) string { return "functions -q " + n + "; and echo fn; or echo nofn" },
		status: `echo "status=$status"`,
		source: "source",
	},
}

// needShell skips the test when the shell is not installed.
func needShell(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install %s): %v", name, name, err)
	}
	return path
}

// runScript runs script in a non-interactive shell with a clean environment.
func runScript(t *testing.T, shell, dir, script string, env ...string) string {
	t.Helper()
	path := needShell(t, shell)
	file := filepath.Join(dir, "script."+shell)
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{file}
	if shell == "zsh" {
		args = []string{"-f", file}
	}
	if shell == "fish" {
		args = []string{"--no-config", file}
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n--- script\n%s\n--- output\n%s", shell, err, script, out)
	}
	return string(out)
}

// writeDump writes a fake pent that prints "<args>" with each argument
// quoted by %q, one call per line.
func writeDump(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// printf %s of each arg with NUL would be exact, but the output must be
	// readable in failures: escape newlines and backslashes instead.
	script := `#!/bin/sh
out=""
for a in "$@"; do
  e=$(printf '%s.' "$a" | sed -e 's/\\/\\\\/g' | awk 'BEGIN{ORS="\\n"} {print}' )
  out="$out<${e%.\\n}>"
done
printf '%s\n' "$out"
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// enc is how writeDump prints one argument.
func enc(args ...string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString("<" + strings.ReplaceAll(strings.ReplaceAll(a, `\`, `\\`), "\n", `\n`) + ">")
	}
	return b.String()
}

func TestRenderInRealShells(t *testing.T) {
	for _, sx := range syntaxes {
		t.Run(sx.sh.Name(), func(t *testing.T) {
			needShell(t, sx.sh.Name())
			root := t.TempDir()
			odd := filepath.Join(root, oddName)
			bin := filepath.Join(odd, "bin dir", "pent'$`")
			writeDump(t, bin)
			watched := filepath.Join(odd, "watched'$ file")
			present := filepath.Join(odd, "present\nfile")
			absent := filepath.Join(odd, "absent`file`")
			stamp := filepath.Join(odd, "stamp")
			for _, f := range []string{watched, present} {
				if err := os.WriteFile(f, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(watched, old, old); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stamp, nil, 0o644); err != nil {
				t.Fatal(err)
			}

			enter := hook.Plan{
				Bin:   bin,
				Wrap:  []string{"npm", "node", "c++", "a.b-c_d@e"},
				Set:   []hook.Var{{Name: "PENT_DIR", Value: odd}, {Name: "PENT_WRAPPED", Value: "it's $(x) `y` \\ \n"}},
				Unset: []string{"PENT_GONE"},
				Watch: hook.Watch{Dir: odd, Stamp: stamp, Newer: []string{watched}, Present: []string{present}, Absent: []string{absent}},
			}
			leave := hook.Plan{Bin: bin, Unwrap: []string{"npm", "node", "c++", "a.b-c_d@e"}, Unset: []string{"PENT_DIR"},
				Watch: hook.Watch{Dir: root, Stamp: stamp}}
			again := enter
			again.Wrap = nil // a later prompt in the same project defines nothing new
			files := map[string]string{"enter": sx.sh.Render(enter), "leave": sx.sh.Render(leave), "again": sx.sh.Render(again)}
			for name, code := range files {
				if err := os.WriteFile(filepath.Join(root, name), []byte(code), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			q := PosixQuote
			if sx.sh.Name() == "fish" {
				q = FishQuote
			}
			dump := func(args string) string { return `"$DUMP" ` + args + "\n" }
			script := sx.userFn + "\n" +
				"cd " + q(odd) + "\n" +
				sx.source + " " + q(filepath.Join(root, "enter")) + "\n" +
				"npm a 'b c' ''\n" +
				"c++ x\n" +
				"a.b-c_d@e\n" +
				dump(`"$PENT_DIR" "$PENT_WRAPPED"`) +
				sx.isFn("PENT_GONE_CHECK") + "\n" +
				"_pent_current; " + sx.status + "\n" +
				sx.source + " " + q(filepath.Join(root, "again")) + "\n" +
				"npm again\n" +
				"touch " + q(watched) + "\n" +
				"_pent_current; " + sx.status + "\n" +
				sx.source + " " + q(filepath.Join(root, "leave")) + "\n" +
				"npm back\n" +
				sx.isFn("node") + "\n" +
				sx.isFn("__pent_saved_npm") + "\n" +
				dump(`"$PENT_WRAPPED"`) +
				"cd " + q(root) + "\n" +
				"_pent_current; " + sx.status + "\n"
			out := runScript(t, sx.sh.Name(), root, script, "DUMP="+bin, "PENT_GONE=1")
			want := strings.Join([]string{
				enc("run", "--wrapped", "npm", "--", "npm", "a", "b c", ""),
				enc("run", "--wrapped", "c++", "--", "c++", "x"),
				enc("run", "--wrapped", "a.b-c_d@e", "--", "a.b-c_d@e"),
				enc(odd, "it's $(x) `y` \\ \n"),
				"nofn",
				"status=0",
				enc("run", "--wrapped", "npm", "--", "npm", "again"),
				"status=1",
				enc("user", "back"),
				"nofn",
				"nofn",
				enc("it's $(x) `y` \\ \n"),
				"status=0",
			}, "\n") + "\n"
			if out != want {
				t.Errorf("output:\n%s\nwant:\n%s\n--- enter code:\n%s", out, want, files["enter"])
			}
		})
	}
}

func TestRenderWatchDetectsEachChange(t *testing.T) {
	changes := []struct {
		name   string
		change func(t *testing.T, f files)
	}{
		{"nothing", func(*testing.T, files) {}},
		{"watched file edited", func(t *testing.T, f files) { write(t, f.newer, "edit") }},
		{"watched file removed", func(t *testing.T, f files) { remove(t, f.newer) }},
		{"present file removed", func(t *testing.T, f files) { remove(t, f.present) }},
		{"absent file created", func(t *testing.T, f files) { write(t, f.absent, "") }},
		{"stamp removed", func(t *testing.T, f files) { remove(t, f.stamp) }},
	}
	for _, sx := range syntaxes {
		for _, c := range changes {
			t.Run(sx.sh.Name()+"/"+c.name, func(t *testing.T) {
				needShell(t, sx.sh.Name())
				dir := filepath.Join(t.TempDir(), oddName)
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				f := files{
					newer: filepath.Join(dir, "newer"), present: filepath.Join(dir, "present"),
					absent: filepath.Join(dir, "absent"), stamp: filepath.Join(dir, "stamp"),
				}
				write(t, f.newer, "v1")
				// Written well before the stamp: a file written in the very
				// tick the stamp is made counts as changed (one extra quiet
				// export, never a missed edit).
				past := time.Now().Add(-time.Minute)
				if err := os.Chtimes(f.newer, past, past); err != nil {
					t.Fatal(err)
				}
				write(t, f.present, "")
				write(t, f.stamp, "")
				// Stamp like hook.Decide does: its own mtime minus 1ns.
				fi, err := os.Stat(f.stamp)
				if err != nil {
					t.Fatal(err)
				}
				st := fi.ModTime().Add(-time.Nanosecond)
				if err := os.Chtimes(f.stamp, st, st); err != nil {
					t.Fatal(err)
				}
				code := sx.sh.Render(hook.Plan{Watch: hook.Watch{Dir: dir, Stamp: f.stamp,
					Newer: []string{f.newer}, Present: []string{f.present}, Absent: []string{f.absent}}})
				// The stamp is written after the watched file; an edit right
				// after it (same second, often the same tick) must count.
				c.change(t, f)
				want := "status=1"
				if c.name == "nothing" {
					want = "status=0"
				}
				out := runScript(t, sx.sh.Name(), dir, code+"\n_pent_current; "+sx.status+"\n")
				if strings.TrimSpace(out) != want {
					t.Errorf("got %q, want %q", out, want)
				}
			})
		}
	}
}

type files struct{ newer, present, absent, stamp string }

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func TestGet(t *testing.T) {
	for _, n := range []string{"bash", "zsh", "fish"} {
		s, err := Get(n)
		if err != nil || s.Name() != n {
			t.Errorf("Get(%q) = %v, %v", n, s, err)
		}
	}
	if _, err := Get("tcsh"); err == nil || !strings.Contains(err.Error(), "bash, fish, zsh") {
		t.Errorf("Get(tcsh) error %v, want one listing the supported shells", err)
	}
	if !slices.Equal(Names(), []string{"bash", "fish", "zsh"}) {
		t.Errorf("Names() = %v", Names())
	}
}

// TestRenderSkipsShellBuiltins: a wrap name that is a builtin or keyword of
// the shell (echo everywhere, time) is not wrapped; the shell says so once
// and the other names are wrapped. Leaving leaves a user's own function of
// such a name alone.
func TestRenderSkipsShellBuiltins(t *testing.T) {
	for _, sx := range syntaxes {
		t.Run(sx.sh.Name(), func(t *testing.T) {
			needShell(t, sx.sh.Name())
			root := t.TempDir()
			bin := filepath.Join(root, "pent")
			writeDump(t, bin)
			names := []string{"echo", "time", "npm"}
			watch := hook.Watch{Dir: root, Stamp: filepath.Join(root, "stamp")}
			files := map[string]string{
				"enter": sx.sh.Render(hook.Plan{Bin: bin, Wrap: names, Watch: watch}),
				"leave": sx.sh.Render(hook.Plan{Bin: bin, Unwrap: names, Watch: watch}),
			}
			for name, code := range files {
				if err := os.WriteFile(filepath.Join(root, name), []byte(code), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			userEcho := map[string]string{"fish": "function echo; builtin echo USER $argv; end",
				"bash": "echo() { builtin echo USER \"$@\"; }", "zsh": "echo() { builtin echo USER \"$@\"; }"}[sx.sh.Name()]
			script := "" +
				sx.source + " " + filepath.Join(root, "enter") + "\necho hi\nnpm x\n" +
				sx.source + " " + filepath.Join(root, "leave") + "\n" + userEcho + "\n" +
				sx.source + " " + filepath.Join(root, "enter") + "\n" +
				sx.source + " " + filepath.Join(root, "leave") + "\necho still\n"
			out := runScript(t, sx.sh.Name(), root, script)
			notices := builtinNotice(sx.sh.Name(), "echo") + "\n" + builtinNotice(sx.sh.Name(), "time") + "\n"
			want := notices + "hi\n" + enc("run", "--wrapped", "npm", "--", "npm", "x") + "\n" + notices + "USER still\n"
			if out != want {
				t.Errorf("output:\n%s\nwant:\n%s\n--- enter:\n%s--- leave:\n%s", out, want, files["enter"], files["leave"])
			}
		})
	}
}
