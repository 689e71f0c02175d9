package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGuardWatchReplaced: a NAME.lock created beside a protected entry that
// existed at the start is reported (git config's way of replacing
// .git/config); a lock beside an entry git may write, beside a protected
// name that did not exist, or a name that is not a lock is not.
func TestGuardWatchReplaced(t *testing.T) {
	tests := []struct {
		name   string
		create string
		want   []string
	}{
		{"lock beside a protected entry", "config.lock", []string{"config"}},
		{"lock beside an entry git writes", "HEAD.lock", nil},
		{"lock beside a protected name that did not exist", "hooks.lock", nil},
		{"not a lock", "config.new", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []string{"config", "HEAD"} {
				if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g := Guard{Dirs: []GuardDir{{Root: dir, Dir: dir, Allow: true, Names: []string{"HEAD", "*.lock"}, Existing: []string{"config", "HEAD"}}}}
			w, err := WatchGuard(g, func(_, path string) error { return os.Remove(path) })
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, tc.create), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := w.Stop(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range tc.want {
				want = append(want, filepath.Join(dir, n))
			}
			if got := w.Replaced(); !slices.Equal(got, want) {
				t.Errorf("creating %s: Replaced() = %v, want %v", tc.create, got, want)
			}
		})
	}
}
