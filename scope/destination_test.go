package scope

import (
	"net/netip"
	"testing"
)

func TestParseDestination(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     string
		upstream bool
	}{
		{"127.0.0.0/8", "127.0.0.0/8", false},
		{"10.1.2.3", "10.1.2.3/32", false},
		{"upstream:127.0.0.0/8", "127.0.0.0/8", true},
		{"upstream:127.0.0.1", "127.0.0.1/32", true},
		{"upstream:::1", "::1/128", true},
		{"upstream:127.0.0.0/7", "", false},
		{"upstream:::/0", "", false},
		{"upstream:10.0.0.0/8", "", false},
		{"upstream:upstream:127.0.0.0/8", "", false},
		{"UPSTREAM:127.0.0.0/8", "", false},
		{"fe80::1%eth0", "", false},
	} {
		pfx, upstream, err := ParseDestination(tc.in)
		if (err == nil) != (tc.want != "") || (err == nil && (pfx.String() != tc.want || upstream != tc.upstream)) {
			t.Errorf("ParseDestination(%q) = %v, %v, %v; want %q, %v", tc.in, pfx, upstream, err, tc.want, tc.upstream)
		}
	}
}

func FuzzParseDestination(f *testing.F) {
	for _, s := range []string{"127.0.0.0/8", "upstream:127.0.0.0/8", "upstream:::1", "::/0", "10.1.2.3", "upstream:0.0.0.0/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pfx, upstream, err := ParseDestination(s)
		if err != nil {
			return
		}
		if pfx != pfx.Masked() {
			t.Fatalf("ParseDestination(%q) = %v, not masked", s, pfx)
		}
		within := pfx.Bits() == 128 && pfx.Addr().IsLoopback() ||
			pfx.Addr().Is4() && pfx.Bits() >= 8 && netip.MustParsePrefix("127.0.0.0/8").Contains(pfx.Addr())
		if upstream && !within {
			t.Fatalf("ParseDestination(%q) marks %v, not within loopback, for upstream names", s, pfx)
		}
	})
}
