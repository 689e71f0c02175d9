package sandbox

import (
	"reflect"
	"testing"

	"github.com/pent-sandbox/pent/internal/testutil"
)

// TestInitIsCheap: every start of pent and of its init stage initialises
// this package, so it compiles nothing (regular expressions are compiled on
// first use) and builds no tables there.
func TestInitIsCheap(t *testing.T) {
	const most = 50 // 22 on Linux/amd64 with Go 1.26; 392 when the AppArmor expressions were compiled at init
	if n := testutil.InitAllocs(t, reflect.TypeFor[Policy]().PkgPath()); n > most {
		t.Errorf("initialising package sandbox makes %d allocations, want at most %d: compile or build it on first use", n, most)
	}
}
