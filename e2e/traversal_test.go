//go:build linux

package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTraversal_ListsAllowedEntries: the hidden home can be listed, and
// lists only the way to what the sandbox may use — the project's path
// component and a granted dot-file — without an error and without the name
// of anything hidden (~/.ssh, ~/.aws, a sibling project).
func TestTraversal_ListsAllowedEntries(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.writeFile(filepath.Join(r.home, ".npmrc"), "fund=false\n", 0o644)
		r.writeFile(filepath.Join(r.home, "src", "secret-sibling", "notes"), "x\n", 0o644)
		res := r.pent("run", "--read", filepath.Join(r.home, ".npmrc"), "--", "sh", "-c",
			`echo "home=$(ls -A ~ | tr '\n' ' ')"; echo "src=$(ls -A ~/src | tr '\n' ' ')"`)
		res.wantCode(t, 0)
		for _, want := range []string{"home=.npmrc src ", "src=app "} {
			if !hasExactLine(res.stdout, strings.TrimSpace(want)) {
				t.Errorf("want the line %q, got:\n%s", want, res)
			}
		}
		if deniedStyle.MatchString(res.stderr) || strings.Contains(res.stderr, "cannot open") {
			t.Errorf("listing the home printed an error:\n%s", res)
		}
		for _, hidden := range []string{".ssh", ".aws", "secret-sibling", ".config"} {
			if slices.ContainsFunc(strings.Fields(res.stdout), func(f string) bool { return strings.Contains(f, hidden) }) {
				t.Errorf("the listing shows the hidden name %s:\n%s", hidden, res)
			}
		}
	})
}
