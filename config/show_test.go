package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

func TestShow(t *testing.T) {
	global := mustParse(t, "g.toml", "profiles = [\"@git\"]\n[proxy]\ndestinations = [\"127.0.0.0/8\"]\n", Global)
	project := mustParse(t, ".pent.toml", specExample, Project)
	e, err := Resolve([]*File{global, project}, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Show(e, "toml")
	if err != nil {
		t.Fatal(err)
	}
	// The TOML form lists profiles by name and reads back as the same policy.
	if !strings.Contains(string(out), "profiles = ['@git', '@npm', '@gh']") &&
		!strings.Contains(string(out), `profiles = ["@git", "@npm", "@gh"]`) {
		t.Errorf("profiles not shown by name:\n%s", out)
	}
	if strings.Contains(string(out), "@node") || strings.Contains(string(out), "registry.yarnpkg.com") {
		t.Errorf("show expanded the profiles:\n%s", out)
	}
	back := mustParse(t, "shown.toml", string(out), Project)
	e2, err := Resolve([]*File{back}, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	e2.NetworkSource = e.NetworkSource
	if !reflect.DeepEqual(e, e2) {
		t.Errorf("show does not round-trip:\n%s\ngot  %+v\nwant %+v", out, e2, e)
	}

	js, err := Show(e, "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Profiles []string
		Sandbox  struct {
			Network string
			Paths   struct {
				Read []string
			}
		}
		Proxy struct {
			Destinations []string
		}
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if !slices.Equal(doc.Profiles, e.Profiles) || doc.Sandbox.Network != "proxy" ||
		!slices.Equal(doc.Sandbox.Paths.Read, []string{"/home/u/.npmrc"}) ||
		!slices.Equal(doc.Proxy.Destinations, []string{"127.0.0.0/8"}) {
		t.Errorf("json = %s", js)
	}

	if _, err := Show(e, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
	empty, _ := Resolve(nil, testExpand)
	js, err = Show(empty, "json")
	if err != nil || !strings.Contains(string(js), `"profiles": []`) {
		t.Errorf("empty config shows as %s, %v", js, err)
	}
}

func TestGrants(t *testing.T) {
	global := mustParse(t, "g.toml", `profiles = ["@git"]
[sandbox]
env = ["EDITOR"]
[sandbox.paths]
read_write = ["~/work"]
read = ["/opt"]
[proxy]
domain_allowlist = ["**.example.com", "*.one.example", "api.example.net"]
`, Global)
	project := mustParse(t, ".pent.toml", `profiles = ["@git", "@ssh"]
wrap = ["make"]
[sandbox]
env = ["EDITOR", "TOKEN=abc"]
[sandbox.paths]
read = ["~/work/notes", "/opt/x", "/optical"]
execute = ["/opt/bin", "~/work/bin"]
read_write = ["~/work/out", "~/.local/bin", "~/.cargo"]
[proxy]
domain_allowlist = ["a.b.example.com", "*.example.com", "x.one.example", "x.y.one.example", "api.example.net:443", "example.com", "github.com:22"]
destinations = ["127.0.0.0/8"]
`, Project)
	base, err := Resolve([]*File{global}, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	with, err := Resolve([]*File{global, project}, testExpand)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"profile: @ssh",
		"domain: x.y.one.example",
		"domain: example.com",
		"traversal: /home/u/.ssh",
		"read: /home/u/.ssh/known_hosts",
		"read: /home/u/.ssh/config",
		"read: /home/u/.ssh/config.d",
		"read: /optical",
		"execute: /opt/bin",
		"execute: /home/u/work/bin",
		"read_write: /home/u/.local/bin — widening: what the sandbox writes to /home/u/.local/bin runs or is trusted on the host (a directory on PATH)",
		"read_write: /home/u/.cargo — widening: the sandbox could create /home/u/.cargo/bin, which does not exist yet (a directory on PATH (rustup))",
		"env: SSH_AUTH_SOCK",
		"env: TOKEN=abc",
		"wrap: make",
		"destination: 127.0.0.0/8",
	}
	hostExec := scope.HostExecutedLocations("/home/u", []string{"/usr/bin"}, "")
	got := Grants(base, with, hostExec)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if g := Grants(with, with, hostExec); len(g) != 0 {
		t.Errorf("a policy grants nothing beyond itself, got %v", g)
	}
	blocked := &Effective{Network: "blocked"}
	if g := Grants(blocked, &Effective{Network: "unrestricted"}, nil); !slices.Equal(g, []string{"network: unrestricted (instead of blocked)"}) {
		t.Errorf("network change: %v", g)
	}
	all := Grants(nil, with, hostExec)
	if len(all) < len(want) || all[0] != "network: proxy" || !slices.Contains(all, "profile: @git") ||
		!slices.Contains(all, "read_write: /home/u/work") {
		t.Errorf("against a nil base everything is listed, got %v", all)
	}
}

func TestDomainCovers(t *testing.T) {
	tests := []struct {
		q, p string
		want bool
	}{
		{"a.example", "a.example", true},
		{"a.example", "a.example:443", true},
		{"a.example:443", "a.example", false},
		{"a.example:443", "a.example:443", true},
		{"a.example:443", "a.example:22", false},
		{"**.example", "a.b.example", true},
		{"**.example", "*.b.example", true},
		{"**.example", "**.b.example", true},
		{"**.example", "*.example", true},
		{"**.example", "example", false},
		{"**.example", "aexample", false},
		{"**.example", "a.notexample", false},
		{"*.example", "a.example", true},
		{"*.example", "a.b.example", false},
		{"*.example", "*.b.example", false},
		{"*.example", "**.example", false},
		{"*.example", "example", false},
		{"a.example", "*.a.example", false},
	}
	for _, tt := range tests {
		if got := domainCovers(tt.q, tt.p); got != tt.want {
			t.Errorf("domainCovers(%q, %q) = %v, want %v", tt.q, tt.p, got, tt.want)
		}
	}
}
