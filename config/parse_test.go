package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/profiles"
)

// specExample is the example of SPEC §3.
const specExample = `profiles = ["@npm", "@gh"]            # built-in profiles by name (§3.1)
wrap = ["npm", "npx", "node"]         # project file only

[sandbox]
network = "proxy"
env = ["GITHUB_TOKEN"]

[sandbox.paths]
traversal = ["~"]
read = ["~/.npmrc"]
execute = ["~/.local/bin"]
read_write = ["~/.npm"]

[proxy]
domain_allowlist = ["registry.npmjs.org", "*.npmjs.org", "github.com:22"]
upstream_dns = ["127.0.0.53:53"]
destinations = ["127.0.0.0/8"]
`

func TestParseSpecExample(t *testing.T) {
	f, err := Parse(".pent.toml", []byte(specExample), Project)
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Path:     ".pent.toml",
		Profiles: []string{"@npm", "@gh"},
		Wrap:     []string{"npm", "npx", "node"},
		Network:  "proxy",
		Env:      []string{"GITHUB_TOKEN"},
		Paths: Paths{
			Traversal: []string{"~"}, Read: []string{"~/.npmrc"},
			Execute: []string{"~/.local/bin"}, ReadWrite: []string{"~/.npm"},
		},
		DomainAllowlist: []string{"registry.npmjs.org", "*.npmjs.org", "github.com:22"},
		UpstreamDNS:     []string{"127.0.0.53:53"},
		Destinations:    []string{"127.0.0.0/8"},
		refs:            map[string]Pos{"@npm": {1, 13}, "@gh": {1, 21}},
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got  %+v\nwant %+v", f, want)
	}
}

func TestParseSeedForms(t *testing.T) {
	tests := []struct {
		name, in string
		want     File
	}{
		{"network table", "[sandbox.network]\nmode = \"proxy_only\"\n", File{Network: "proxy"}},
		{"network inline table", "[sandbox]\nnetwork = { mode = \"localhost_only\" }\n", File{Network: "localhost"}},
		{"network dotted", "sandbox.network.mode = \"blocked\"\n", File{Network: "blocked"}},
		{"unrestricted", "[sandbox]\nnetwork = \"unrestricted\"\n", File{Network: "unrestricted"}},
		{"write alias", "[sandbox.paths]\nwrite = [\"~/a\"]\nread_write = [\"~/b\"]\n",
			File{Paths: Paths{ReadWrite: []string{"~/a", "~/b"}}}},
		{"bare profile names", "profiles = [\"npm\", \"@npm\", \"cargo\"]\n", File{Profiles: []string{"@npm", "@cargo"}}},
		{"inline sandbox", "sandbox = { paths = { read = [\"/srv\"] }, env = [\"A=1\"] }\n",
			File{Env: []string{"A=1"}, Paths: Paths{Read: []string{"/srv"}}}},
		{"empty file", "", File{}},
		{"comments in arrays", "profiles = [\n  \"@git\", # vcs\n  # more\n]\n", File{Profiles: []string{"@git"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("seed.toml", []byte(tt.in), Project)
			if err != nil {
				t.Fatal(err)
			}
			f.refs, f.Path = nil, ""
			if !reflect.DeepEqual(*f, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", *f, tt.want)
			}
		})
	}
}

func TestParseUserProfiles(t *testing.T) {
	in := `profiles = ["@work", "@npm"]

[profile.work]
summary = "the company registry"
requires = ["@npm", "gh"]
domains = ["npm.corp.example", "**.corp.example:443"]
read = ["~/.corprc"]
read_write = ["/var/cache/corp"]
execute = ["~/corp/bin"]
traversal = ["~/corp"]
env = ["CORP_TOKEN", "CORP_ENV=dev"]

[profile."@empty"]
`
	f, err := Parse("pent.toml", []byte(in), Global)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]profiles.Profile{
		"@work": {
			Name: "@work", Summary: "the company registry", Requires: []string{"@npm", "@gh"},
			Domains: []string{"npm.corp.example", "**.corp.example:443"}, Read: []string{"~/.corprc"},
			ReadWrite: []string{"/var/cache/corp"}, Execute: []string{"~/corp/bin"},
			Traversal: []string{"~/corp"}, Env: []string{"CORP_TOKEN", "CORP_ENV=dev"},
		},
		"@empty": {Name: "@empty"},
	}
	if !reflect.DeepEqual(f.UserProfiles, want) {
		t.Fatalf("got  %+v\nwant %+v", f.UserProfiles, want)
	}
	if got := []string{"@work", "@npm"}; !reflect.DeepEqual(f.Profiles, got) {
		t.Fatalf("profiles = %v", f.Profiles)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		in   string
		want string // the whole message
	}{
		{"syntax error", Project, "profiles = [\"@npm\"\n[sandbox]\n",
			`p.toml:2:1: expected ',' or ']' after array value`},
		{"syntax error in value", Project, "[sandbox]\nnetwork = proxy\n",
			`p.toml:2:11: unexpected character U+0070 'p' at start of value`},
		{"duplicate key", Project, "[proxy]\ndestinations = []\ndestinations = []\n",
			`p.toml:3:1: destinations: key destinations is already defined`},
		{"unknown top-level key", Project, "profile = []\n",
			`p.toml:1:1: profile: expected a table, got a list`},
		{"misspelt top-level key", Project, "\nprofies = [\"@npm\"]\n",
			`p.toml:2:1: profies: unknown key (did you mean "profiles"?)`},
		{"key in the wrong table", Project, "network = \"proxy\"\n",
			`p.toml:1:1: network: not a key here; it belongs in the [sandbox] table`},
		{"wrap under [proxy]", Project, "[proxy]\nwrap = [\"npm\"]\n",
			`p.toml:2:1: proxy.wrap: not a key here; it belongs at the top level of the file, before any [table]`},
		{"a reserved wrap name", Project, "wrap = [\"npm\", \"precmd\"]\n",
			`p.toml:1:16: wrap: "precmd" is a function the shell calls on its own: a wrapper by that name would run at every prompt`},
		{"unknown table", Project, "[sandbx]\nnetwork = \"proxy\"\n",
			`p.toml:1:2: sandbx: unknown key (did you mean "sandbox"?)`},
		{"unknown nested key", Project, "[sandbox.paths]\nread = []\n  raed = [\"~\"]\n",
			`p.toml:3:3: sandbox.paths.raed: unknown key (did you mean "read"?)`},
		{"unknown dotted key", Project, "sandbox.pahts.read = []\n",
			`p.toml:1:9: sandbox.pahts: unknown key (did you mean "paths"?)`},
		{"unknown key in inline table", Project, "[sandbox]\npaths = { read = [], exec = [] }\n",
			`p.toml:2:22: sandbox.paths.exec: unknown key`},
		{"array of tables", Project, "[[proxy]]\n", `p.toml:1:3: proxy: arrays of tables ([[…]]) are not part of the config`},
		{"list as table", Project, "[sandbox.paths.read]\n",
			`p.toml:1:16: sandbox.paths.read: is a list of strings, not a table`},
		{"key under a list", Project, "sandbox.env.x = 1\n",
			`p.toml:1:13: sandbox.env.x: sandbox.env is a list of strings, not a table`},
		{"string for list", Project, "profiles = \"@npm\"\n",
			`p.toml:1:12: profiles: expected a list of strings, got a string`},
		{"protect outside the project", Project, "[sandbox]\nprotect = [\".github\",\n  \"../x\"]\n",
			`p.toml:3:3: sandbox.protect: "../x" leaves the project; protect names stay inside it`},
		{"protect under .git", Project, "[sandbox]\nprotect = [\".git/hooks\"]\n",
			`p.toml:2:12: sandbox.protect: ".git/hooks" is under .git, which pent already guards by what git writes`},
		{"number in list", Project, "[sandbox]\nenv = [\"A\",\n  42]\n",
			`p.toml:3:3: sandbox.env: expected a list of strings, found an integer`},
		{"list for string", Project, "[sandbox]\nnetwork = [\"proxy\"]\n",
			`p.toml:2:12: sandbox.network: expected a string, got a list`},
		{"empty list for string", Project, "[sandbox]\nnetwork = []\n",
			`p.toml:2:1: sandbox.network: expected a string, got a list`},
		{"bool for table", Project, "sandbox = true\n", `p.toml:1:11: sandbox: expected a table, got a boolean`},
		{"table for list", Project, "[sandbox]\nenv = { A = \"1\" }\n",
			`p.toml:2:7: sandbox.env: expected a list of strings, got a table`},
		{"unknown network", Project, "[sandbox]\nnetwork = \"proxi\"\n",
			`p.toml:2:11: sandbox.network: unknown network mode "proxi", want one of unrestricted, localhost, proxy, blocked (did you mean "proxy"?)`},
		{"unknown seed network", Project, "[sandbox.network]\nmode = \"Blocked\"\n",
			`p.toml:2:8: sandbox.network.mode: unknown network mode "Blocked", want one of unrestricted, localhost, proxy, blocked (did you mean "blocked"?)`},
		{"bad profile name", Project, "profiles = [\"@git\", \"@NPM\"]\n",
			`p.toml:1:21: profiles: invalid profile name "@NPM": use lower-case letters, digits, '-' and '_' (did you mean "@npm"?)`},
		{"unknown profile in global", Global, "profiles = [\"@git\",\n \"@nmp\"]\n",
			`p.toml:2:2: profiles: unknown profile "@nmp" (did you mean "@npm"?)`},
		{"bad domain", Project, "[proxy]\ndomain_allowlist = [\"ok.example\", \"*\"]\n",
			`p.toml:2:35: proxy.domain_allowlist: "*" would allow every domain; use network = "unrestricted" for that`},
		{"IP as domain", Project, "[proxy]\ndomain_allowlist = [\"10.0.0.1\"]\n",
			`p.toml:2:21: proxy.domain_allowlist: "10.0.0.1" is an IP address; the allowlist takes names (address ranges go in [proxy] destinations)`},
		{"leading dot", Project, "proxy.domain_allowlist = [\".npmjs.org\"]\n",
			`p.toml:1:27: proxy.domain_allowlist: empty label in ".npmjs.org" (did you mean "**.npmjs.org"?)`},
		{"bad port", Project, "proxy.domain_allowlist = [\"github.com:0\"]\n",
			`p.toml:1:27: proxy.domain_allowlist: bad port "0" in "github.com:0": want a number from 1 to 65535`},
		{"bad CIDR", Project, "[proxy]\ndestinations = [\"127.0.0.1/8\"]\n",
			`p.toml:2:17: proxy.destinations: host bits set in "127.0.0.1/8" (did you mean "127.0.0.0/8"?)`},
		{"not a CIDR", Project, "[proxy]\ndestinations = [\"localhost\"]\n",
			`p.toml:2:17: proxy.destinations: "localhost" is not a CIDR range such as 127.0.0.0/8 or fd00::/8`},
		{"bad upstream", Project, "[proxy]\nupstream_dns = [\"dns.google:53\"]\n",
			`p.toml:2:17: proxy.upstream_dns: "dns.google:53" is not an IP address with an optional port, such as 127.0.0.53:53 or [::1]:53`},
		{"bad env", Project, "[sandbox]\nenv = [\"OK\", \"1BAD=x\"]\n",
			`p.toml:2:14: sandbox.env: "1BAD=x" is not KEY or KEY=VALUE with a valid variable name`},
		{"env with space", Project, "[sandbox]\nenv = [\"A B\"]\n",
			`p.toml:2:8: sandbox.env: "A B" is not KEY or KEY=VALUE with a valid variable name`},
		{"empty path", Project, "[sandbox.paths]\nread = [\"\"]\n", `p.toml:2:9: sandbox.paths.read: empty path`},
		{"other variable in path", Project, "[sandbox.paths]\nread = [\"$XDG_CONFIG_HOME/x\"]\n",
			`p.toml:2:9: sandbox.paths.read: only ~ and $HOME expand in paths: "$XDG_CONFIG_HOME/x"`},
		{"variable after $HOME", Project, "[sandbox.paths]\nread = [\"$HOME/$X\"]\n",
			`p.toml:2:9: sandbox.paths.read: only ~ and $HOME expand in paths: "$HOME/$X"`},
		{"tilde user", Project, "[sandbox.paths]\nread = [\"~root/x\"]\n",
			`p.toml:2:9: sandbox.paths.read: only ~ and ~/… expand (not ~user): "~root/x"`},
		{"wrap in global", Global, "wrap = [\"npm\"]\n",
			`p.toml:1:1: wrap: only a project's .pent.toml may wrap commands, not the global config`},
		{"wrap in extra", Extra, "\n  wrap = [\"npm\"]\n",
			`p.toml:2:3: wrap: only a project's .pent.toml may wrap commands, not the --config file`},
		{"bad wrap", Project, "wrap = [\"npm\", \"rm -rf\"]\n",
			`p.toml:1:16: wrap: "rm -rf" is not a command name: use letters, digits, '_', '.', '+' and '-'`},
		{"user profile in project", Project, "[profile.mine]\n",
			`p.toml:1:10: profile.mine: user profiles may only be defined in the global config, not the project config`},
		{"user profile shadows built-in", Global, "[profile.npm]\n",
			`p.toml:1:10: profile.npm: @npm is a built-in profile; give yours another name`},
		{"bad user profile name", Global, "[profile.My-Tool]\n",
			`p.toml:1:10: profile.My-Tool: invalid profile name "My-Tool": use lower-case letters, digits, '-' and '_'`},
		{"unknown user profile key", Global, "[profile.mine]\ndomain = []\n",
			`p.toml:2:1: profile.mine.domain: unknown key (did you mean "domains"?)`},
		{"relative path in user profile", Global, "[profile.mine]\nread = [\"docs\"]\n",
			`p.toml:2:9: profile.mine.read: "docs" is relative; profile paths must be absolute or start with ~`},
		{"user profile requires unknown", Global, "[profile.mine]\nrequires = [\"@node\", \"@gti\"]\n",
			`p.toml:2:22: profile.mine.requires: unknown profile "@gti" (did you mean "@git"?)`},
		{"user profile cycle", Global, "[profile.a]\nrequires = [\"@b\"]\n[profile.b]\nrequires = [\"@a\"]\n",
			`p.toml:2:13: profile.a.requires: profiles require each other: @b → @a → @b`},
		{"summary not a string", Global, "[profile.mine]\nsummary = 3\n",
			`p.toml:2:11: profile.mine.summary: expected a string, got an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("p.toml", []byte(tt.in), tt.kind)
			if err == nil {
				t.Fatalf("no error; parsed %+v", f)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.toml"), Global)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v does not wrap os.ErrNotExist", err)
	}
	path := filepath.Join(dir, "pent.toml")
	if err := os.WriteFile(path, []byte("profiles = [\"@git\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, Global)
	if err != nil || f.Path != path || len(f.Profiles) != 1 {
		t.Fatalf("Load = %+v, %v", f, err)
	}
	if err := os.WriteFile(path, []byte("profiles = [\"@gitt\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, Global); err == nil || !strings.HasPrefix(err.Error(), path+":1:13: ") {
		t.Fatalf("Load of a bad file: %v", err)
	}
}

// FuzzParse checks that no input panics, that every error is an *Error with a
// position, and that whatever parses also resolves or fails cleanly.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		specExample,
		"[sandbox.network]\nmode = \"proxy_only\"\n",
		"[profile.a]\nrequires = [\"@b\"]\n[profile.b]\nrequires = [\"@a\"]\n",
		"[profile.w]\nrequires = [\"@npm\"]\ndomains = [\"**.w.example:443\"]\nread = [\"~/.w\"]\n",
		"profiles = [\"@npm\"\n",
		"sandbox = { paths = { read = [\"x\"] }, network = { mode = \"blocked\" } }\n",
		"a = [[1], {b = 2}]\n[[x]]\n",
		"proxy.domain_allowlist = [\"*.a.b\", \"**.c\", \"d:22\", \"[::1]\", \"é.com\"]\n",
		"\"quoted key\" = 1\n'lit' = 2\n",
		"sandbox.paths.read = [\"$HOME/a\", \"${HOME}\", \"~\", \"rel\"]\n",
	} {
		f.Add([]byte(s), uint8(Global))
		f.Add([]byte(s), uint8(Project))
	}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		kind := Kind(k % 3)
		file, err := Parse("f.toml", data, kind)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if e.Line < 1 || e.Col < 1 {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		x := Expand{Home: "/home/u", ProjectRoot: "/src/app"}
		if _, err := Resolve([]*File{file}, x); err != nil && kind == Global {
			t.Fatalf("a global file that parses must resolve on its own: %v", err)
		}
	})
}
