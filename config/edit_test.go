package config

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestSetProfiles(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		names []string
		want  string
	}{
		{"replace keeps comments", "# my config\nprofiles = [\"@npm\"] # tools\n\n[sandbox]\n# network = \"proxy\"\nenv = [\"A\"]\n",
			[]string{"@npm", "gh"},
			"# my config\nprofiles = [\"@npm\", \"@gh\"] # tools\n\n[sandbox]\n# network = \"proxy\"\nenv = [\"A\"]\n"},
		{"replace multi-line array", "wrap = [\"npm\"]\nprofiles = [\n  \"@npm\", # js\n  \"@gh\",\n]\n[proxy]\n",
			[]string{"@gh"},
			"wrap = [\"npm\"]\nprofiles = [\"@gh\"]\n[proxy]\n"},
		{"insert at top", "# header\n[sandbox]\nenv = [\"A\"]\n", []string{"@cargo"},
			"profiles = [\"@cargo\"]\n# header\n[sandbox]\nenv = [\"A\"]\n"},
		{"insert keeps CRLF", "# header\r\n[sandbox]\r\n", []string{"@go"},
			"profiles = [\"@go\"]\r\n# header\r\n[sandbox]\r\n"},
		{"empty file", "", []string{"@go"}, "profiles = [\"@go\"]\n"},
		{"remove all", "profiles = [\"@go\"]\n", nil, "profiles = []\n"},
		{"deduplicated", "profiles = []", []string{"go", "@go", "@git"}, "profiles = [\"@go\", \"@git\"]"},
		{"quoted key", "\"profiles\" = [\"@go\"]\n", []string{"@git"}, "profiles = [\"@git\"]\n"},
		{"wrong type is replaced", "profiles = \"@go\"\n", []string{"@go"}, "profiles = [\"@go\"]\n"},
		{"profiles inside a table is not top-level", "[profile.x]\nrequires = []\n", []string{"@go"},
			"profiles = [\"@go\"]\n[profile.x]\nrequires = []\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetProfiles([]byte(tt.in), tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSetProfilesErrors(t *testing.T) {
	tests := []struct {
		name, in string
		names    []string
	}{
		{"invalid TOML", "profiles = [", []string{"@go"}},
		{"invalid name", "", []string{"@Go"}},
		{"profiles is a table", "[profiles]\na = 1\n", []string{"@go"}},
		{"profiles is a dotted table", "profiles.a = 1\n", []string{"@go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := SetProfiles([]byte(tt.in), tt.names); err == nil {
				t.Fatalf("no error; got %q", got)
			}
		})
	}
}

func TestStarter(t *testing.T) {
	for _, kind := range []Kind{Global, Project, Extra} {
		for _, wrap := range [][]string{nil, {"npm", "npx"}} {
			data := Starter(kind, []string{"npm", "@gh"}, wrap)
			f, err := Parse("starter.toml", data, kind)
			if err != nil {
				t.Fatalf("%s starter does not parse: %v\n%s", kind, err, data)
			}
			if !slices.Equal(f.Profiles, []string{"@npm", "@gh"}) {
				t.Errorf("%s starter profiles = %v", kind, f.Profiles)
			}
			wantWrap := wrap
			if kind != Project {
				wantWrap = nil
			}
			if !slices.Equal(f.Wrap, wantWrap) {
				t.Errorf("%s starter wrap = %v, want %v", kind, f.Wrap, wantWrap)
			}
			if f.Network != "" || len(f.DomainAllowlist) != 0 || f.UserProfiles != nil {
				t.Errorf("%s starter grants more than its profiles: %+v", kind, f)
			}
			// The starter is what `pent config add` edits next.
			edited, err := SetProfiles(data, []string{"@go"})
			if err != nil || !bytes.Equal(edited, bytes.Replace(data, []byte(`["@npm", "@gh"]`), []byte(`["@go"]`), 1)) {
				t.Errorf("%s starter: SetProfiles = %v\n%s", kind, err, edited)
			}
		}
	}
	if !strings.Contains(string(Starter(Global, nil, nil)), "# [profile.mytool]") {
		t.Error("global starter does not show how to define a profile")
	}
}

func TestTOMLString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "tab\tnew\nline\r\x00\x1f\x7f", "ünï 😀"} {
		var doc struct{ V string }
		if err := toml.Unmarshal([]byte("V = "+TOMLString(s)), &doc); err != nil || doc.V != s {
			t.Errorf("TOMLString(%q) = %s reads back as %q, %v", s, TOMLString(s), doc.V, err)
		}
	}
}

// FuzzSetProfiles checks that SetProfiles never panics and that, when it
// succeeds, the result is valid TOML with exactly the new profiles, and
// everything outside the rewritten key-value is unchanged.
func FuzzSetProfiles(f *testing.F) {
	for _, s := range []string{
		"",
		"profiles = [\"@npm\"]\n",
		"# c\nprofiles = [ # x\n \"@a\",\n]\n[sandbox]\n",
		"[profiles]\n",
		"profiles.x = 1\n",
		"a = 1\r\nprofiles = []\r\n",
		specExample,
		"profiles = [\"@npm\"]\nprofiles = []\n",
		"x = \"\"\"\nprofiles = 1\n\"\"\"\n",
	} {
		f.Add([]byte(s), "@go,git")
	}
	f.Fuzz(func(t *testing.T, data []byte, list string) {
		names := strings.Split(list, ",")
		out, err := SetProfiles(data, names)
		if err != nil {
			return
		}
		var doc struct {
			Profiles []string `toml:"profiles"`
		}
		if err := toml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("result is not valid TOML: %v\n%q", err, out)
		}
		var want []string
		for _, n := range names {
			want = appendNew(want, "@"+strings.TrimPrefix(n, "@"))
		}
		if !slices.Equal(doc.Profiles, want) {
			t.Fatalf("profiles = %v, want %v", doc.Profiles, want)
		}
		if !keptAround(data, out, []byte("profiles = "+TOMLList(want))) {
			t.Fatalf("bytes outside the profiles line changed:\n%q\n%q", data, out)
		}
	})
}

// keptAround reports whether out is data with one span replaced by line, or
// with line and a newline inserted at the top.
func keptAround(data, out, line []byte) bool {
	for i := 0; i+len(line) <= len(out); i++ {
		if !bytes.HasPrefix(out[i:], line) || !bytes.Equal(out[:i], data[:min(i, len(data))]) {
			continue
		}
		after := out[i+len(line):]
		if i == 0 && (bytes.Equal(after, append([]byte("\n"), data...)) || bytes.Equal(after, append([]byte("\r\n"), data...))) {
			return true
		}
		if bytes.HasSuffix(data, after) && len(data)-len(after) >= i {
			return true
		}
	}
	return false
}
