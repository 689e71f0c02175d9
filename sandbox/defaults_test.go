package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

func TestDefaults(t *testing.T) {
	home := t.TempDir()
	proj := filepath.Join(home, "src", "app")
	localBin := filepath.Join(home, ".local", "bin")
	nodeBin := filepath.Join(home, ".nvm", "versions", "node", "v20", "bin")
	for _, d := range []string{proj, localBin, nodeBin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runtimeDir := t.TempDir()
	path := []string{"/usr/bin", "relative/bin", "/", home, localBin, "/does/not/exist"}

	tests := []struct {
		name         string
		host         Host
		write        []string
		withheld     string
		traverse     []string
		readHas      []string
		executeHas   []string
		executeLacks []string
		protected    string
	}{
		{
			name:       "project",
			host:       Host{Home: home, Cwd: filepath.Join(proj, "sub"), ProjectRoot: proj, RuntimeDir: runtimeDir, Path: path, Command: "/usr/bin/env"},
			write:      []string{proj},
			executeHas: []string{"/usr", localBin},
			protected:  proj,
		},
		{
			name:  "no project: the working directory",
			host:  Host{Home: home, Cwd: proj, Path: path, Command: filepath.Join(localBin, "tool")},
			write: []string{proj},
			// ~/.local/bin is not climbed out of: ~/.local holds unrelated data.
			executeHas:   []string{localBin},
			executeLacks: []string{filepath.Join(home, ".local"), home},
			protected:    proj,
		},
		{
			name:       "deep install tree is climbed",
			host:       Host{Home: home, Cwd: proj, Path: path, Command: filepath.Join(nodeBin, "node")},
			write:      []string{proj},
			executeHas: []string{filepath.Dir(nodeBin)},
			protected:  proj,
		},
		{
			name:         "home is withheld",
			host:         Host{Home: home, Cwd: home, Path: path, Command: "/usr/bin/env"},
			withheld:     home,
			traverse:     []string{home},
			executeLacks: []string{home, "/"},
			protected:    home,
		},
		{
			name:     "root is withheld",
			host:     Host{Home: home, Cwd: "/", Path: path, Command: "/usr/bin/env"},
			withheld: "/",
			readHas:  []string{"/", "/etc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Defaults(tt.host)
			if p.Network != scope.NetBlocked {
				t.Errorf("network %q, want blocked", p.Network)
			}
			if !slices.Equal(p.Write, tt.write) || p.Withheld != tt.withheld || !slices.Equal(p.Traverse, tt.traverse) {
				t.Errorf("write %v withheld %q traverse %v; want %v %q %v", p.Write, p.Withheld, p.Traverse, tt.write, tt.withheld, tt.traverse)
			}
			for _, r := range tt.readHas {
				if !slices.Contains(p.Read, r) {
					t.Errorf("read %v lacks %s", p.Read, r)
				}
			}
			for _, e := range tt.executeHas {
				if !slices.Contains(p.Execute, e) {
					t.Errorf("execute %v lacks %s", p.Execute, e)
				}
			}
			for _, e := range append(tt.executeLacks, "/", "relative/bin", "/does/not/exist") {
				if slices.Contains(p.Execute, e) {
					t.Errorf("execute %v has %s", p.Execute, e)
				}
			}
			if slices.Contains(p.Read, "/etc") == false {
				t.Errorf("/etc is not readable")
			}
			if tt.protected != "" && !slices.Equal(p.Protected, ProtectedUnder(tt.protected)) {
				t.Errorf("protected %v", p.Protected)
			}
			if tt.protected == "" && len(p.Protected) != 0 {
				t.Errorf("protected %v, want none", p.Protected)
			}
			for _, m := range []string{home, "/run"} {
				if !slices.Contains(p.Masked, m) {
					t.Errorf("masked %v lacks %s", p.Masked, m)
				}
			}
			if tt.host.RuntimeDir != "" && !slices.Contains(p.Masked, tt.host.RuntimeDir) {
				t.Errorf("masked %v lacks the runtime dir", p.Masked)
			}
			if fi, err := os.Lstat("/var/run"); err == nil && fi.Mode()&os.ModeSymlink != 0 && slices.Contains(p.Masked, "/var/run") {
				t.Errorf("a symlinked /var/run is masked")
			}
			if !slices.Equal(p.PrivateTmp, []string{"/tmp", "/var/tmp", "/dev/shm"}) {
				t.Errorf("private tmp %v", p.PrivateTmp)
			}
		})
	}
}

func TestProtectedUnder(t *testing.T) {
	var want []string
	for _, n := range []string{".pent.toml", ".pent", ".envrc", ".vscode", ".idea", ".cursor", ".claude",
		".mcp.json", ".gitmodules", ".codex", ".gemini", ".git/hooks", ".git/config", ".git/config.worktree",
		".git/commondir", ".git/modules", ".git/worktrees", ".git/info/exclude", ".git/info/attributes",
		".git/info/sparse-checkout", ".git/info/grafts", ".git/objects/info/alternates", ".git/objects/info/http-alternates"} {
		want = append(want, "/p/"+n)
	}
	if got := ProtectedUnder("/p"); !slices.Equal(got, want) {
		t.Errorf("got %v", got)
	}
}

func TestFilterEnv(t *testing.T) {
	host := map[string]string{
		"PATH": "/usr/bin", "HOME": "/home/u", "TERM": "xterm", "LC_ALL": "C.UTF-8", "LANG": "C",
		"SSH_AUTH_SOCK": "/run/user/1/ssh", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "GITHUB_TOKEN": "ghp",
		"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1/bus", "LD_PRELOAD": "/evil.so",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range host {
			m[a] = b
		}
		m[k] = v
		return m
	}
	base := []string{"HOME=/home/u", "LANG=C", "LC_ALL=C.UTF-8", "PATH=/usr/bin", "TERM=xterm"}
	tests := []struct {
		name  string
		env   map[string]string
		extra []string
		want  []string
	}{
		{"safe set only", host, nil, base},
		{"pass through by name", host, []string{"GITHUB_TOKEN"}, slices.Concat([]string{"GITHUB_TOKEN=ghp"}, base)},
		{"name not set on host", host, []string{"NOPE"}, base},
		{"set a value", host, []string{"FOO=bar=baz", "EMPTY="}, slices.Concat([]string{"EMPTY=", "FOO=bar=baz"}, base)},
		{"override a kept one", host, []string{"TERM=dumb"}, slices.Concat(base[:4], []string{"TERM=dumb"})},
		{"TMPDIR private", with("TMPDIR", "/tmp/"), nil, slices.Concat(base, []string{"TMPDIR=/tmp/"})},
		{"TMPDIR elsewhere dropped", with("TMPDIR", "/home/u/tmp"), nil, base},
		{"TMPDIR below /tmp dropped", with("TMPDIR", "/tmp/user-1"), nil, base},
		{"bad entries dropped", host, []string{"", "=x", "A\x00B=1", "C=\x00"}, base},
		{"empty host", map[string]string{}, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FilterEnv(tt.env, tt.extra)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func FuzzFilterEnv(f *testing.F) {
	f.Add("PATH", "/usr/bin", "GITHUB_TOKEN")
	f.Add("TMPDIR", "/tmp", "X=1")
	f.Add("LC_ALL", "C", "=")
	f.Add("A\x00", "v", "LC_X")
	f.Fuzz(func(t *testing.T, key, value, extra string) {
		env := FilterEnv(map[string]string{key: value}, []string{extra})
		for _, e := range env {
			k, _, ok := strings.Cut(e, "=")
			if !ok || k == "" || strings.ContainsRune(e, 0) {
				t.Fatalf("bad entry %q", e)
			}
		}
		if !slices.IsSorted(env) && len(env) > 1 {
			keys := make([]string, len(env))
			for i, e := range env {
				keys[i], _, _ = strings.Cut(e, "=")
			}
			if !slices.IsSorted(keys) {
				t.Fatalf("not sorted by key: %q", env)
			}
		}
	})
}

func TestValidate(t *testing.T) {
	good := Policy{Command: []string{"/bin/true"}, Dir: "/", Network: scope.NetBlocked, Read: []string{"/usr/"}}
	if p, err := good.normalized(); err != nil || p.Read[0] != "/usr" {
		t.Fatalf("normalized: %v %v", p.Read, err)
	}
	bad := []func(*Policy){
		func(p *Policy) { p.Command = nil },
		func(p *Policy) { p.Command = []string{"true"} },
		func(p *Policy) { p.Dir = "" },
		func(p *Policy) { p.Network = "" },
		func(p *Policy) { p.Network = "proxy_only" },
		func(p *Policy) { p.Write = []string{"rel"} },
		func(p *Policy) { p.Masked = []string{"~/x"} },
	}
	for i, mutate := range bad {
		p := good
		mutate(&p)
		if _, err := p.normalized(); err == nil {
			t.Errorf("case %d: invalid policy accepted: %+v", i, p)
		}
	}
}

// TestDefaultsLinkedTrees: the trees PATH links point into are granted
// for npm packages and bin directories, never home, a directory directly in
// it, or anything reached from a PATH directory inside the project.
func TestDefaultsLinkedTrees(t *testing.T) {
	home := t.TempDir()
	prefix := filepath.Join(home, ".local", "share", "agents")
	proj := filepath.Join(home, "src", "app")
	files := []string{
		"lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe",
		"lib/node_modules/@google/gemini-cli/bundle/gemini.js",
		"lib/node_modules/plain/cli.js",
	}
	for _, f := range files {
		mkfile(t, filepath.Join(prefix, f))
	}
	venv := filepath.Join(home, ".local", "share", "pipx", "venvs", "black")
	mkfile(t, filepath.Join(venv, "bin", "black"))
	mkfile(t, filepath.Join(home, ".ssh", "id_ed25519"))
	mkfile(t, filepath.Join(home, ".ssh", "bin", "x"))
	mkfile(t, filepath.Join(home, "work", "secret", "bin", "tool"))
	links := map[string]string{
		filepath.Join(prefix, "bin", "claude"):                     "../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe",
		filepath.Join(prefix, "bin", "gemini"):                     "../lib/node_modules/@google/gemini-cli/bundle/gemini.js",
		filepath.Join(prefix, "bin", "plain"):                      "../lib/node_modules/plain/cli.js",
		filepath.Join(home, ".local", "bin", "black"):              filepath.Join(venv, "bin", "black"),
		filepath.Join(home, ".local", "bin", "key"):                filepath.Join(home, ".ssh", "id_ed25519"),
		filepath.Join(home, ".local", "bin", "x"):                  filepath.Join(home, ".ssh", "bin", "x"),
		filepath.Join(proj, "node_modules", ".bin", "tool"):        filepath.Join(home, "work", "secret", "bin", "tool"),
		filepath.Join(home, ".local", "bin", "dangling"):           filepath.Join(home, "nowhere", "bin", "y"),
		filepath.Join(home, ".local", "bin", "to-system"):          "/usr/bin/env",
		filepath.Join(home, ".local", "bin", "in-granted-package"): filepath.Join(prefix, "lib", "node_modules", "plain", "cli.js"),
	}
	for link, target := range links {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	path := []string{filepath.Join(prefix, "bin"), filepath.Join(home, ".local", "bin"), filepath.Join(proj, "node_modules", ".bin"), "/usr/bin"}
	p := Defaults(Host{Home: home, Cwd: proj, ProjectRoot: proj, Path: path, Command: "/usr/bin/env"})
	want := []string{
		filepath.Join(prefix, "lib", "node_modules", "@anthropic-ai", "claude-code"),
		filepath.Join(prefix, "lib", "node_modules", "@google", "gemini-cli"),
		filepath.Join(prefix, "lib", "node_modules", "plain"),
		venv,
	}
	for _, w := range want {
		if !slices.Contains(p.Execute, w) {
			t.Errorf("execute lacks %s:\n%s", w, strings.Join(p.Execute, "\n"))
		}
	}
	for _, e := range p.Execute {
		for _, bad := range []string{filepath.Join(home, ".ssh"), filepath.Join(home, "work"), filepath.Join(home, "nowhere")} {
			if within(e, bad) {
				t.Errorf("execute grants %s", e)
			}
		}
		if e == home || e == filepath.Join(home, ".local") || e == filepath.Join(home, ".local", "share") {
			t.Errorf("execute grants %s", e)
		}
	}
}

func TestInstallTrees(t *testing.T) {
	home := "/home/u"
	tests := []struct{ file, want string }{
		{"/opt/n/lib/node_modules/@google/gemini-cli/bundle/gemini.js", "/opt/n/lib/node_modules/@google/gemini-cli"},
		{"/opt/n/lib/node_modules/npm/bin/npm-cli.js", "/opt/n/lib/node_modules/npm"},
		{"/p/node_modules/a/node_modules/b/x.js", "/p/node_modules/a/node_modules/b"},
		{"/home/u/.nvm/versions/node/v20/bin/node", "/home/u/.nvm/versions/node/v20"},
		{"/home/u/.local/bin/tool", "/home/u/.local/bin"},
		{"/home/u/bin/tool", "/home/u/bin"},
		{"/srv/tools/x", "/srv/tools"},
	}
	for _, tt := range tests {
		if got := installTree(tt.file, home); got != tt.want {
			t.Errorf("installTree(%s) = %s, want %s", tt.file, got, tt.want)
		}
	}
}

func mkfile(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
}
