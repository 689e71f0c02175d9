//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

// TestGitDirStrays: what git never leaves in its directory (symlinks, FIFOs,
// hard links outside objects/, and lock files once the command has ended)
// is reported wherever it is beneath .git, unless it was there when the
// guard was made.
func TestGitDirStrays(t *testing.T) {
	root := t.TempDir()
	git := filepath.Join(root, ".git")
	mkTree(t, root, ".git/HEAD", ".git/logs/refs/heads/", ".git/objects/ab/cdef", ".git/refs/heads/main", ".git/old.lock")
	if err := os.Symlink("/elsewhere", filepath.Join(git, "logs", "old-link")); err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard([]string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Git) != 1 || !slices.Equal(g.Git[0].Odd, []string{"logs/old-link", "old.lock"}) {
		t.Fatalf("git directories of the guard: %+v", g.Git)
	}
	plant := []struct {
		rel   string
		make  func(p string) error
		final bool // reported only by the final sweep
	}{
		{"logs/HEAD", func(p string) error { return os.Symlink("/home/u/.bashrc", p) }, false},
		{"COMMIT_EDITMSG", func(p string) error { return os.Symlink("/home/u/victim", p) }, false},
		{"logs/refs/heads/main", func(p string) error { return os.Symlink("/x", p) }, false},
		{"FETCH_HEAD", func(p string) error { return syscall.Mkfifo(p, 0o644) }, false},
		{"ORIG_HEAD", func(p string) error { return os.Link(filepath.Join(git, "HEAD"), p) }, false},
		{"objects/ab/linked", func(p string) error { return os.Link(filepath.Join(git, "objects", "ab", "cdef"), p) }, false},
		{"index.lock", func(p string) error { return os.WriteFile(p, nil, 0o644) }, true},
		{"refs/heads/main.lock", func(p string) error { return os.WriteFile(p, nil, 0o644) }, true},
		// A repository hidden in objects/, which a symlink in the work
		// tree can point the host's git at; and a directory where git
		// keeps only files.
		{"objects/zz", func(p string) error { return os.Mkdir(p, 0o755) }, false},
		{"objects/ab/sub", func(p string) error { return os.Mkdir(p, 0o755) }, false},
	}
	for _, pl := range plant {
		if err := pl.make(filepath.Join(git, pl.rel)); err != nil {
			t.Fatal(err)
		}
	}
	// The directories git makes in objects/ are not strays.
	mkTree(t, git, "objects/pack/", "objects/info/commit-graphs/", "objects/0f/", "objects/incoming-Ab12/cd/", "objects/tmp_objdir-bulk-fsync-x/pack/")
	// HEAD has two links now (ORIG_HEAD is its twin), and so has the object.
	want := map[bool][]string{
		false: {"COMMIT_EDITMSG", "FETCH_HEAD", "HEAD", "ORIG_HEAD", "logs/HEAD", "logs/refs/heads/main", "objects/ab/sub", "objects/zz"},
		true:  {"COMMIT_EDITMSG", "FETCH_HEAD", "HEAD", "ORIG_HEAD", "index.lock", "logs/HEAD", "logs/refs/heads/main", "objects/ab/sub", "objects/zz", "refs/heads/main.lock"},
	}
	for final, w := range want {
		got, err := g.Git[0].Strays(final)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i] = got[i][len(git)+1:]
		}
		slices.Sort(got)
		if !slices.Equal(got, w) {
			t.Errorf("Strays(final=%v) = %q, want %q", final, got, w)
		}
	}
	for _, pl := range plant {
		_, stray := g.StrayAt(filepath.Join(git, pl.rel))
		if want := !pl.final && pl.rel != "objects/ab/linked"; stray != want {
			t.Errorf("StrayAt(%s) = %v, want %v", pl.rel, stray, want)
		}
	}
	if _, stray := g.StrayAt(filepath.Join(root, "README")); stray {
		t.Error("StrayAt reports a path outside .git")
	}
}

// TestGuardCheck: a guard read back from a record is refused unless
// NewGuard could have made it (a forged record in a writable state
// directory must not make the next pent move a host directory).
func TestGuardCheck(t *testing.T) {
	tests := []struct {
		name string
		g    Guard
		ok   bool
	}{
		{"project", Guard{Dirs: []GuardDir{{Root: "/p", Dir: "/p"}, {Root: "/p", Dir: "/p/.git", Allow: true}, {Root: "/p", Dir: "/p/.git/objects/info", Allow: true}},
			Git: []GitDir{{Root: "/p", Dir: "/p/.git"}}}, true},
		{"protected name below", Guard{Dirs: []GuardDir{{Root: "/p", Dir: "/p/ci"}}}, true},
		{"dir outside root", Guard{Dirs: []GuardDir{{Root: "/home/u/p", Dir: "/home/u/victim"}}}, false},
		{"dir climbing out", Guard{Dirs: []GuardDir{{Root: "/home/u/p", Dir: "/home/u/p/../victim"}}}, false},
		{"allowlist outside .git", Guard{Dirs: []GuardDir{{Root: "/home/u", Dir: "/home/u/victim", Allow: true}}}, false},
		{"root /", Guard{Dirs: []GuardDir{{Root: "/", Dir: "/"}}}, false},
		{"relative root", Guard{Dirs: []GuardDir{{Root: "p", Dir: "p"}}}, false},
		{"git dir elsewhere", Guard{Git: []GitDir{{Root: "/p", Dir: "/home/u/.ssh"}}}, false},
		{"nested repository", Guard{Dirs: []GuardDir{{Root: "/p", Dir: "/p/sub/.git", Allow: true}, {Root: "/p", Dir: "/p/sub/.git/info", Allow: true}},
			Git: []GitDir{{Root: "/p", Dir: "/p/sub/.git"}}}, true},
		{"allowlist at a repository's work tree", Guard{Dirs: []GuardDir{{Root: "/p", Dir: "/p/sub", Allow: true}},
			Git: []GitDir{{Root: "/p", Dir: "/p/sub/.git"}}}, false},
		{"allowlist at another root's git dir", Guard{Dirs: []GuardDir{{Root: "/q", Dir: "/p/.git", Allow: true}},
			Git: []GitDir{{Root: "/p", Dir: "/p/.git"}}}, false},
		{"git dir without HEAD not named .git", Guard{Git: []GitDir{{Root: "/p", Dir: "/p/victim"}}}, false},
		{"git dir at its root", Guard{Git: []GitDir{{Root: "/p/.git", Dir: "/p/.git"}}}, false},
		{"names at home", Guard{Dirs: []GuardDir{{Root: "/home/u", Dir: "/home/u", Names: []string{".bashrc", "bin"}}}}, true},
		{"pattern at home", Guard{Dirs: []GuardDir{{Root: "/home/u", Dir: "/home/u", Names: []string{"*"}}}}, false},
		{"pattern above home", Guard{Dirs: []GuardDir{{Root: "/home", Dir: "/home", Names: []string{"u?"}}}}, false},
		{"pattern below home", Guard{Dirs: []GuardDir{{Root: "/home/u/p", Dir: "/home/u/p", Names: []string{"*.key"}}}}, true},
	}
	for _, tt := range tests {
		if err := tt.g.Check("/home/u"); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v", tt.name, err)
		}
	}
}

// TestTreeNested: protected names created below a project's top level are
// found wherever they are, unless they were there at the start; the walk
// does not enter the top-level .git, a match or a symlink.
func TestTreeNested(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "old/.envrc", "src/lib/", ".git/modules/x/.git/", ".envrc", "vendor/y/.git/config")
	if err := os.Symlink(root, filepath.Join(root, "loop")); err != nil {
		t.Fatal(err)
	}
	var g Guard
	if err := g.AddTrees([]string{root}, []string{"secret.txt", "ci/deploy.sh"}); err != nil {
		t.Fatal(err)
	}
	if len(g.Trees) != 1 || !slices.Equal(g.Trees[0].Existing, []string{"old/.envrc", "vendor/y/.git"}) ||
		!slices.Contains(g.Trees[0].Names, "secret.txt") || slices.Contains(g.Trees[0].Names, "ci/deploy.sh") {
		t.Fatalf("trees: %+v", g.Trees)
	}
	mkTree(t, root, "sub/.git/config", "src/lib/.envrc", "a/b/c/.claude/settings.json", "a/secret.txt", ".mcp.json", "src/.envrc2")
	if err := os.WriteFile(filepath.Join(root, "sub", "gitfile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/elsewhere", filepath.Join(root, "src", ".vscode")); err != nil {
		t.Fatal(err)
	}
	got, err := g.Trees[0].Nested()
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = got[i][len(root)+1:]
	}
	want := []string{"a/b/c/.claude", "a/secret.txt", "src/.vscode", "src/lib/.envrc", "sub/.git"}
	if !slices.Equal(got, want) {
		t.Errorf("Nested() = %q, want %q", got, want)
	}
	var moved []string
	if err := g.FinalSweep(func(_, p string) error { moved = append(moved, p); return nil }); err != nil || len(moved) != len(want) {
		t.Errorf("FinalSweep moved %q: %v", moved, err)
	}
	moved = nil
	if err := g.Sweep(func(_, p string) error { moved = append(moved, p); return nil }); err != nil || len(moved) != 0 {
		t.Errorf("Sweep during the run walked the tree: %q %v", moved, err)
	}
}

// BenchmarkTreeNested is the cost of one search of a 20,000-file project
// (400 directories of 50 files); a run pays it twice.
func BenchmarkTreeNested(b *testing.B) {
	root := b.TempDir()
	for d := range 400 {
		dir := filepath.Join(root, "pkg", string(rune('a'+d%26)), fmt.Sprint(d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 50 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.go", f)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	t := Tree{Root: root, Names: protectedNames}
	b.ResetTimer()
	for b.Loop() {
		if _, err := t.Nested(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGuardMissing: a host-executed location missing beneath a grant is
// guarded at its deepest existing directory, merged with a guard of that
// directory; a grant that does not exist, or a location that does, adds
// nothing.
func TestGuardMissing(t *testing.T) {
	home := t.TempDir()
	mkTree(t, home, ".cargo/registry/", ".claude/existing.json", ".claude/settings.json")
	locs := scope.HostExecutedLocations(home, nil, "")
	var g Guard
	grants := []string{filepath.Join(home, ".cargo"), filepath.Join(home, ".claude"), filepath.Join(home, ".npm")}
	if err := g.GuardMissing(grants, locs); err != nil {
		t.Fatal(err)
	}
	byDir := map[string][]string{}
	for _, d := range g.Dirs {
		if d.Allow {
			t.Errorf("allowlist for %s", d.Dir)
		}
		byDir[d.Dir[len(home)+1:]] = d.Names
	}
	if len(byDir) != 2 || !slices.Contains(byDir[".cargo"], "bin") || !slices.Contains(byDir[".cargo"], "config.toml") ||
		!slices.Contains(byDir[".claude"], "hooks") || slices.Contains(byDir[".claude"], "settings.json") {
		t.Errorf("guarded: %v", byDir)
	}
	var moved []string
	mkTree(t, home, ".cargo/bin/x", ".cargo/registry/crate", ".claude/hooks")
	if err := g.Sweep(func(_, p string) error { moved = append(moved, p[len(home)+1:]); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved, []string{".cargo/bin", ".claude/hooks"}) {
		t.Errorf("swept %q", moved)
	}
}

// TestWalkTooDeep: a directory deeper than PATH_MAX neither ends the walks
// nor hides a stray beside it; a match found that deep is listed by its
// deepest ancestor a move can reach. (The unreadable directory of the same
// attack is in the e2e attempt TestEscape/host-integrity/walk-errors: root reads a 000
// directory anyway.)
func TestWalkTooDeep(t *testing.T) {
	root := t.TempDir()
	gitDir := filepath.Join(root, ".git")
	mkTree(t, root, ".git/BISECT_a/", ".git/refs/heads/", "aaa/")
	deep := func(dir string) string {
		r, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		var rel string
		name := strings.Repeat("d", 200)
		for range 25 {
			if err := r.Mkdir(name, 0o755); err != nil {
				t.Fatal(err)
			}
			next, err := r.OpenRoot(name)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			r, rel = next, filepath.Join(rel, name)
		}
		if err := r.Mkdir(".envrc", 0o755); err != nil {
			t.Fatal(err)
		}
		r.Close()
		return filepath.Join(rel, ".envrc")
	}
	deep(filepath.Join(gitDir, "BISECT_a"))
	envrc := deep(filepath.Join(root, "aaa"))
	if err := os.Symlink("/etc/passwd", filepath.Join(gitDir, "refs", "heads", "planted")); err != nil {
		t.Fatal(err)
	}
	got, err := GitDir{Root: root, Dir: gitDir}.Strays(false)
	if want := []string{filepath.Join(gitDir, "refs", "heads", "planted")}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Strays() = %q, %v; want %q", got, err, want)
	}
	found, err := Tree{Root: root, Names: protectedNames}.Nested()
	want := movable(root, filepath.Join("aaa", envrc))
	if err != nil || !slices.Equal(found, []string{want}) || len(want) > maxPath || !strings.HasPrefix(filepath.Join(root, "aaa", envrc), want+"/") {
		t.Errorf("Nested() = %q, %v; want %q", found, err, want)
	}
	if _, err := os.Lstat(want); err != nil {
		t.Errorf("the listed ancestor cannot be reached: %v", err)
	}
}

// TestUnsafeState: a todo list is unsafe when it holds an exec line that
// was not there at the start, a counter when it is not a plain number;
// other git state is never read.
func TestUnsafeState(t *testing.T) {
	tests := []struct {
		rel, content string
		exec         []string
		want         bool
	}{
		{"rebase-merge/git-rebase-todo", "pick 1234 a\n# exec touch x\nbreak\n", nil, false},
		{"rebase-merge/git-rebase-todo", "pick 1234 a\nexec make test\n", nil, true},
		{"rebase-merge/git-rebase-todo", "  x\tmake test\n", nil, true},
		{"rebase-merge/git-rebase-todo", "pick 1234 a\nexec make test\n", []string{"rebase-merge/git-rebase-todo exec make test"}, false},
		{"sequencer/todo", "EXEC id\n", nil, true},
		{"rebase-merge/msgnum", "12\n", nil, false},
		{"rebase-merge/end", "3", nil, false},
		{"rebase-merge/msgnum", "1$(touch x)\n", nil, true},
		{"rebase-apply/next", "\n", nil, true},
		{"rebase-apply/last", "2\n\n", nil, true},
		{"rebase-merge/head-name", "$(x)", nil, false},
		{"rebase-merge/done", "exec x\n", nil, false},
		{"rebase-merge/strategy", "ort\n", nil, false},
		{"rebase-merge/strategy", "x/../.git/objects/ev\n", nil, true},
		{"rebase-merge/strategy", "ort; touch x\n", nil, true},
		{"sequencer/opts", "[options]\n\tstrategy = recursive\n\tstrategy-option = theirs\n", nil, false},
		{"sequencer/opts", "[options]\n\tstrategy = x/../../evil\n", nil, true},
		{"sequencer/opts", "[options]\n\tStrategy = \"x/../evil\"\n", nil, true},
		{"sequencer/opts", "[options] strategy = x/../evil\n", nil, true},
		{"sequencer/opts", "[options]\n\tstrategy = x\\\n/../evil\n", nil, true},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		mkTree(t, dir, tt.rel)
		if err := os.WriteFile(filepath.Join(dir, tt.rel), []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := unsafeState(dir, tt.rel, tt.exec); err != nil || got != tt.want {
			t.Errorf("unsafeState(%s, %q) = %v, %v; want %v", tt.rel, tt.content, got, err, tt.want)
		}
	}
	dir := t.TempDir()
	mkTree(t, dir, "rebase-merge/")
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "rebase-merge", "msgnum")); err != nil {
		t.Fatal(err)
	}
	if _, err := unsafeState(dir, "rebase-merge/msgnum", nil); err == nil {
		t.Error("unsafeState followed a symlink")
	}
}

// FuzzExecLines: every line execLines reports is one of the todo list's
// lines, named by the file.
func FuzzExecLines(f *testing.F) {
	f.Add([]byte("pick 1 a\nexec make\n x\tls\n#exec no\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range execLines("sequencer/todo", data) {
			line, ok := strings.CutPrefix(l, "sequencer/todo ")
			if !ok || !strings.Contains(string(data), line) {
				t.Fatalf("execLines reported %q for %q", l, data)
			}
		}
	})
}

// TestGuardNestedRepos: repositories found below a project's or a grant's
// top level are guarded like the project's own (their configuration and
// hooks read-only, their directories watched by the allowlist); a gitdir
// file stays as it is and the git directory it names inside the root is
// guarded too (once), not one outside it; a grant larger than the limit is
// refused.
func TestGuardNestedRepos(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "sub/.git/HEAD", "sub/.git/config", "sub/.git/hooks/", "sub/.git/objects/info/",
		"sep.git/HEAD", "sep.git/config", "sep.git/objects/", "sep.git/refs/", "far/.git/HEAD", "in/.git/modules/m/config")
	for _, f := range []struct{ rel, data string }{{"sep/.git", "gitdir: ../sep.git\n"}, {"out/.git", "gitdir: /etc\n"}, {"in/m/.git", "gitdir: ../.git/modules/m\n"}} {
		mkTree(t, root, f.rel)
		if err := os.WriteFile(filepath.Join(root, f.rel), []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, add := range []func(g *Guard) error{
		func(g *Guard) error { return g.AddTrees([]string{root}, nil) },
		func(g *Guard) error { return g.AddGrantRepos([]string{root}) },
	} {
		var g Guard
		if err := add(&g); err != nil {
			t.Fatal(err)
		}
		var gits []string
		for _, gd := range g.Git {
			gits = append(gits, gd.Dir[len(root)+1:])
		}
		slices.Sort(gits)
		if want := []string{"far/.git", "in/.git", "sep.git", "sub/.git"}; !slices.Equal(gits, want) {
			t.Errorf("git directories %q, want %q", gits, want)
		}
		protected := g.Protected()
		for _, rel := range []string{"sub/.git/config", "sub/.git/hooks", "sep/.git", "sep.git/config", "out/.git", "in/m/.git", "in/.git/modules"} {
			if !slices.Contains(protected, filepath.Join(root, rel)) {
				t.Errorf("%s is not protected: %q", rel, protected)
			}
		}
		if err := g.Check("/home/u"); err != nil {
			t.Errorf("Check() = %v", err)
		}
	}
	var g Guard
	if err := g.addGrantRepos([]string{root}, 3); err == nil || !strings.Contains(err.Error(), "more than 3 directories") {
		t.Errorf("a grant over the limit: %v", err)
	}
}

func FuzzGitdirTarget(f *testing.F) {
	for _, s := range []string{"gitdir: ../x\n", "gitdir: /abs/path", "gitdir: \n", "gitdir:x", "gitdir: a\r\nb", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		got, ok := gitdirTarget("/p/sub/.git", []byte(data))
		if ok && (!filepath.IsAbs(got) || filepath.Clean(got) != got || strings.Contains(got, "\n")) {
			t.Errorf("gitdirTarget(%q) = %q", data, got)
		}
	})
}
