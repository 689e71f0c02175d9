package config

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"~/.ssh", "~/.ssh"},
		{"café ünïcode", "café ünïcode"},
		{"a\x1b[2K\rb", `a\x1b[2K\rb`},
		{"line\nnext\ttab", `line\nnext\ttab`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"bad\xffbyte", `bad\xffbyte`},
		{`back\x1bslash`, `back\\x1bslash`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;title\x07", "\u202e", "\xff\xfe", `\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q is not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unprintable(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, out, r)
			}
		}
		if !strings.ContainsRune(s, '\\') && !needsEscape(s) && out != s {
			t.Fatalf("Escape changed a printable string %q to %q", s, out)
		}
	})
}
