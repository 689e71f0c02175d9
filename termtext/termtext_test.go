package termtext

import (
	"encoding/json"
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

func TestJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"plain café"}`, `{"a":"plain café"}`},
		{"{\"comm\":\"\u202enoisiv\u009b31m\"}", `{"comm":"\u202enoisiv\u009b31m"}`},
		{"[\"rlm\u200f\",\"del\x7f\",\"ls\u2028ps\u2029\"]", `["rlm\u200f","del\u007f","ls\u2028ps\u2029"]`},
		{"\"tag\U000e0001\"", `"tag\udb40\udc01"`},
		{"\"bad\xff\"", `"bad\ufffd"`},
	}
	for _, tt := range tests {
		if got := string(JSON([]byte(tt.in))); got != tt.want {
			t.Errorf("JSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "\u202e\u009b", "\x7f\u2028", "\U000e0001", "\xff", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data, err := json.Marshal(map[string]string{"k": s})
		if err != nil {
			t.Fatal(err)
		}
		out := JSON(data)
		for _, r := range string(out) {
			if unprintable(r) {
				t.Fatalf("JSON(%q) = %q keeps %U", data, out, r)
			}
		}
		var before, after map[string]string
		if err := json.Unmarshal(data, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("JSON(%q) = %q is not JSON: %v", data, out, err)
		}
		if before["k"] != after["k"] {
			t.Fatalf("JSON changed the value %q to %q", before["k"], after["k"])
		}
	})
}
