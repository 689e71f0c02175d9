package statedir

import (
	"path/filepath"
	"testing"
)

// TestProject: a project's state directory is below the state directory,
// named for people by the root's base name and told apart by the root's
// hash; names that are not plain are made so.
func TestProject(t *testing.T) {
	tests := []struct{ root, want string }{
		{"/home/u/src/app", "/s/projects/app-" + Hash("/home/u/src/app")},
		{"/home/u/other/app", "/s/projects/app-" + Hash("/home/u/other/app")},
		{"/home/u/my app\n", "/s/projects/my_app_-" + Hash("/home/u/my app\n")},
		{"/home/u/..", "/s/projects/_-" + Hash("/home/u/..")},
		{"/", "/s/projects/_-" + Hash("/")},
		{"/home/u/naïve", "/s/projects/na_ve-" + Hash("/home/u/naïve")},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := Project("/s", tt.root)
		if got != tt.want || filepath.Dir(got) != "/s/projects" {
			t.Errorf("Project(/s, %q) = %q, want %q", tt.root, got, tt.want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share %s", tt.root, other, got)
		}
		seen[got] = tt.root
	}
	if len(Hash("/a")) != 16 || Hash("/a") == Hash("/b") {
		t.Errorf("Hash is not 16 hex digits that tell roots apart: %q %q", Hash("/a"), Hash("/b"))
	}
}
