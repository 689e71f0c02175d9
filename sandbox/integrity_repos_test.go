package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gitDirTree is the entries of a git directory at dir, as mkTree takes
// them: what git init makes that the guard looks at.
func gitDirTree(dir string) []string {
	var out []string
	for _, e := range []string{"HEAD", "config", "description", "hooks/", "objects/info/", "refs/heads/"} {
		out = append(out, filepath.Join(dir, e)+map[bool]string{true: "/"}[strings.HasSuffix(e, "/")])
	}
	return out
}

// writeFiles writes each file of files (path relative to dir: content).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIsGitDirectory(t *testing.T) {
	tests := []struct {
		name string
		tree []string
		want bool
	}{
		{"bare repository", gitDirTree("d"), true},
		{"linked worktree's", []string{"d/HEAD", "d/commondir", "d/index"}, true},
		{"HEAD only", []string{"d/HEAD", "d/config"}, false},
		{"no HEAD", []string{"d/objects/", "d/refs/", "d/config"}, false},
		{"HEAD a directory", []string{"d/HEAD/", "d/objects/", "d/refs/"}, false},
		{"no refs", []string{"d/HEAD", "d/objects/"}, false},
		// git asks only that objects and refs be searchable: files too.
		{"objects and refs files", []string{"d/HEAD", "d/objects", "d/refs", "d/config"}, true},
		{"plain directory", []string{"d/src/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mkTree(t, dir, tt.tree...)
			if got := isGitDirectory(filepath.Join(dir, "d")); got != tt.want {
				t.Errorf("isGitDirectory = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestGuardGitDirsEverywhere: every git directory in a place the command
// may write is guarded once, whatever its name and however git reaches
// it: bare repositories in a project and in a grant (Go's module cache), a
// grant that is one itself, the git directory a project's .git file names
// (in the project or in another writable root, through a symlink too), the
// git directory a commondir file names; what follows a gitdir file in a
// directory of a grant is searched too; not one outside every writable
// root, however a gitdir file climbs to it. A .git symlink counts as a
// gitdir file.
func TestGuardGitDirsEverywhere(t *testing.T) {
	base := t.TempDir()
	project, grant, bare := filepath.Join(base, "p"), filepath.Join(base, "go"), filepath.Join(base, "lib.git")
	var tree []string
	for _, d := range []string{"p/mirror.git", "p/.idea/common", "p/.idea/linked", "go/pkg/mod/cache/vcs/0a1b", "go/x", "go/z", "go/w/y", "lib.git", "outside"} {
		tree = append(tree, gitDirTree(d)...)
	}
	mkTree(t, base, append(tree, "p/src/", "p/wt/", "p/up/", "p/root/", "p/common/")...)
	writeFiles(t, base, map[string]string{
		"p/.git":                 "gitdir: ../go/x\n",            // the project's own, in another root
		"p/wt/.git":              "gitdir: ../.idea/wt\n",        // a linked worktree's, hidden from the tree walk
		"p/.idea/wt/HEAD":        "ref: refs/heads/main\n",       //
		"p/.idea/wt/commondir":   "../common\n",                  // whose common directory the walk does not see
		"p/up/.git":              "gitdir: ../..\n",              // the project root, not a git directory
		"p/root/.git":            "gitdir: /\n",                  //
		"p/common/.git":          "gitdir: ../../outside\n",      // outside every root
		"p/src/.git":             "gitdir: ../ln/z\n",            // through a symlink into the grant
		"go/pkg/mod/cache/vcs/x": "gitdir: ../../../../../../\n", // climbs out
		"go/w/.git":              "gitdir: ../x\n",               // a gitdir file before a sibling in the walk
	})
	if err := os.Symlink("../go", filepath.Join(project, "ln")); err != nil {
		t.Fatal(err)
	}
	mkTree(t, project, "sym/")
	if err := os.Symlink("../.idea/linked", filepath.Join(project, "sym", ".git")); err != nil {
		t.Fatal(err) // a .git symlink, to a git directory the tree walk does not see
	}
	g, err := NewGuard([]string{project, grant, bare}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddTrees([]string{project}, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.AddGrantRepos([]string{grant, bare}); err != nil {
		t.Fatal(err)
	}
	var gits []string
	for _, gd := range g.Git {
		rel, _ := filepath.Rel(base, gd.Dir)
		root, _ := filepath.Rel(base, gd.Root)
		gits = append(gits, root+":"+rel)
	}
	slices.Sort(gits)
	want := []string{"go:go/pkg/mod/cache/vcs/0a1b", "go:go/w/y", "go:go/x", "go:go/z", "lib.git:lib.git", "p:p/.idea/common", "p:p/.idea/linked", "p:p/.idea/wt", "p:p/mirror.git"}
	if !slices.Equal(gits, want) {
		t.Errorf("git directories\n%q, want\n%q", gits, want)
	}
	protected := g.Protected()
	for _, rel := range []string{"go/pkg/mod/cache/vcs/0a1b/config", "go/pkg/mod/cache/vcs/0a1b/hooks", "go/x/config", "lib.git/hooks",
		"lib.git/config", "p/mirror.git/config", "p/.idea/wt/commondir", "p/.idea/common/hooks", "p/.git", "p/src/.git"} {
		if !slices.Contains(protected, filepath.Join(base, rel)) {
			t.Errorf("%s is not protected", rel)
		}
	}
	if slices.ContainsFunc(protected, func(p string) bool { return strings.HasPrefix(p, filepath.Join(base, "outside")) }) {
		t.Errorf("a git directory outside every root is guarded: %q", protected)
	}
	var dirs []string
	for _, d := range g.Paths() {
		if slices.Contains(dirs, d) {
			t.Errorf("%s is guarded twice", d)
		}
		dirs = append(dirs, d)
	}
	if err := g.Check("/home/u"); err != nil {
		t.Errorf("Check() = %v", err)
	}
}

// TestGuardCheckGitDirAtRoot: a record's git directory may be its root
// only when it holds a HEAD (a bare repository granted read-write).
func TestGuardCheckGitDirAtRoot(t *testing.T) {
	base := t.TempDir()
	mkTree(t, base, append(gitDirTree("bare"), "plain/src/")...)
	for _, tt := range []struct {
		dir string
		ok  bool
	}{{"bare", true}, {"plain", false}} {
		dir := filepath.Join(base, tt.dir)
		g := Guard{Dirs: []GuardDir{{Root: dir, Dir: dir, Allow: true, Names: gitStateNames}}, Git: []GitDir{{Root: dir, Dir: dir}}}
		if err := g.Check("/home/u"); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v", tt.dir, err)
		}
	}
}

// TestTreeNestedGitDirs: a git directory made during the run anywhere in
// the project (a bare repository the host's git would enter, the project
// root itself made one: its HEAD) is found by the final search, by its
// content, not one there at the start; the search does not go past a git
// directory's HEAD.
func TestTreeNestedGitDirs(t *testing.T) {
	tests := []struct {
		name        string
		start, made []string
		want        []string
	}{
		{"bare repositories", append(gitDirTree("old.git"), "src/", "old.git/.envrc"),
			append(append(gitDirTree("new.git"), gitDirTree("src/deep/r")...), "src/HEAD", "src/objects/", "new.git/x/.envrc", "old.git/y/.envrc"),
			[]string{"new.git", "src/deep/r"}},
		{"the root made one", []string{"src/"}, []string{"HEAD", "objects/", "refs/", "config", "src/.envrc"}, []string{"HEAD", "src/.envrc"}},
		{"the root one at the start", gitDirTree("."), []string{"src/.envrc"}, []string{"src/.envrc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mkTree(t, root, tt.start...)
			var g Guard
			if err := g.AddTrees([]string{root}, nil); err != nil {
				t.Fatal(err)
			}
			mkTree(t, root, tt.made...)
			got, err := g.Trees[0].Nested()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i] = got[i][len(root)+1:]
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Nested() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGuardProtectsNestedNames: the protected names that exist below a
// project's top level when the run starts stay read-only inside (the final
// sweep takes only new ones): pkg/.envrc, pkg/.claude, pkg/.vscode. A nested
// repository's .git is guarded entry by entry instead.
func TestGuardProtectsNestedNames(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "pkg/.envrc", "pkg/.claude/settings.json", "pkg/.vscode/", "a/b/.mcp.json", "sub/.git/HEAD", "sub/.git/objects/", "sub/.git/refs/", "src/main.go")
	g, err := NewGuard([]string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddTrees([]string{root}, nil); err != nil {
		t.Fatal(err)
	}
	protected := g.Protected()
	for _, rel := range []string{"pkg/.envrc", "pkg/.claude", "pkg/.vscode", "a/b/.mcp.json"} {
		if !slices.Contains(protected, filepath.Join(root, rel)) {
			t.Errorf("%s is not protected: %q", rel, protected)
		}
	}
	for _, rel := range []string{"sub/.git", "src/main.go", "src"} {
		if slices.Contains(protected, filepath.Join(root, rel)) {
			t.Errorf("%s is protected as a whole", rel)
		}
	}
}

// TestGuardGrantReposMadeDuringRun: a repository the command creates in a
// grant (a bare one in Go's VCS cache, a .git anywhere) is found by the
// final sweep; the ones that were there are not.
func TestGuardGrantReposMadeDuringRun(t *testing.T) {
	base := t.TempDir()
	grant := filepath.Join(base, "go")
	mkTree(t, base, gitDirTree("go/pkg/mod/cache/vcs/old")...)
	mkTree(t, base, "go/src/x/.git/HEAD", "go/pkg/mod/m@v1/go.mod")
	var g Guard
	if err := g.AddGrantRepos([]string{grant}); err != nil {
		t.Fatal(err)
	}
	mkTree(t, base, gitDirTree("go/pkg/mod/cache/vcs/new")...)
	mkTree(t, base, "go/src/y/.git/HEAD", "go/pkg/mod/m@v1/other.go")
	var moved []string
	if err := g.FinalSweep(func(root, p string) error {
		if root != grant {
			t.Errorf("moved %s for root %s", p, root)
		}
		moved = append(moved, p[len(grant)+1:])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(moved)
	if want := []string{"pkg/mod/cache/vcs/new", "src/y/.git"}; !slices.Equal(moved, want) {
		t.Errorf("moved %q, want %q", moved, want)
	}
}
