//go:build darwin

package sandbox

import (
	"reflect"
	"testing"

	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/seatbelt"
)

// TestSeatbeltProfile checks the one conversion from Policy to the
// generator's input: every path list the profile must honour is carried
// over, masked and private-/tmp paths both become hidden, and the policy's
// lists are not written through.
func TestSeatbeltProfile(t *testing.T) {
	masked := make([]string, 1, 4)
	masked[0] = "/Users/alice"
	p := Policy{
		Command:    []string{"/usr/bin/make"},
		Dir:        "/Users/alice/src/app",
		Network:    scope.NetProxy,
		Read:       []string{"/etc"},
		Execute:    []string{"/usr"},
		Write:      []string{"/Users/alice/src/app"},
		Traverse:   []string{"/Users/alice/.config"},
		Protected:  []string{"/Users/alice/src/app/.pent.toml"},
		Masked:     masked,
		PrivateTmp: []string{"/tmp"},
	}
	want := seatbelt.Profile{
		Read:      []string{"/etc"},
		Execute:   []string{"/usr"},
		Write:     []string{"/Users/alice/src/app"},
		Traverse:  []string{"/Users/alice/.config"},
		Protected: []string{"/Users/alice/src/app/.pent.toml"},
		Hidden:    []string{"/Users/alice", "/tmp"},
		Dir:       "/Users/alice/src/app",
		Network:   scope.NetProxy,
		ProxyPort: 41000,
		TmpDir:    "/private/var/folders/x/T/pent-tmp-1",
	}
	got := seatbeltProfile(p, want.TmpDir, want.ProxyPort)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("seatbeltProfile =\n%+v\nwant\n%+v", got, want)
	}
	if extra := masked[:2][1]; extra != "" {
		t.Errorf("seatbeltProfile wrote %q into the spare capacity of Policy.Masked", extra)
	}
}
