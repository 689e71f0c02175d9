package profiles

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

// seedProfiles are the profiles the seed implementation shipped (SPEC §3.1).
var seedProfiles = []string{
	"@base", "@node", "@npm", "@cargo", "@pip", "@gem", "@go", "@brew", "@gh", "@git",
	"@ssh", "@keychain", "@claude", "@codex", "@gemini",
}

func TestBuiltinTable(t *testing.T) {
	all := Builtin()
	if !slices.IsSortedFunc(all, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatalf("table is not sorted by name: %v", Names())
	}
	for _, name := range seedProfiles {
		if _, ok := Lookup(name); !ok {
			t.Errorf("seed profile %s is missing", name)
		}
	}
	seen := map[string]bool{}
	for _, p := range all {
		if seen[p.Name] {
			t.Errorf("%s defined twice", p.Name)
		}
		seen[p.Name] = true
		if canon, err := Normalize(p.Name); err != nil || canon != p.Name {
			t.Errorf("%s: name is not canonical (%q, %v)", p.Name, canon, err)
		}
		if p.Summary == "" || strings.Contains(p.Summary, "\n") {
			t.Errorf("%s: summary must be one non-empty line", p.Name)
		}
		for _, req := range p.Requires {
			if _, ok := Lookup(req); !ok {
				t.Errorf("%s requires unknown %s", p.Name, req)
			}
		}
		if _, err := Expand([]string{p.Name}, nil); err != nil {
			t.Errorf("%s does not expand: %v", p.Name, err)
		}
		for _, list := range [][]string{p.Read, p.Execute, p.ReadWrite, p.Traversal} {
			for _, path := range list {
				if !(path == "~" || strings.HasPrefix(path, "~/") || strings.HasPrefix(path, "/")) {
					t.Errorf("%s: path %q is relative", p.Name, path)
				}
			}
		}
	}
}

// TestNoSecrets pins the promises the table makes about what it never grants.
func TestNoSecrets(t *testing.T) {
	ssh, _ := Lookup("@ssh")
	if len(ssh.Domains) != 0 || len(ssh.ReadWrite) != 0 || len(ssh.Execute) != 0 {
		t.Errorf("@ssh grants more than reading known_hosts and config: %+v", ssh)
	}
	if !slices.Equal(ssh.Env, []string{"SSH_AUTH_SOCK"}) {
		t.Errorf("@ssh env = %v, want only SSH_AUTH_SOCK", ssh.Env)
	}
	const home = "/home/u"
	for _, p := range Builtin() {
		for _, list := range [][]string{p.Read, p.Execute, p.ReadWrite} {
			for _, path := range list {
				abs := filepath.Join(home, strings.TrimPrefix(path, "~"))
				if !strings.HasPrefix(path, "~") {
					abs = path
				}
				// The one list of secrets, shared with `pent trace suggest`;
				// only the profile made for a secret may grant it.
				if s, ok := scope.SecretIn(abs, home); ok && s.Profile != p.Name {
					t.Errorf("%s grants %s, which exposes %s (%s)", p.Name, path, s.Pattern, s.Why)
				}
				if path == "~/.local/bin" {
					t.Errorf("%s grants %s, a PATH directory of every tool the user installed", p.Name, path)
				}
			}
		}
		for _, path := range p.ReadWrite {
			if path == "~" || path == "/" {
				t.Errorf("%s makes %s writable", p.Name, path)
			}
		}
	}
}

func TestBuiltinIsACopy(t *testing.T) {
	a := Builtin()
	a[0].Domains = append(a[0].Domains, "evil.example")
	a[0].Traversal[0] = "/"
	b := Builtin()
	if slices.Contains(b[0].Domains, "evil.example") || b[0].Traversal[0] == "/" {
		t.Fatal("changing Builtin()'s result changed the table")
	}
	p, _ := Lookup("npm")
	p.Domains[0] = "evil.example"
	if q, _ := Lookup("@npm"); q.Domains[0] == "evil.example" {
		t.Fatal("changing Lookup's result changed the table")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		want string
		ok   bool
	}{
		{"npm", "@npm", true},
		{"@npm", "@npm", true},
		{"@NPM", "", false},
		{"@", "", false},
		{"", "", false},
		{"@nope", "", false},
		{"@@npm", "", false},
	}
	for _, tt := range tests {
		p, ok := Lookup(tt.name)
		if ok != tt.ok || p.Name != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.name, p.Name, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"npm", "@npm", true},
		{"@my-tool_2", "@my-tool_2", true},
		{"@2fa", "@2fa", true},
		{"@-x", "", false},
		{"@Npm", "", false},
		{"@n pm", "", false},
		{"@", "", false},
		{"@é", "", false},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func names(ps []Profile) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestExpand(t *testing.T) {
	user := map[string]Profile{
		"@work": {Name: "@work", Requires: []string{"@npm", "gh"}, Domains: []string{"npm.work.example"}},
		"@a":    {Name: "@a", Requires: []string{"@b"}},
		"@b":    {Name: "@b", Requires: []string{"@c"}},
		"@c":    {Name: "@c", Requires: []string{"@a"}},
		"@self": {Name: "@self", Requires: []string{"@self"}},
		"@typo": {Name: "@typo", Requires: []string{"@nodee"}},
	}
	tests := []struct {
		name    string
		in      []string
		want    []string
		unknown *UnknownError
		cycle   []string
	}{
		{name: "empty", in: nil, want: nil},
		{name: "dependencies first", in: []string{"@npm"}, want: []string{"@base", "@node", "@npm"}},
		{name: "bare names", in: []string{"npm"}, want: []string{"@base", "@node", "@npm"}},
		{name: "deduplicated", in: []string{"@npm", "@claude", "@npm", "node"},
			want: []string{"@base", "@node", "@npm", "@claude"}},
		{name: "order kept", in: []string{"@gh", "@cargo"}, want: []string{"@base", "@git", "@gh", "@cargo"}},
		{name: "user profile on built-ins", in: []string{"@work"},
			want: []string{"@base", "@node", "@npm", "@git", "@gh", "@work"}},
		{name: "unknown with suggestion", in: []string{"@nmp"},
			unknown: &UnknownError{Name: "@nmp", Suggestion: "@npm"}},
		{name: "unknown bare with suggestion", in: []string{"cargoo"},
			unknown: &UnknownError{Name: "cargoo", Suggestion: "@cargo"}},
		{name: "unknown without suggestion", in: []string{"@kubernetes"},
			unknown: &UnknownError{Name: "@kubernetes"}},
		{name: "unknown suggests user profile", in: []string{"@wrok"},
			unknown: &UnknownError{Name: "@wrok", Suggestion: "@work"}},
		{name: "unknown requirement", in: []string{"@typo"},
			unknown: &UnknownError{Name: "@nodee", RequiredBy: "@typo", Suggestion: "@node"}},
		{name: "invalid name", in: []string{"@No Such"},
			unknown: &UnknownError{Name: "@No Such"}},
		{name: "cycle", in: []string{"@a"}, cycle: []string{"@a", "@b", "@c", "@a"}},
		{name: "cycle entered midway", in: []string{"@b"}, cycle: []string{"@b", "@c", "@a", "@b"}},
		{name: "self cycle", in: []string{"@self"}, cycle: []string{"@self", "@self"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.in, user)
			var ue *UnknownError
			var ce *CycleError
			switch {
			case tt.unknown != nil:
				if !errors.As(err, &ue) || *ue != *tt.unknown {
					t.Fatalf("err = %v (%#v), want %#v", err, ue, tt.unknown)
				}
			case tt.cycle != nil:
				if !errors.As(err, &ce) || !slices.Equal(ce.Cycle, tt.cycle) {
					t.Fatalf("err = %v, want cycle %v", err, tt.cycle)
				}
			case err != nil:
				t.Fatal(err)
			case !slices.Equal(names(got), tt.want):
				t.Fatalf("Expand(%v) = %v, want %v", tt.in, names(got), tt.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	user := map[string]Profile{"@mine": {Summary: "mine"}}
	if p, err := Find("mine", user); err != nil || p.Name != "@mine" || p.Summary != "mine" {
		t.Errorf("Find(mine) = %+v, %v", p, err)
	}
	if p, err := Find("@git", user); err != nil || p.Name != "@git" {
		t.Errorf("Find(@git) = %+v, %v", p, err)
	}
	_, err := Find("@mien", user)
	var ue *UnknownError
	if !errors.As(err, &ue) || ue.Suggestion != "@mine" || ue.RequiredBy != "" {
		t.Errorf("Find(@mien) = %v", err)
	}
	if _, err := Find(strings.Repeat("x", 1<<16), user); err == nil {
		t.Error("Find of a long garbage name succeeded")
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := Expand([]string{"@nmp"}, nil)
	if want := `unknown profile "@nmp" (did you mean "@npm"?)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = Expand([]string{"@x"}, map[string]Profile{"@x": {Requires: []string{"@x"}}})
	if want := "profiles require each other: @x → @x"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestSuggest(t *testing.T) {
	opts := []string{"read", "read_write", "execute", "traversal", "write"}
	tests := []struct{ word, want string }{
		{"raed", "read"},
		{"read-write", "read_write"},
		{"exec", ""}, // 3 edits from "execute": beyond the limit for a short word
		{"traverse", "traversal"},
		{"zzzzzz", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, opts); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
	if got := Suggest("ab", []string{"ax", "ay"}); got != "ax" {
		t.Errorf("ties must go to the first in sort order, got %q", got)
	}
	if got := Suggest("ab", []string{"ay", "ax"}); got != "ax" {
		t.Errorf("ties must not depend on option order, got %q", got)
	}
}

// TestAgentProfiles pins the hosts each agent profile allows — those the
// pinned CLI contacts (e2e's TestAgents_ProfileDomainsInBundle finds each in
// the CLI's bundle) — and that each says what the CLI contacts it for.
func TestAgentProfiles(t *testing.T) {
	tests := []struct {
		name    string
		domains map[string]string // domain → a word its reason must contain
	}{
		{"@claude", map[string]string{
			"api.anthropic.com":                  "Messages API",
			"platform.claude.com":                "refreshes",
			"downloads.claude.ai":                "model catalog",
			"mcp-proxy.anthropic.com":            "MCP connectors",
			"http-intake.logs.us5.datadoghq.com": "telemetry",
		}},
		{"@codex", map[string]string{
			"api.openai.com":             "API key",
			"chatgpt.com":                "ChatGPT login",
			"auth.openai.com":            "refreshes",
			"ab.chatgpt.com":             "telemetry",
			"o33249.ingest.us.sentry.io": "/feedback",
		}},
		{"@gemini", map[string]string{
			"generativelanguage.googleapis.com": "GEMINI_API_KEY",
			"cloudcode-pa.googleapis.com":       "Code Assist",
			"oauth2.googleapis.com":             "refreshes",
			"www.googleapis.com":                "userinfo",
			"accounts.google.com":               "revokes",
			"play.googleapis.com":               "usage statistics",
			"registry.npmjs.org":                "update check",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := Lookup(tc.name)
			if !ok {
				t.Fatalf("%s is missing", tc.name)
			}
			got := slices.Sorted(slices.Values(p.Domains))
			want := slices.Sorted(maps.Keys(tc.domains))
			if !slices.Equal(got, want) {
				t.Fatalf("%s domains = %v, want %v", tc.name, got, want)
			}
			for d, word := range tc.domains {
				if why := p.Why[d]; !strings.Contains(why, word) || strings.Contains(why, "\n") {
					t.Errorf("%s: the reason for %s is %q, want one line mentioning %q", tc.name, d, why, word)
				}
			}
		})
	}
}

// TestWhyNamesDomains: every reason belongs to a domain of its profile, so a
// domain dropped from a profile does not leave its reason behind.
func TestWhyNamesDomains(t *testing.T) {
	for _, p := range Builtin() {
		for d := range p.Why {
			if !slices.Contains(p.Domains, d) {
				t.Errorf("%s gives a reason for %s, which it does not allow", p.Name, d)
			}
		}
	}
}

// TestAgentModesNotPassedThrough: a mode the agent profiles leave to the
// user (Bedrock, Vertex AI) is not half-enabled by passing its switch
// through without the endpoints and credentials it needs; the profile's
// notes name the keys instead.
func TestAgentModesNotPassedThrough(t *testing.T) {
	for name, switches := range map[string][]string{
		"@claude": {"CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"},
		"@gemini": {"GOOGLE_GENAI_USE_VERTEXAI"},
	} {
		p, _ := Lookup(name)
		for _, sw := range switches {
			if slices.Contains(p.Env, sw) {
				t.Errorf("%s passes %s through", name, sw)
			}
			if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, `"`+sw+`"`) }) {
				t.Errorf("%s: no note names %s", name, sw)
			}
		}
	}
}
