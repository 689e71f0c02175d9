package config

import "testing"

func TestTOMLEdit(t *testing.T) {
	tests := []struct {
		name, in, key string
		add           bool
		vals          []string
		want          string
	}{
		{"set nested under header", "[sandbox.paths]\nread = [\"a\"] # kept\n", "sandbox.paths.read", false, []string{"b"},
			"[sandbox.paths]\nread = [\"b\"] # kept\n"},
		{"set dotted key keeps its spelling", "[sandbox]\npaths.read = [\"a\"]\n", "sandbox.paths.read", false, []string{"b"},
			"[sandbox]\npaths.read = [\"b\"]\n"},
		{"set new key under header", "[proxy]\n# c\n", "proxy.domain_allowlist", false, []string{"x.test"},
			"[proxy]\ndomain_allowlist = [\"x.test\"]\n# c\n"},
		{"set new table at end", "wrap = []", "proxy.domain_allowlist", false, []string{"x.test"},
			"wrap = []\n\n[proxy]\ndomain_allowlist = [\"x.test\"]\n"},
		{"add keeps existing and comments", "[proxy]\ndomain_allowlist = [\n  \"a.test\", # mine\n]\n", "proxy.domain_allowlist", true,
			[]string{"a.test", "b.test"}, "[proxy]\ndomain_allowlist = [\n  \"a.test\", # mine\n  \"b.test\",\n]\n"},
		{"add nothing new", "profiles = [\"@go\"]\n", "profiles", true, []string{"@go"}, "profiles = [\"@go\"]\n"},
		{"add top-level key goes first", "[proxy]\n", "profiles", true, []string{"@go"}, "profiles = [\"@go\"]\n[proxy]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edit := SetArray
			if tt.add {
				edit = AddToArray
			}
			got, err := edit([]byte(tt.in), tt.key, tt.vals)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAddToArrayRefuses(t *testing.T) {
	for _, in := range []string{
		"[proxy]\ndomain_allowlist = \"a.test\"\n",    // not an array
		"proxy = { domain_allowlist = [\"a.test\"] }", // an inline table it cannot reach
		"[proxy\n", // not TOML
	} {
		if got, err := AddToArray([]byte(in), "proxy.domain_allowlist", []string{"b.test"}); err == nil {
			t.Errorf("%q: no error, got %q", in, got)
		}
	}
}

// FuzzAddToArray: an edit either fails or yields valid TOML whose array
// holds every value.
func FuzzAddToArray(f *testing.F) {
	f.Add("[sandbox.paths]\nread = [\"~/a\", # c\n]\n", "~/b")
	f.Add("", "x")
	f.Add("sandbox.paths.read = []", "\"\\\n")
	f.Fuzz(func(t *testing.T, in, val string) {
		out, err := AddToArray([]byte(in), "sandbox.paths.read", []string{val})
		if err != nil {
			return
		}
		got, err := arrayStrings(out, "sandbox.paths.read")
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%s", err, out)
		}
		found := false
		for _, g := range got {
			found = found || g == val
		}
		if !found {
			t.Fatalf("%q missing from %q", val, out)
		}
	})
}
