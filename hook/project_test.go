package hook

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindProject(t *testing.T) {
	root := t.TempDir()
	mk := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if content == "/" {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("a/.pent.toml", "")
	mk("a/b/c/d/keep", "")
	mk("seed/.pent/pent.toml", "")
	mk("seed/sub/keep", "")
	mk("both/.pent.toml", "")
	mk("both/.pent/pent.toml", "")
	mk("dirnamed/.pent.toml/", "/")
	mk("dirnamed/x/keep", "")
	mk("nested/.pent.toml", "")
	mk("nested/inner/.pent/pent.toml", "")
	mk("nested/inner/deep/keep", "")
	mk("sp ace/'q\"$`ü/.pent.toml", "")
	mk("none/x/keep", "")

	tests := []struct {
		name, dir, file, root string
		ok                    bool
	}{
		{"in root", "a", "a/.pent.toml", "a", true},
		{"deep subdir", "a/b/c/d", "a/.pent.toml", "a", true},
		{"seed location", "seed/sub", "seed/.pent/pent.toml", "seed", true},
		{"inside .pent dir itself", "seed/.pent", "seed/.pent/pent.toml", "seed", true},
		{"dot file wins over seed file", "both", "both/.pent.toml", "both", true},
		{"directory named .pent.toml ignored", "dirnamed/x", "", "", false},
		{"nearest wins", "nested/inner/deep", "nested/inner/.pent/pent.toml", "nested/inner", true},
		{"odd characters", "sp ace/'q\"$`ü", "sp ace/'q\"$`ü/.pent.toml", "sp ace/'q\"$`ü", true},
		{"relative dot segments", "a/b/../b/c", "a/.pent.toml", "a", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file, r, ok := FindProject(filepath.Join(root, tc.dir))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (file %q)", ok, tc.ok, file)
			}
			if !ok {
				return
			}
			if want := filepath.Join(root, tc.file); file != want {
				t.Errorf("file = %q, want %q", file, want)
			}
			if want := filepath.Join(root, tc.root); r != want {
				t.Errorf("root = %q, want %q", r, want)
			}
		})
	}
	// Without a project anywhere up to / (the temp dir's ancestors have none).
	if file, _, ok := FindProject(filepath.Join(root, "none/x")); ok {
		t.Errorf("found %q in a tree without a project file", file)
	}
}
