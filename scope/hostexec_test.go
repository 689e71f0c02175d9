package scope

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestHostExecutedLocations(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".gem/ruby/3.2.0/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	locs := HostExecutedLocations(home, []string{"/usr/bin", "relative/bin", "/proj/node_modules/.bin", home, "/usr/bin"}, "/proj")
	var paths []string
	for _, l := range locs {
		if l.Why == "" {
			t.Errorf("%s has no reason", l.Path)
		}
		paths = append(paths, l.Path)
	}
	for _, want := range []string{
		filepath.Join(home, ".bashrc"), filepath.Join(home, ".cargo/bin"), filepath.Join(home, ".cargo/env"),
		filepath.Join(home, ".gem/ruby/3.2.0/bin"), filepath.Join(home, ".claude/settings.json"), "/usr/bin",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("%s is not listed", want)
		}
	}
	for _, unwanted := range []string{filepath.Join(home, ".gem/ruby/*/bin"), "/proj/node_modules/.bin", home, "relative/bin"} {
		if slices.Contains(paths, unwanted) {
			t.Errorf("%s is listed", unwanted)
		}
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			t.Errorf("%s is listed twice", p)
		}
		seen[p] = true
	}
}

func TestHostExecutedInAndBeneath(t *testing.T) {
	locs := []HostExecuted{{Path: "/h/.cargo/bin", Why: "path"}, {Path: "/h/.cargo/env", Why: "rc"}, {Path: "/h/.bashrc", Why: "rc"}}
	tests := []struct {
		grant   string
		in      string
		beneath []string
	}{
		{"/h/.cargo", "", []string{"/h/.cargo/bin", "/h/.cargo/env"}},
		{"/h/.cargo/bin", "/h/.cargo/bin", nil},
		{"/h/.cargo/bin/x", "/h/.cargo/bin", nil},
		{"/h/.cargo/registry", "", nil},
		{"/h/.cargo/binaries", "", nil},
		{"/h", "", []string{"/h/.cargo/bin", "/h/.cargo/env", "/h/.bashrc"}},
		{"/", "", []string{"/h/.cargo/bin", "/h/.cargo/env", "/h/.bashrc"}},
	}
	for _, tt := range tests {
		l, ok := HostExecutedIn(tt.grant, locs)
		if ok != (tt.in != "") || l.Path != tt.in {
			t.Errorf("HostExecutedIn(%s) = %v, %v; want %q", tt.grant, l, ok, tt.in)
		}
		var got []string
		for _, l := range HostExecutedBeneath(tt.grant, locs) {
			got = append(got, l.Path)
		}
		if !slices.Equal(got, tt.beneath) {
			t.Errorf("HostExecutedBeneath(%s) = %v, want %v", tt.grant, got, tt.beneath)
		}
	}
}

// BenchmarkHostExecutedLocations is the cost every `pent run` pays for the
// list (one lstat per location, two globs).
func BenchmarkHostExecutedLocations(b *testing.B) {
	home := b.TempDir()
	path := []string{"/usr/local/bin", "/usr/bin", "/bin", filepath.Join(home, ".local/bin")}
	for b.Loop() {
		HostExecutedLocations(home, path, "/proj")
	}
}
