package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mkTree creates the files (ending without "/") and directories (ending
// with "/") under dir.
func mkTree(t *testing.T, dir string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(dir, p)
		if p[len(p)-1] == '/' {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGuardDirForbidden(t *testing.T) {
	git := GuardDir{Allow: true, Names: gitStateNames}
	info := GuardDir{Allow: true, Names: gitObjectsInfoNames}
	root := GuardDir{Names: protectedNames}
	tests := []struct {
		d         GuardDir
		name      string
		forbidden bool
	}{
		{git, "HEAD", false}, {git, "index.lock", false}, {git, "MERGE_MSG", false}, {git, "BISECT_LOG", false},
		{git, "sharedindex.0123", false}, {git, "rebase-merge", false}, {git, "objects", false},
		{git, "config", true}, {git, "config.worktree", true}, {git, "commondir", true}, {git, "hooks", true},
		{git, "info", true}, {git, "modules", true}, {git, "worktrees", true}, {git, "gitdir", true},
		{git, "HEAD.new", true}, {git, "description", true},
		{git, "index.stash.12", false},
		{info, "packs", false}, {info, "packs_AbC123", false}, {info, "commit-graph", false}, {info, "commit-graph.lock", false},
		{info, "alternates", true}, {info, "http-alternates", true},
		{root, ".envrc", true}, {root, ".claude", true}, {root, ".mcp.json", true}, {root, ".git", true},
		{root, "src", false}, {root, ".github", false}, {root, ".envrc2", false},
	}
	for _, tt := range tests {
		if got := tt.d.Forbidden(tt.name); got != tt.forbidden {
			t.Errorf("Forbidden(%q) in %v = %v", tt.name, tt.d.Names, got)
		}
	}
}

func TestNewGuard(t *testing.T) {
	tests := []struct {
		name      string
		tree      []string
		extra     []string
		dirs      []string // relative to the root, "." for the root
		protected []string
	}{
		{"no repository", []string{"src/"}, nil, []string{"."}, nil},
		{"repository", []string{".git/HEAD", ".git/config", ".git/hooks/", ".git/objects/info/", ".git/description", ".envrc",
			".git/info/exclude", ".git/info/refs"}, nil,
			[]string{".", ".git", ".git/info", ".git/objects/info"}, []string{".envrc", ".git/config", ".git/description", ".git/hooks", ".git/info/exclude"}},
		{"repository without objects/info", []string{".git/HEAD", ".git/objects/"}, nil,
			[]string{".", ".git", ".git/objects"}, nil},
		{"gitdir file", []string{".git"}, nil, []string{"."}, []string{".git"}},
		{"extra names", []string{".github/", "ci/deploy.sh"}, []string{".github/workflows", "ci/deploy.sh", "a/b/c"},
			[]string{".", ".github", "ci"}, []string{"ci/deploy.sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mkTree(t, root, tt.tree...)
			g, err := NewGuard([]string{root}, tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			var dirs []string
			for _, d := range g.Paths() {
				rel, _ := filepath.Rel(root, d)
				dirs = append(dirs, rel)
			}
			if !slices.Equal(dirs, tt.dirs) {
				t.Errorf("guarded %v, want %v", dirs, tt.dirs)
			}
			var prot []string
			for _, p := range g.Protected() {
				rel, _ := filepath.Rel(root, p)
				prot = append(prot, rel)
			}
			slices.Sort(prot)
			if !slices.Equal(prot, tt.protected) {
				t.Errorf("protected %v, want %v", prot, tt.protected)
			}
		})
	}
}

func TestGuardSweep(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, ".git/HEAD", ".git/config", ".git/objects/info/packs", "src/a.go")
	g, err := NewGuard([]string{root}, []string{"ci/deploy.sh"})
	if err != nil {
		t.Fatal(err)
	}
	mkTree(t, root, ".git/ORIG_HEAD", ".git/index.lock", ".git/refs/heads/x", ".git/commondir", ".git/modules/m/config",
		".git/objects/info/alternates", ".git/objects/info/commit-graph", ".envrc", ".claude/settings.json",
		"ci/deploy.sh", "src/b.go", "src/.envrc")
	var got []string
	err = g.Sweep(func(r, p string) error {
		if r != root {
			t.Errorf("root %s, want %s", r, root)
		}
		got = append(got, p)
		return os.RemoveAll(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range []string{".claude", ".envrc", "ci", ".git/commondir", ".git/modules", ".git/objects/info/alternates"} {
		want = append(want, filepath.Join(root, p))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("moved %v, want %v", got, want)
	}
	for _, keep := range []string{".git/ORIG_HEAD", ".git/index.lock", ".git/refs/heads/x", ".git/config",
		".git/objects/info/commit-graph", "src/b.go", "src/.envrc"} {
		if _, err := os.Lstat(filepath.Join(root, keep)); err != nil {
			t.Errorf("%s: %v", keep, err)
		}
	}
	// A second sweep finds nothing; an entry gone before the move is skipped.
	mkTree(t, root, ".mcp.json")
	calls := 0
	err = g.Sweep(func(string, string) error { calls++; return os.ErrNotExist })
	if err != nil || calls != 1 {
		t.Errorf("sweep of a vanished entry: %d calls, %v", calls, err)
	}
}
