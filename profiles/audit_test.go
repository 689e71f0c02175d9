package profiles_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/scope"
)

// TestBuiltinGrantsNothingHostExecuted checks every built-in read_write
// path against the one list of host-executed locations (SPEC §13): none may
// be such a location or lie inside one. Locations beneath a read_write
// directory are kept read-only by sandbox.ProtectHostExecuted.
func TestBuiltinGrantsNothingHostExecuted(t *testing.T) {
	home := "/home/u"
	path := []string{"/usr/local/bin", "/usr/bin", "/bin", "/opt/homebrew/bin", "/home/linuxbrew/.linuxbrew/bin", home + "/.local/bin"}
	locs := scope.HostExecutedLocations(home, path, "")
	for _, p := range profiles.Builtin() {
		for _, rw := range p.ReadWrite {
			abs := filepath.Join(home, strings.TrimPrefix(rw, "~"))
			if !strings.HasPrefix(rw, "~") {
				abs = rw
			}
			if l, ok := scope.HostExecutedIn(abs, locs); ok {
				t.Errorf("%s grants %s read_write, inside %s (%s)", p.Name, rw, l.Path, l.Why)
			}
			// A system PATH directory beneath a grant is a prefix whose
			// bin/ links into its siblings (Homebrew's Cellar): keeping
			// bin/ read-only would not keep the programs unchanged.
			for _, dir := range path[:5] {
				if strings.HasPrefix(dir, abs+"/") {
					t.Errorf("%s grants %s read_write, an install prefix holding the PATH directory %s", p.Name, rw, dir)
				}
			}
		}
	}
}
