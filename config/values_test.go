package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
		hint     string
	}{
		{"example.com", "example.com", ""},
		{"Registry.NPMJS.org", "registry.npmjs.org", ""},
		{"*.npmjs.org", "*.npmjs.org", ""},
		{"**.githubusercontent.com", "**.githubusercontent.com", ""},
		{"github.com:22", "github.com:22", ""},
		{"**.corp.example:443", "**.corp.example:443", ""},
		{"localhost", "localhost", ""},
		{"*.test", "*.test", ""},
		{"_acme.example.com", "_acme.example.com", ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"a.example:65535", "a.example:65535", ""},
		{"", "", ""},
		{"*", "", ""},
		{"**", "", ""},
		{"*:443", "", ""},
		{"*.*.example.com", "", ""},
		{"a.*.example.com", "", ""},
		{"*example.com", "", ""},
		{"***.example.com", "", ""},
		{"*.", "", ""},
		{".example.com", "", "**.example.com"},
		{"example.com.", "", "example.com"},
		{"*.example.com.", "", "*.example.com"},
		{"a..b", "", ""},
		{"https://example.com/path", "", "example.com"},
		{"example.com/path", "", ""},
		{"exa mple.com", "", ""},
		{"10.0.0.1", "", ""},
		{"10.0.0.1:80", "", ""},
		{"::1", "", ""},
		{"[::1]:443", "", ""},
		{"*.10.0.0.1", "", ""},
		{"1.2.3", "", ""},
		{"example.123", "", ""},
		{"example.com:0", "", ""},
		{"example.com:65536", "", ""},
		{"example.com:+80", "", ""},
		{"example.com:", "", ""},
		{"example.com:22:22", "", ""},
		{":22", "", ""},
		{"-bad.example", "", ""},
		{"bad-.example", "", ""},
		{"bücher.example", "", ""},
		{"a!.example", "", ""},
		{"a.b\x00", "", ""},
		{strings.Repeat("a", 64) + ".example", "", ""},
		{strings.Repeat("a.", 127) + "example", "", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeDomain(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			continue
		}
		if p, ok := err.(*problem); ok && p.hint != tt.hint || err == nil && tt.hint != "" {
			t.Errorf("NormalizeDomain(%q): error %v, want hint %q", tt.in, err, tt.hint)
		}
	}
}

func TestNormalizeDestinationAndUpstream(t *testing.T) {
	dest := []struct{ in, want string }{
		{"127.0.0.0/8", "127.0.0.0/8"},
		{"10.1.2.3", "10.1.2.3/32"},
		{"fd00::/8", "fd00::/8"},
		{"::1", "::1/128"},
		{"127.0.0.1/8", ""},
		{"10.0.0.0/33", ""},
		{"example.com", ""},
		{"fe80::1%eth0", ""},
		{"", ""},
		{"upstream:127.0.0.0/8", "upstream:127.0.0.0/8"},
		{"upstream:::1", "upstream:::1/128"},
		{"upstream:127.0.0.1/8", ""},
		{"upstream:10.0.0.0/8", ""},
		{"upstream:0.0.0.0/0", ""},
		{"upstream:", ""},
	}
	for _, tt := range dest {
		got, err := NormalizeDestination(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizeDestination(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	up := []struct{ in, want string }{
		{"127.0.0.53:53", "127.0.0.53:53"},
		{"1.1.1.1", "1.1.1.1:53"},
		{"[::1]:5353", "[::1]:5353"},
		{"::1", "[::1]:53"},
		{"127.0.0.1:0", ""},
		{"127.0.0.1:70000", ""},
		{"dns.google", ""},
		{"dns.google:53", ""},
		{"", ""},
	}
	for _, tt := range up {
		got, err := NormalizeUpstream(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizeUpstream(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in   string
		want scope.Network
	}{
		{"unrestricted", scope.NetUnrestricted},
		{"localhost", scope.NetLocalhost},
		{"localhost_only", scope.NetLocalhost},
		{"proxy", scope.NetProxy},
		{"proxy_only", scope.NetProxy},
		{"blocked", scope.NetBlocked},
		{"", ""},
		{"PROXY", ""},
		{"none", ""},
	}
	for _, tt := range tests {
		got, err := ParseNetwork(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("ParseNetwork(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckEnvAndCommand(t *testing.T) {
	env := map[string]bool{
		"HOME": true, "_X1": true, "A=": true, "A=b=c": true, "A=with space": true,
		"": false, "=x": false, "1A": false, "A-B": false, "A B=1": false, "A=\x00": false, "É=1": false,
	}
	for in, ok := range env {
		if err := checkEnv(in); (err == nil) != ok {
			t.Errorf("checkEnv(%q) = %v, want ok=%v", in, err, ok)
		}
	}
	cmds := map[string]bool{
		"npm": true, "g++": true, "python3.12": true, "docker-compose": true, "_x": true,
		"": false, "-rf": false, "a/b": false, "a b": false, "$(x)": false, "a;b": false,
		".x": false, "+x": false, "cd": false, "pent": false, "command": false, "eval": false,
		"_pent_hook": false, "_pent_current": false, "__pent_saved_npm": false, "precmd": false,
		"chpwd": false, "preexec": false, "fish_prompt": false, "fish_preexec": false,
		"command_not_found_handle": false, "TRAPINT": false, "TRAPZERR": false, "if": false, "function": false,
		"pentx": true, "TRAPPER-keeper": false, "trap-x": true,
		// names the shells call or define themselves (red team rt15 #5)
		"fish_vcs_prompt": false, "fish_anything": false, "__fish_git_prompt": false, "prompt_pwd": false,
		"zle-line-init": false, "add-zsh-hook": false, "my-zsh-hook": false, "_pent": false, "_pentx": false,
		"realpath": false, "path": false, "vared": false, "compdef": false, "sched": false, "random": false,
		"block": false, "isatty": false, "cdh": false, "nextd": false, "prevd": false, "dirh": false,
		"fishy": true, "zle": false, "zlex": true, "hook-zsh": true, "pathfinder": true,
	}
	for in, ok := range cmds {
		if err := checkCommand(in); (err == nil) != ok {
			t.Errorf("checkCommand(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestExpandPath(t *testing.T) {
	x := Expand{Home: "/home/u", ProjectRoot: "/src/app", Cwd: "/tmp/cwd"}
	tests := []struct {
		in         string
		x          Expand
		relativeOK bool
		want       string // "" means an error
	}{
		{"~", x, true, "/home/u"},
		{"~/", x, true, "/home/u"},
		{"~/.npm", x, true, "/home/u/.npm"},
		{"$HOME/.cargo", x, true, "/home/u/.cargo"},
		{"${HOME}/.cargo/../.rustup", x, true, "/home/u/.rustup"},
		{"$HOME", x, true, "/home/u"},
		{"/usr//lib/", x, true, "/usr/lib"},
		{"docs", x, true, "/src/app/docs"},
		{"./build/../out", x, true, "/src/app/out"},
		{"../shared", x, true, "/src/shared"},
		{"docs", Expand{Home: "/home/u", Cwd: "/tmp/cwd"}, true, "/tmp/cwd/docs"},
		{"docs", Expand{Home: "/home/u"}, true, ""},
		{"docs", x, false, ""},
		{"~/x", Expand{ProjectRoot: "/p"}, true, ""},
		{"~/x", Expand{Home: "relative"}, true, ""},
		{"$HOMEDIR/x", x, true, ""},
		{"~other", x, true, ""},
		{"", x, true, ""},
	}
	for _, tt := range tests {
		got, err := expandPath(tt.in, tt.x, tt.relativeOK)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("expandPath(%q, %+v, %v) = %q, %v; want %q", tt.in, tt.x, tt.relativeOK, got, err, tt.want)
		}
	}
}

func TestNormalizeProtect(t *testing.T) {
	tests := map[string]string{ // input → clean form, "" for an error
		".github/workflows": ".github/workflows", "./Makefile": "Makefile", "a//b/": "a/b", "x/../y": "y",
		"": "", ".": "", "..": "", "../x": "", "a/../../x": "", "/etc": "", "~/x": "", "$HOME/x": "",
		".git": "", ".git/hooks": "", "./.git/x": "", "a\x1b[31m": "", "a\nb": "",
	}
	for in, want := range tests {
		got, err := NormalizeProtect(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("NormalizeProtect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzNormalizeProtect(f *testing.F) {
	for _, s := range []string{".claude", "a/../b", "../x", ".git/config", "/abs", "x\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		clean, err := NormalizeProtect(s)
		if err != nil {
			return
		}
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || clean != filepath.Clean(clean) ||
			clean == ".git" || strings.HasPrefix(clean, ".git/") {
			t.Fatalf("NormalizeProtect(%q) accepted %q", s, clean)
		}
	})
}
