package sandbox

import (
	"slices"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

func TestProtectHostExecuted(t *testing.T) {
	locs := []scope.HostExecuted{{Path: "/h/.cargo/bin", Why: "path"}, {Path: "/h/.cargo/env", Why: "rc"}, {Path: "/h/.local/bin", Why: "path"}}
	p := Policy{Write: []string{"/h/.cargo", "/h/.local/bin", "/proj"}, Protected: []string{"/proj/.envrc", "/h/.cargo/env"}}
	ProtectHostExecuted(&p, locs)
	want := []string{"/proj/.envrc", "/h/.cargo/env", "/h/.cargo/bin"}
	if !slices.Equal(p.Protected, want) {
		t.Errorf("Protected = %v, want %v (a location granted by name stays writable)", p.Protected, want)
	}
}
