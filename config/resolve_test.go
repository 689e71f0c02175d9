package config

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/scope"
)

var testExpand = Expand{Home: "/home/u", ProjectRoot: "/src/app", Cwd: "/src/app/sub"}

func mustParse(t *testing.T, path, data string, kind Kind) *File {
	t.Helper()
	f, err := Parse(path, []byte(data), kind)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestResolveDefaults(t *testing.T) {
	e, err := Resolve(nil, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	want := &Effective{Network: scope.NetBlocked, NetworkSource: "default"}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got %+v, want %+v", e, want)
	}
}

func TestResolveLayering(t *testing.T) {
	global := mustParse(t, "global.toml", `profiles = ["@git"]
[sandbox]
network = "blocked"
env = ["EDITOR_THEME=dark", "GIT_PAGER=less"]
[sandbox.paths]
read = ["~/notes", "/opt/tools"]
[proxy]
domain_allowlist = ["Example.com"]
upstream_dns = ["127.0.0.53"]
`, Global)
	project := mustParse(t, ".pent.toml", `profiles = ["@npm", "@git"]
wrap = ["npm", "npx"]
[sandbox]
network = "proxy_only"
env = ["GIT_PAGER=cat", "NPM_TOKEN"]
[sandbox.paths]
read = ["~/notes", "docs", "$HOME/.npmrc"]
write = ["build/"]
[proxy]
domain_allowlist = ["example.com", "*.example.org:443"]
destinations = ["127.0.0.1"]
`, Project)
	extra := mustParse(t, "extra.toml", `[proxy]
upstream_dns = ["127.0.0.53:53", "[::1]:53"]
`, Extra)
	e, err := Resolve([]*File{global, nil, project, extra}, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	npm, _ := profiles.Lookup("@npm")
	node, _ := profiles.Lookup("@node")
	git, _ := profiles.Lookup("@git")
	checks := []struct {
		name      string
		got, want any
	}{
		{"network", e.Network, scope.NetProxy},
		{"source", e.NetworkSource, ".pent.toml"},
		{"profiles", e.Profiles, []string{"@git", "@npm"}},
		{"expanded", e.Expanded, []string{"@base", "@git", "@node", "@npm"}},
		{"wrap", e.Wrap, []string{"npm", "npx"}},
		{"upstream", e.UpstreamDNS, []string{"127.0.0.53:53", "[::1]:53"}},
		{"destinations", e.Destinations, []string{"127.0.0.1/32"}},
		{"own domains", e.Own.Domains, []string{"example.com", "*.example.org:443"}},
		{"own read", e.Own.Paths.Read, []string{"/home/u/notes", "/opt/tools", "/src/app/docs", "/home/u/.npmrc"}},
		{"own read_write", e.Own.Paths.ReadWrite, []string{"/src/app/build"}},
		{"own env", e.Own.Env, []string{"EDITOR_THEME=dark", "GIT_PAGER=cat", "NPM_TOKEN"}},
		{"domains", e.Domains, slices.Concat(git.Domains, node.Domains, npm.Domains,
			[]string{"example.com", "*.example.org:443"})},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The profile's GIT_PAGER comes first and the layers' value replaces it in place.
	i := slices.Index(e.Env, "GIT_PAGER=cat")
	if i < 0 || i > slices.Index(e.Env, "NPM_CONFIG_REGISTRY") || slices.Contains(e.Env, "GIT_PAGER") {
		t.Errorf("env = %v: want the layers' GIT_PAGER=cat in place of @git's GIT_PAGER", e.Env)
	}
	for _, p := range []string{"/home/u/.npm", "/src/app/build"} {
		if !slices.Contains(e.Paths.ReadWrite, p) {
			t.Errorf("read_write %v lacks %s", e.Paths.ReadWrite, p)
		}
	}
	if !slices.Contains(e.Paths.Read, "/home/u/.gitconfig") || slices.Contains(e.Paths.Read, "~/.gitconfig") {
		t.Errorf("read %v: want @git's ~/.gitconfig expanded", e.Paths.Read)
	}
	for _, list := range [][]string{e.Domains, e.Paths.Read, e.Paths.ReadWrite, e.Paths.Traversal, e.Env} {
		if len(slices.Compact(slices.Sorted(slices.Values(list)))) != len(list) {
			t.Errorf("duplicates in %v", list)
		}
	}
}

func TestResolveNetwork(t *testing.T) {
	tests := []struct {
		name   string
		layers []*File
		want   scope.Network
		source string
	}{
		{"nothing", nil, scope.NetBlocked, "default"},
		{"domains imply proxy", []*File{{Path: "g", DomainAllowlist: []string{"a.example"}}}, scope.NetProxy, "default"},
		{"profile domains imply proxy", []*File{{Path: "g", Profiles: []string{"@npm"}}}, scope.NetProxy, "default"},
		{"profile without domains", []*File{{Path: "g", Profiles: []string{"@ssh"}}}, scope.NetBlocked, "default"},
		{"explicit blocked wins over domains", []*File{
			{Path: "g", Network: "blocked"}, {Path: "p", DomainAllowlist: []string{"a.example"}},
		}, scope.NetBlocked, "g"},
		{"later layer wins", []*File{
			{Path: "g", Network: "unrestricted"}, {Path: "p", Network: "localhost"}, {Path: "x"},
		}, scope.NetLocalhost, "p"},
		{"flags layer with seed spelling", []*File{{Path: "g", Network: "proxy"}, {Path: "flags", Network: "localhost_only"}},
			scope.NetLocalhost, "flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Resolve(tt.layers, testExpand)
			if err != nil {
				t.Fatal(err)
			}
			if e.Network != tt.want || e.NetworkSource != tt.source {
				t.Fatalf("network %s from %s, want %s from %s", e.Network, e.NetworkSource, tt.want, tt.source)
			}
		})
	}
}

func TestResolveUserProfiles(t *testing.T) {
	global := mustParse(t, "global.toml", `[profile.work]
requires = ["@npm"]
domains = ["npm.work.example"]
read = ["~/.workrc"]
env = ["WORK_TOKEN"]
`, Global)
	project := mustParse(t, ".pent.toml", "profiles = [\"@work\"]\n", Project)
	e, err := Resolve([]*File{global, project}, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"@base", "@node", "@npm", "@work"}; !slices.Equal(e.Expanded, want) {
		t.Errorf("expanded = %v, want %v", e.Expanded, want)
	}
	if !slices.Contains(e.Domains, "npm.work.example") || !slices.Contains(e.Paths.Read, "/home/u/.workrc") ||
		!slices.Contains(e.Env, "WORK_TOKEN") {
		t.Errorf("user profile grants missing: %+v", e)
	}
	// Without the global file, the project's @work is unknown, and the error
	// points at where the project names it.
	_, err = Resolve([]*File{project}, testExpand)
	var ce *Error
	if !errors.As(err, &ce) || err.Error() != `.pent.toml:1:13: profiles: unknown profile "@work"` {
		t.Fatalf("got %v", err)
	}
	project2 := mustParse(t, ".pent.toml", "\nprofiles = [\"@wrok\"]\n", Project)
	_, err = Resolve([]*File{global, project2}, testExpand)
	if err == nil || err.Error() != `.pent.toml:2:13: profiles: unknown profile "@wrok" (did you mean "@work"?)` {
		t.Fatalf("got %v", err)
	}
}

// TestResolveChecksCodeLayers: layers built in code (flags, environment) get
// the same checks as parsed files, and the error names the layer and key.
func TestResolveChecksCodeLayers(t *testing.T) {
	tests := []struct {
		name  string
		layer *File
		x     Expand
		want  string
	}{
		{"network", &File{Path: "flags", Network: "fast"}, testExpand,
			`flags: sandbox.network: unknown network mode "fast", want one of unrestricted, localhost, proxy, blocked`},
		{"domain", &File{Path: "flags", DomainAllowlist: []string{"*"}}, testExpand,
			`flags: proxy.domain_allowlist: "*" would allow every domain; use network = "unrestricted" for that`},
		{"path", &File{Path: "flags", Paths: Paths{Execute: []string{"$PWD"}}}, testExpand,
			`flags: sandbox.paths.execute: only ~ and $HOME expand in paths: "$PWD"`},
		{"relative without base", &File{Path: "flags", Paths: Paths{Read: []string{"x"}}}, Expand{Home: "/h"},
			`flags: sandbox.paths.read: cannot resolve relative path "x": no project root or working directory`},
		{"home unknown", &File{Path: "flags", Paths: Paths{Read: []string{"~/x"}}}, Expand{Cwd: "/c"},
			`flags: sandbox.paths.read: cannot expand "~/x": the home directory is unknown`},
		{"env", &File{Path: "flags", Env: []string{"A-B"}}, testExpand,
			`flags: sandbox.env: "A-B" is not KEY or KEY=VALUE with a valid variable name`},
		{"wrap", &File{Path: "flags", Wrap: []string{"a b"}}, testExpand,
			`flags: wrap: "a b" is not a command name: use letters, digits, '_', '.', '+' and '-'`},
		{"destination", &File{Path: "flags", Destinations: []string{"10.0.0.1/8"}}, testExpand,
			`flags: proxy.destinations: host bits set in "10.0.0.1/8" (did you mean "10.0.0.0/8"?)`},
		{"upstream", &File{Path: "flags", UpstreamDNS: []string{"x"}}, testExpand,
			`flags: proxy.upstream_dns: "x" is not an IP address with an optional port, such as 127.0.0.53:53 or [::1]:53`},
		{"profile", &File{Path: "flags", Profiles: []string{"cargoo"}}, testExpand,
			`flags: profiles: unknown profile "cargoo" (did you mean "@cargo"?)`},
		{"user profile with relative path", &File{Path: "g", UserProfiles: map[string]profiles.Profile{
			"@mine": {Name: "@mine", Read: []string{"rel"}}}, Profiles: []string{"mine"}}, testExpand,
			`profile @mine: read: "rel" is relative; profile paths must be absolute or start with ~`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve([]*File{tt.layer}, tt.x)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestBuiltinProfilesResolve checks every built-in profile's domains, paths
// and env against the config rules.
func TestBuiltinProfilesResolve(t *testing.T) {
	for _, p := range profiles.Builtin() {
		e, err := Resolve([]*File{{Path: "t", Profiles: []string{p.Name}}}, testExpand)
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		for _, d := range p.Domains {
			if n, _ := NormalizeDomain(d); n != d {
				t.Errorf("%s: domain %q is not canonical", p.Name, d)
			}
		}
		if len(p.Domains) > 0 && e.Network != scope.NetProxy {
			t.Errorf("%s: network %s", p.Name, e.Network)
		}
	}
}
