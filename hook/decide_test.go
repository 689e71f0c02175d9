package hook

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/trust"
)

// decideFixture is a home with two projects (app wraps npm and node, lib
// wraps npm and cargo), an untrusted one and a trust store.
type decideFixture struct {
	home, app, lib, other, plain string
	trust                        trust.Trust
}

func newDecideFixture(t *testing.T) decideFixture {
	t.Helper()
	home := t.TempDir()
	f := decideFixture{
		home:  home,
		app:   filepath.Join(home, "src", "app"),
		lib:   filepath.Join(home, "src", "lib"),
		other: filepath.Join(home, "src", "other"),
		plain: filepath.Join(home, "plain"),
		trust: trust.Trust{Dir: filepath.Join(home, ".local", "share", "pent")},
	}
	for _, d := range []string{filepath.Join(f.app, "sub", "deep"), f.lib, f.other, f.plain} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(f.app, ProjectFile), "npm node")
	writeFile(t, filepath.Join(f.lib, ProjectFile), "npm cargo")
	writeFile(t, filepath.Join(f.other, ProjectFile), "npm")
	for _, p := range []string{f.app, f.lib} {
		if err := allowFile(f.trust, filepath.Join(p, ProjectFile)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// loadWrap parses the fixture's project files: the content is the wrap list,
// and a file containing "broken" fails to load.
func loadWrap(s trust.Snapshot) ([]string, error) {
	if strings.Contains(string(s.Content), "broken") {
		return nil, errors.New(s.Path + ":1:1: unknown key \"broken\"")
	}
	return strings.Fields(string(s.Content)), nil
}

func (f decideFixture) decide(t *testing.T, cwd string, env map[string]string, fresh bool) Plan {
	t.Helper()
	p, err := Decide(Input{
		Cwd: cwd, Env: env, Fresh: fresh, Trust: f.trust, Home: f.home, Bin: "/opt/pent",
		GlobalConfig: filepath.Join(f.home, ".config", "pent", "pent.toml"), LoadWrap: loadWrap,
	})
	if err != nil {
		t.Fatalf("Decide(%s): %v", cwd, err)
	}
	return p
}

// apply returns the environment after a shell applied p.
func apply(env map[string]string, p Plan) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for _, v := range p.Set {
		out[v.Name] = v.Value
	}
	for _, n := range p.Unset {
		delete(out, n)
	}
	return out
}

func TestDecide(t *testing.T) {
	type step struct {
		cwd    string // relative to home
		pwd    string // the shell's $PWD, relative to home; cwd when ""
		before func(t *testing.T, f decideFixture)
		fresh  bool
		msg    string // substring of the only message, "" for none
		wrap   []string
		unwrap []string
	}
	edit := func(rel, content string) func(*testing.T, decideFixture) {
		return func(t *testing.T, f decideFixture) { writeFile(t, filepath.Join(f.home, rel), content) }
	}
	allow := func(rel string) func(*testing.T, decideFixture) {
		return func(t *testing.T, f decideFixture) {
			if err := allowFile(f.trust, filepath.Join(f.home, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
	deny := func(rel string) func(*testing.T, decideFixture) {
		return func(t *testing.T, f decideFixture) {
			if err := f.trust.Deny(filepath.Join(f.home, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no project", []step{{cwd: "plain", fresh: true}}},
		{"enter trusted", []step{
			{cwd: "plain", fresh: true},
			{cwd: "src/app", msg: "pent: sandboxing npm, node (~/src/app/.pent.toml)", wrap: []string{"npm", "node"}},
		}},
		{"subdirectory keeps it quietly", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub/deep"},
			{cwd: "src/app/sub"},
		}},
		{"leave restores", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "plain", msg: "pent: npm, node no longer sandboxed (left ~/src/app/.pent.toml)", unwrap: []string{"npm", "node"}},
			{cwd: "src"},
		}},
		{"A to B swaps in one step", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/lib", msg: "pent: sandboxing npm, cargo (~/src/lib/.pent.toml)", wrap: []string{"cargo"}, unwrap: []string{"node"}},
		}},
		{"untrusted", []step{
			{cwd: "src/other", fresh: true, msg: "pent: ~/src/other/.pent.toml is not allowed yet — run `pent allow` to review it"},
			{cwd: "src/other"},
		}},
		{"allow appears without cd", []step{
			{cwd: "src/other", fresh: true, msg: "not allowed yet"},
			{cwd: "src/other", before: allow("src/other/.pent.toml"), msg: "pent: sandboxing npm (~/src/other/.pent.toml)", wrap: []string{"npm"}},
			{cwd: "src/other"},
		}},
		{"edit blocks once and keeps the wrappers", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: edit("src/app/.pent.toml", "npm node bash"), msg: "pent: ~/src/app/.pent.toml changed since you allowed it; npm, node stay wrapped and refuse to run until you review it with `pent allow` (or `pent deny` to stop sandboxing here)"},
			{cwd: "src/app"},
			{cwd: "src/app", before: edit("src/app/.pent.toml", "npm node sh")},
			{cwd: "src/app", before: allow("src/app/.pent.toml"), msg: "pent: sandboxing npm, node, sh", wrap: []string{"sh"}},
		}},
		{"a new shell in a changed project gets the last trusted wrappers", []step{
			{cwd: "src/app", fresh: true, before: edit("src/app/.pent.toml", "npm"), msg: "npm, node stay wrapped", wrap: []string{"npm", "node"}},
		}},
		{"a first-format allow record asks for a review and keeps the wrappers", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: func(t *testing.T, f decideFixture) {
				file := filepath.Join(f.app, ProjectFile)
				if err := os.RemoveAll(filepath.Join(f.trust.Dir, "allow")); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(f.trust.Dir, "allow"), 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(f.trust.Dir, "allow", sha256hex(file+"\n"+"npm node")), file)
			}, msg: "pent: ~/src/app/.pent.toml was allowed by an older pent, whose trust records are ambiguous; npm, node stay wrapped and refuse to run"},
		}},
		{"a lost allow record keeps the wrappers", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: func(t *testing.T, f decideFixture) {
				if err := os.RemoveAll(filepath.Join(f.trust.Dir, "allow")); err != nil {
					t.Fatal(err)
				}
			}, msg: "not allowed yet — run `pent allow` to review it; npm, node stay wrapped and refuse to run"},
		}},
		{"denied", []step{
			{cwd: "src/app", fresh: true, before: deny("src/app/.pent.toml"), msg: "pent: ~/src/app/.pent.toml is denied"},
			{cwd: "src/app"},
		}},
		{"deny while inside", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: deny("src/app/.pent.toml"), msg: "is denied", unwrap: []string{"npm", "node"}},
		}},
		{"nested shell is quiet but wraps", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app", fresh: true, wrap: []string{"npm", "node"}},
		}},
		{"nested shell leaving announces once", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "plain", fresh: true, msg: "no longer sandboxed"},
		}},
		{"broken allowed file", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/.pent.toml", "broken")(t, f)
				allow("src/app/.pent.toml")(t, f)
			}, msg: "unknown key \"broken\" — no commands are sandboxed"},
			{cwd: "src/app"},
		}},
		{"invalid wrap names are skipped with a warning", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/.pent.toml", "npm $(rm) cd npm")(t, f)
				allow("src/app/.pent.toml")(t, f)
			}, msg: "ignoring wrap entry \"$(rm)\"", wrap: []string{"npm"}},
		}},
		{"an untrusted nearer project file keeps the enclosing project", []step{
			{cwd: "src/app/sub", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub", before: edit("src/app/sub/.pent.toml", "x"), msg: "pent: ignoring ~/src/app/sub/.pent.toml (unknown); ~/src/app/.pent.toml stays in force"},
			{cwd: "src/app/sub"},
			{cwd: "src/app"},
			{cwd: "src/app/sub", msg: "ignoring ~/src/app/sub/.pent.toml (unknown)"},
			{cwd: "src/app/sub", before: allow("src/app/sub/.pent.toml"), msg: "pent: sandboxing x (~/src/app/sub/.pent.toml)", wrap: []string{"x"}, unwrap: []string{"npm", "node"}},
		}},
		{"a changed nested project file keeps the enclosing project's wrappers too", []step{
			{cwd: "src/app/sub", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/sub/.pent.toml", "x")(t, f)
				allow("src/app/sub/.pent.toml")(t, f)
			}, msg: "sandboxing x", wrap: []string{"x"}},
			{cwd: "src/app/sub", before: edit("src/app/sub/.pent.toml", "y"), msg: "x, npm, node stay wrapped and refuse to run", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub", fresh: true, wrap: []string{"x", "npm", "node"}},
		}},
		{"a denied nearer project file keeps the enclosing project", []step{
			{cwd: "src/app/sub", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/sub/.pent.toml", "x")(t, f)
				deny("src/app/sub/.pent.toml")(t, f)
			}, msg: "ignoring ~/src/app/sub/.pent.toml (denied)", wrap: []string{"npm", "node"}},
		}},
		{"an unreadable nearer project file keeps the enclosing project", []step{
			{cwd: "src/app/sub", fresh: true, msg: "sandboxing", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub", before: func(t *testing.T, f decideFixture) {
				if err := os.Symlink("/proc/self/pagemap", filepath.Join(f.app, "sub", ProjectFile)); err != nil {
					t.Fatal(err)
				}
			}, msg: "ignoring ~/src/app/sub/.pent.toml (unreadable)"},
		}},
		{"an unknown .pent.toml beside an allowed .pent/pent.toml keeps its wrappers", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				if err := os.Rename(filepath.Join(f.app, ProjectFile), filepath.Join(f.app, "seed")); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Join(f.trust.Dir, "allow")); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(f.app, ".pent"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(f.app, "seed"), filepath.Join(f.app, SeedProjectFile)); err != nil {
					t.Fatal(err)
				}
				allow("src/app/.pent/pent.toml")(t, f)
			}, msg: "pent: sandboxing npm, node (~/src/app/.pent/pent.toml)", wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: edit("src/app/.pent.toml", "x"), msg: "pent: ~/src/app/.pent.toml is not allowed yet — run `pent allow` to review it; npm, node stay wrapped and refuse to run"},
			{cwd: "src/app/sub", fresh: true, wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: deny("src/app/.pent.toml"), msg: "pent: sandboxing npm, node (~/src/app/.pent/pent.toml)"},
		}},
		{"a deleted allowed nested file keeps its wrappers until denied", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/sub/.pent.toml", "cargo npm")(t, f)
				allow("src/app/sub/.pent.toml")(t, f)
			}, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub", before: func(t *testing.T, f decideFixture) {
				if err := os.Remove(filepath.Join(f.app, "sub", ProjectFile)); err != nil {
					t.Fatal(err)
				}
			}, msg: "pent: ~/src/app/sub/.pent.toml is gone or unreadable since you allowed it (file does not exist); cargo, npm, node stay wrapped and refuse to run", wrap: []string{"cargo"}},
			{cwd: "src/app/sub"},
			{cwd: "src/app/sub", fresh: true, wrap: []string{"cargo", "npm", "node"}},
			{cwd: "src/app/sub", before: deny("src/app/sub/.pent.toml"), msg: "pent: cargo no longer sandboxed (left ~/src/app/sub/.pent.toml)", unwrap: []string{"cargo"}},
		}},
		{"an allowed nested project dir replaced by a symlink keeps its wrappers", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/sub/.pent.toml", "cargo npm")(t, f)
				allow("src/app/sub/.pent.toml")(t, f)
			}, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub", before: func(t *testing.T, f decideFixture) {
				sub := filepath.Join(f.app, "sub")
				if err := os.Rename(sub, sub+".x"); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(sub+".x", ProjectFile)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("sub.x", sub); err != nil {
					t.Fatal(err)
				}
			}, msg: "pent: ~/src/app/sub/.pent.toml is gone or unreadable since you allowed it (file does not exist); cargo, npm, node stay wrapped and refuse to run", wrap: []string{"cargo"}},
		}},
		{"an allowed nested .pent dir replaced by a symlink keeps its wrappers", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				if err := os.MkdirAll(filepath.Join(f.app, "sub", ".pent"), 0o755); err != nil {
					t.Fatal(err)
				}
				edit("src/app/sub/.pent/pent.toml", "cargo npm")(t, f)
				allow("src/app/sub/.pent/pent.toml")(t, f)
			}, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app/sub", before: func(t *testing.T, f decideFixture) {
				seed := filepath.Join(f.app, "sub", ".pent")
				if err := os.Rename(seed, seed+"x"); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(seed+"x", "pent.toml")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(".pentx", seed); err != nil {
					t.Fatal(err)
				}
			}, msg: "pent: ~/src/app/sub/.pent/pent.toml is gone or unreadable since you allowed it (file does not exist); cargo, npm, node stay wrapped and refuse to run", wrap: []string{"cargo"}},
		}},
		{"a nested project dir renamed under the shell keeps its wrappers", []step{
			{cwd: "src/app/sub", fresh: true, before: func(t *testing.T, f decideFixture) {
				edit("src/app/sub/.pent.toml", "cargo npm")(t, f)
				allow("src/app/sub/.pent.toml")(t, f)
			}, msg: "sandboxing cargo, npm", wrap: []string{"cargo", "npm"}},
			{cwd: "src/app/sub2", before: func(t *testing.T, f decideFixture) {
				if err := os.Rename(filepath.Join(f.app, "sub"), filepath.Join(f.app, "sub2")); err != nil {
					t.Fatal(err)
				}
			}, pwd: "src/app/sub", msg: "pent: ~/src/app/sub/.pent.toml moved or is gone while the shell was in it; npm, node, cargo stay wrapped (sandboxed or refusing, never unsandboxed) until you cd elsewhere", wrap: []string{"node"}},
			{cwd: "src/app/sub2", pwd: "src/app/sub"},
			{cwd: "src/app", msg: "pent: cargo no longer sandboxed (left ~/src/app/sub/.pent.toml)", unwrap: []string{"cargo"}},
		}},
		{"a project dir renamed under the shell keeps its wrappers", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app2", before: func(t *testing.T, f decideFixture) {
				if err := os.Rename(f.app, f.app+"2"); err != nil {
					t.Fatal(err)
				}
			}, pwd: "src/app", msg: "pent: ~/src/app/.pent.toml moved or is gone while the shell was in it; npm, node stay wrapped (sandboxed or refusing, never unsandboxed) until you cd elsewhere"},
			{cwd: "src/app2", pwd: "src/app"},
			{cwd: "plain", msg: "pent: npm, node no longer sandboxed", unwrap: []string{"npm", "node"}},
		}},
		{"a project dir renamed under the shell to no project keeps its wrappers", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "plain/app", before: func(t *testing.T, f decideFixture) {
				if err := os.Rename(f.app, filepath.Join(f.plain, "app")); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(f.plain, "app", ProjectFile)); err != nil {
					t.Fatal(err)
				}
			}, pwd: "src/app", msg: "pent: ~/src/app/.pent.toml moved or is gone while the shell was in it; npm, node stay wrapped (sandboxed or refusing, never unsandboxed) until you cd elsewhere"},
			{cwd: "plain/app", pwd: "src/app"},
			{cwd: "plain", msg: "pent: npm, node no longer sandboxed", unwrap: []string{"npm", "node"}},
		}},
		{"an allowed project reached through a symlink below a trusted one is ignored", []step{
			{cwd: "src/app", fresh: true, before: func(t *testing.T, f decideFixture) {
				if err := os.Symlink("../lib", filepath.Join(f.app, "lk")); err != nil {
					t.Fatal(err)
				}
			}, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app/lk", msg: "pent: ignoring ~/src/app/lk/.pent.toml (allowed, but reached through a symbolic link; it is ~/src/lib/.pent.toml); ~/src/app/.pent.toml stays in force — cd to ~/src/lib to use it instead"},
			{cwd: "src/app/sub/deep", before: func(t *testing.T, f decideFixture) {
				if err := os.Symlink("../../../lib", filepath.Join(f.app, "sub", "deep", "lk")); err != nil {
					t.Fatal(err)
				}
			}},
			{cwd: "src/app/sub/deep/lk/x", before: func(t *testing.T, f decideFixture) {
				if err := os.Mkdir(filepath.Join(f.lib, "x"), 0o755); err != nil {
					t.Fatal(err)
				}
			}, msg: "pent: ignoring ~/src/app/sub/deep/lk/.pent.toml (allowed, but reached through a symbolic link; it is ~/src/lib/.pent.toml)"},
			{cwd: "src/lib", msg: "pent: sandboxing npm, cargo (~/src/lib/.pent.toml)", wrap: []string{"cargo"}, unwrap: []string{"node"}},
		}},
		{"a deleted allowed project file keeps its wrappers", []step{
			{cwd: "src/app", fresh: true, msg: "sandboxing npm, node", wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: func(t *testing.T, f decideFixture) {
				if err := os.Remove(filepath.Join(f.app, ProjectFile)); err != nil {
					t.Fatal(err)
				}
			}, msg: "gone or unreadable since you allowed it (file does not exist); npm, node stay wrapped"},
			{cwd: "src/app", fresh: true, wrap: []string{"npm", "node"}},
			{cwd: "src/app", before: edit("src/app/.pent.toml", "npm node"), msg: "pent: sandboxing npm, node"},
		}},
		{"an unreadable project file alone", []step{
			{cwd: "src/other", fresh: true, before: func(t *testing.T, f decideFixture) {
				if err := os.Remove(filepath.Join(f.other, ProjectFile)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("/proc/self/pagemap", filepath.Join(f.other, ProjectFile)); err != nil {
					t.Fatal(err)
				}
			}, msg: "is a symbolic link; pent reads only regular files"},
			{cwd: "src/other"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newDecideFixture(t)
			env := map[string]string{"PATH": "/usr/bin"}
			for i, s := range tc.steps {
				if s.before != nil {
					s.before(t, f)
				}
				pwd := cmp.Or(s.pwd, s.cwd)
				env["PWD"] = filepath.Join(f.home, pwd)
				p := f.decide(t, filepath.Join(f.home, s.cwd), env, s.fresh)
				msgs := p.Messages
				switch {
				case s.msg == "" && len(msgs) > 0:
					t.Errorf("step %d (%s): unexpected messages %q", i, s.cwd, msgs)
				case s.msg != "" && (len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), s.msg)):
					t.Errorf("step %d (%s): messages %q, want one containing %q", i, s.cwd, msgs, s.msg)
				}
				if !slices.Equal(p.Wrap, s.wrap) || !slices.Equal(p.Unwrap, s.unwrap) {
					t.Errorf("step %d (%s): wrap %q unwrap %q, want %q %q", i, s.cwd, p.Wrap, p.Unwrap, s.wrap, s.unwrap)
				}
				if p.Watch.Dir != filepath.Join(f.home, pwd) {
					t.Errorf("step %d: watch dir %q", i, p.Watch.Dir)
				}
				env = apply(env, p)
			}
		})
	}
}

func TestDecideWatch(t *testing.T) {
	f := newDecideFixture(t)
	global := filepath.Join(f.home, ".config", "pent", "pent.toml")
	sub := filepath.Join(f.app, "sub")
	p := f.decide(t, sub, nil, true)
	rec, _ := recordPath(f.trust, filepath.Join(f.app, ProjectFile))
	deny, _ := f.trust.DenyRecordPath(filepath.Join(f.app, ProjectFile))
	wantAbsent := []string{
		filepath.Join(sub, ProjectFile), filepath.Join(sub, SeedProjectFile),
		global, deny,
	}
	for _, a := range wantAbsent {
		if !slices.Contains(p.Watch.Absent, a) {
			t.Errorf("Absent %q lacks %q", p.Watch.Absent, a)
		}
	}
	if slices.Contains(p.Watch.Absent, filepath.Join(f.app, SeedProjectFile)) {
		t.Errorf("watching a candidate below the found .pent.toml in precedence: %q", p.Watch.Absent)
	}
	if slices.Contains(p.Watch.Absent, filepath.Join(f.home, "src", ProjectFile)) {
		t.Errorf("watching above the project root: %q", p.Watch.Absent)
	}
	if !slices.Equal(p.Watch.Present, []string{rec}) {
		t.Errorf("Present %q, want the allow record %q", p.Watch.Present, rec)
	}
	if !slices.Equal(p.Watch.Newer, []string{filepath.Join(f.app, ProjectFile)}) {
		t.Errorf("Newer %q", p.Watch.Newer)
	}

	// Without a project every ancestor's candidates are watched, up to /.
	p = f.decide(t, f.plain, nil, true)
	if !slices.Contains(p.Watch.Absent, "/.pent.toml") || !slices.Contains(p.Watch.Absent, filepath.Join(f.plain, ProjectFile)) {
		t.Errorf("Absent without project %q", p.Watch.Absent)
	}
	// The global config, once it exists, is watched for edits.
	if err := os.MkdirAll(filepath.Dir(global), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, global, "")
	p = f.decide(t, f.plain, nil, true)
	if !slices.Contains(p.Watch.Newer, global) {
		t.Errorf("Newer %q lacks the global config", p.Watch.Newer)
	}
}

func TestDecideStamps(t *testing.T) {
	f := newDecideFixture(t)
	p1 := f.decide(t, f.app, nil, true)
	env := apply(nil, p1)
	// A write right after the stamp, even within the same clock tick, is newer.
	probe := filepath.Join(f.home, "probe")
	writeFile(t, probe, "x")
	if !newer(t, probe, p1.Watch.Stamp) {
		t.Error("a file written right after the stamp is not newer than it")
	}
	// A nested (fresh) shell leaves its parent's stamp alone.
	p2 := f.decide(t, f.app, env, true)
	if _, err := os.Stat(p1.Watch.Stamp); err != nil {
		t.Errorf("fresh shell removed the inherited stamp: %v", err)
	}
	// The shell that owns a stamp replaces it.
	p3 := f.decide(t, f.app, apply(env, p2), false)
	if _, err := os.Stat(p2.Watch.Stamp); !os.IsNotExist(err) {
		t.Errorf("old stamp still there: %v", err)
	}
	if _, err := os.Stat(p3.Watch.Stamp); err != nil {
		t.Errorf("new stamp: %v", err)
	}
	// A forged stamp name in the environment never deletes anything else.
	victim := filepath.Join(f.home, "victim")
	writeFile(t, victim, "")
	f.decide(t, f.app, map[string]string{VarStamp: "../../../victim"}, false)
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("forged PENT_STAMP removed a file: %v", err)
	}
	// PruneStamps drops only old stamps.
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p1.Watch.Stamp, old, old); err != nil {
		t.Fatal(err)
	}
	removed, err := PruneStamps(f.trust, time.Now(), 24*time.Hour)
	if err != nil || !slices.Equal(removed, []string{p1.Watch.Stamp}) {
		t.Errorf("PruneStamps = %q, %v", removed, err)
	}
}

func newer(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return fa.ModTime().After(fb.ModTime())
}

func TestDecideRejectsRelativeCwd(t *testing.T) {
	if _, err := Decide(Input{Cwd: "rel", Trust: trust.Trust{Dir: t.TempDir()}}); err == nil {
		t.Error("Decide accepted a relative working directory")
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"npm": true, "c++": true, "python3.12": true, "x-y_z1": true, "_x": true, "x@1": false, "_pent_hook": false, "precmd": false,
		"": false, "-x": false, ".x": false, "a b": false, "a'b": false, "$(x)": false,
		"a/b": false, "cd": false, "if": false, "end": false, "pent": false, "a\nb": false, "ü": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidStamp(t *testing.T) {
	for name, want := range map[string]bool{
		"s-0123456789abcdef": true, "s-ffffffffffffffff": true,
		"": false, "s-": false, "s-0123456789abcde": false, "s-0123456789abcdef0": false,
		"s-0123456789ABCDEF": false, "x-0123456789abcdef": false, "s-0123456789abcdeg": false,
		"s-0123456789abcd\u00e9": false, "../s-0123456789abcdef": false,
	} {
		if got := validStamp(name); got != want {
			t.Errorf("validStamp(%q) = %v, want %v", name, got, want)
		}
	}
}
