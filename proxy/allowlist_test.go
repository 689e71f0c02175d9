package proxy

import (
	"strings"
	"testing"
)

func TestAllowlist(t *testing.T) {
	a, err := ParseAllowlist([]string{
		"registry.npmjs.org", "*.npmjs.org", "**.example.com", "github.com:22", "github.com:443",
		"Upper.Test.", "xn--bcher-kva.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		port int
		want bool
	}{
		{"registry.npmjs.org", 443, true},
		{"registry.npmjs.org", 8443, true}, // no port in the entry: any port
		{"REGISTRY.NPMJS.ORG.", 443, true},
		{"a.npmjs.org", 80, true},
		{"npmjs.org", 443, false},     // *. needs exactly one extra label
		{"a.b.npmjs.org", 443, false}, // ... not two
		{"evilnpmjs.org", 443, false},
		{"a.example.com", 443, true},
		{"a.b.c.example.com", 443, true},
		{"example.com", 443, false}, // **. needs at least one label
		{"example.com.evil.org", 443, false},
		{"github.com", 22, true},
		{"github.com", 443, true},
		{"github.com", 80, false},
		{"www.github.com", 22, false},
		{"upper.test", 1, true},
		{"xn--bcher-kva.example", 443, true},
		{"bücher.example", 443, false}, // non-ASCII never matches
		{"registry.npmjs.org", 0, false},
		{"registry.npmjs.org", 70000, false},
		{"", 443, false},
		{"a..npmjs.org", 443, false},
		{"127.0.0.1", 443, false},
	}
	for _, tc := range tests {
		if got := a.Allows(tc.name, tc.port); got != tc.want {
			t.Errorf("Allows(%q, %d) = %v, want %v", tc.name, tc.port, got, tc.want)
		}
	}
	if !a.AllowsName("github.com") || a.AllowsName("gitlab.com") {
		t.Error("AllowsName wrong")
	}
	var zero *Allowlist
	if zero.Allows("github.com", 443) || (&Allowlist{}).Allows("github.com", 443) {
		t.Error("empty allowlist allows")
	}
}

func TestParseAllowlistErrors(t *testing.T) {
	for _, bad := range []string{
		"", " a.com", "a.com:", "a.com:0", "a.com:65536", "a.com:+5", "a.com:022", "a.com:x",
		"*", "**", "*.", "a.*.com", "*a.com", "bücher.de", "a b.com", "1.2.3.4", "*.1.2.3.4:5" + "x",
		"[::1]:80", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 130) + "com", "a..com", ".a.com",
	} {
		if _, err := ParseAllowlist([]string{bad}); err == nil {
			t.Errorf("ParseAllowlist(%q) succeeded, want error", bad)
		}
	}
}

func FuzzAllowlist(f *testing.F) {
	for _, s := range []string{"registry.npmjs.org|registry.npmjs.org|443", "*.npmjs.org|a.npmjs.org|1",
		"**.example.com:22|a.b.example.com|22", "github.com:22|GITHUB.COM.|80", "xn--e1a.x|bücher.x|1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		parts := strings.SplitN(in, "|", 3)
		if len(parts) != 3 {
			return
		}
		a, err := ParseAllowlist([]string{parts[0]})
		if err != nil {
			return
		}
		port := len(parts[2]) * 40
		got := a.Allows(parts[1], port)
		// Invariants: matching is case- and trailing-dot-insensitive, never
		// matches a non-name, and a wildcard never matches its bare suffix.
		if isASCII(parts[1]) && !strings.HasSuffix(parts[1], ".") && got != a.Allows(strings.ToUpper(parts[1])+".", port) {
			t.Fatalf("case or trailing dot changed the decision for %q", parts[1])
		}
		if got {
			if _, err := CanonicalName(parts[1]); err != nil {
				t.Fatalf("allowed invalid name %q", parts[1])
			}
		}
		if r := a.rules[0]; r.kind != matchExact && a.Allows(r.suffix, port) && r.port == 0 {
			t.Fatalf("wildcard %q matched its bare suffix", parts[0])
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzCanonicalName: every name the proxy decides on (DNS, SOCKS5, CONNECT,
// Host, SNI) passes CanonicalName; what it accepts holds only a hostname's
// alphabet, so no NUL or escape can make two readers see two names.
func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"www.Test.", "a\x00.b", `a\000.b`, "a..b", "xn--e1a.x", "a_b-c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := CanonicalName(in)
		if err != nil {
			return
		}
		if len(n) > 253 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
			t.Fatalf("CanonicalName(%q) = %q", in, n)
		}
		for _, label := range strings.Split(n, ".") {
			if label == "" || len(label) > 63 {
				t.Fatalf("CanonicalName(%q) = %q has a bad label", in, n)
			}
		}
		if again, err := CanonicalName(n); err != nil || again != n {
			t.Fatalf("CanonicalName is not idempotent on %q", n)
		}
	})
}
