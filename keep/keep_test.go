package keep

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/scope"
)

// fixture is an upper layer of the real directory real, with the entries
// a command could leave there.
type fixture struct {
	t                  *testing.T
	store              Store
	upper, real, state string
	now                time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{t: t, upper: filepath.Join(base, "upper"), real: filepath.Join(base, "home"), state: filepath.Join(base, "state")}
	f.now = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f.store = Store{Dir: filepath.Join(f.state, "kept"), Now: func() time.Time { return f.now }}
	for _, d := range []string{f.upper, f.real} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// write creates rel below the upper layer with content and mode.
func (f *fixture) write(rel, content string, mode os.FileMode) {
	f.t.Helper()
	p := filepath.Join(f.upper, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		f.t.Fatal(err)
	}
}

// put stores the upper layer as one run's pending layer.
func (f *fixture) put(writable ...string) Layer {
	f.t.Helper()
	p := f.store.Begin("/project")
	p.Add(f.upper, f.real, writable)
	l, err := p.Close()
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

func (f *fixture) entries() []Entry {
	f.t.Helper()
	layers, err := f.store.Layers()
	if err != nil {
		f.t.Fatal(err)
	}
	return Latest(layers)
}

func TestPendingKeepsOnlyHarmlessFiles(t *testing.T) {
	f := newFixture(t)
	f.write("newfile", "x\n", 0o755|os.ModeSetuid)
	f.write("d/e/f", "y\n", 0o644)
	f.write(".claude.json", "{}", 0o600) // a writable path: already copied
	if err := os.Symlink("/etc/passwd", filepath.Join(f.upper, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.upper, "empty/inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := f.put(".claude.json")
	var got []string
	for _, file := range l.Files {
		got = append(got, strings.TrimPrefix(file.Path, f.real+"/"))
	}
	if strings.Join(got, " ") != "d/e/f newfile" {
		t.Errorf("files = %v, want d/e/f newfile", got)
	}
	if _, err := os.Lstat(filepath.Join(f.upper, ".claude.json")); err != nil {
		t.Errorf("the writable path was moved out of the upper layer: %v", err)
	}
	err := filepath.WalkDir(f.store.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir() && fi.Mode().Perm() != 0o700 || fi.IsDir() && fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0:
			t.Errorf("%s: directory mode %v, want 0700", p, fi.Mode())
		case fi.Mode().IsRegular() && fi.Mode() != 0o600:
			t.Errorf("%s: file mode %v, want 0600", p, fi.Mode())
		case !fi.IsDir() && !fi.Mode().IsRegular():
			t.Errorf("%s: %v is in the store", p, fi.Mode().Type())
		case fi.IsDir() && strings.Contains(p, "empty"):
			t.Errorf("%s: an empty directory is in the store", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPendingWithNothingLeavesNoLayer(t *testing.T) {
	f := newFixture(t)
	f.write(".claude.json", "{}", 0o600)
	if l := f.put(".claude.json"); len(l.Files) != 0 {
		t.Errorf("files = %v, want none", l.Files)
	}
	if _, err := os.Lstat(f.store.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the store was created for nothing: %v", err)
	}
}

func TestLayersExpireAfterADay(t *testing.T) {
	f := newFixture(t)
	f.write("old", "1", 0o644)
	f.put()
	f.now = f.now.Add(Expiry - time.Minute)
	f.write("new", "2", 0o644)
	f.put()
	if got := len(f.entries()); got != 2 {
		t.Fatalf("%d entries before the first layer expires, want 2", got)
	}
	f.now = f.now.Add(2 * time.Minute)
	got := f.entries()
	if len(got) != 1 || filepath.Base(got[0].Path) != "new" {
		t.Errorf("entries after a day = %v, want only new", got)
	}
	if dirs, _ := os.ReadDir(f.store.Dir); len(dirs) != 1 {
		t.Errorf("%d layer directories after one expired, want 1", len(dirs))
	}
}

func TestLatestVersionWins(t *testing.T) {
	f := newFixture(t)
	f.write("f", "first", 0o644)
	f.put()
	f.now = f.now.Add(time.Second)
	f.write("f", "second", 0o644)
	f.put()
	got := f.entries()
	if len(got) != 1 || got[0].Size != int64(len("second")) {
		t.Fatalf("entries = %v, want the second version only", got)
	}
	if err := f.store.Keep(got[0]); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(f.real, "f")); string(b) != "second" {
		t.Errorf("kept %q, want second", b)
	}
	if rest := f.entries(); len(rest) != 0 {
		t.Errorf("entries after keeping = %v, want none (the older version goes too)", rest)
	}
}

func TestKeepWritesWithoutExecuteOrSymlinks(t *testing.T) {
	tests := []struct {
		name    string
		rel     string
		mode    os.FileMode
		prepare func(t *testing.T, real string) // the host before keep
		wantErr string
		want    os.FileMode // mode of the written file
	}{
		{name: "new file in new directories", rel: "a/b/c", mode: 0o755, want: 0o644},
		{name: "replaces a file, keeps its mode less execute", rel: "script", mode: 0o600,
			prepare: func(t *testing.T, real string) { mustWrite(t, filepath.Join(real, "script"), "old", 0o750) }, want: 0o640},
		{name: "symlink at the path", rel: "target", mode: 0o644,
			prepare: func(t *testing.T, real string) { mustSymlink(t, "/etc/passwd", filepath.Join(real, "target")) },
			wantErr: "not a regular file"},
		{name: "symlink on the way", rel: "dir/file", mode: 0o644,
			prepare: func(t *testing.T, real string) { mustSymlink(t, t.TempDir(), filepath.Join(real, "dir")) },
			wantErr: "symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(tt.rel, "new", tt.mode)
			f.put()
			if tt.prepare != nil {
				tt.prepare(t, f.real)
			}
			e := f.entries()[0]
			err := f.store.Keep(e)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Keep = %v, want an error with %q", err, tt.wantErr)
				}
				if fi, lerr := os.Lstat(filepath.Join(f.real, tt.rel)); lerr == nil && fi.Mode().IsRegular() {
					t.Errorf("Keep wrote through the symbolic link")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(filepath.Join(f.real, tt.rel))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tt.want {
				t.Errorf("mode %v, want %v", fi.Mode(), tt.want)
			}
		})
	}
}

func TestKeepRefusesAPlantedStoreSymlink(t *testing.T) {
	f := newFixture(t)
	f.write("f", "new", 0o644)
	f.put()
	e := f.entries()[0]
	src := e.Source()
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, "/etc/passwd", src)
	if err := f.store.Keep(e); err == nil {
		t.Fatalf("Keep followed a symbolic link in the store")
	}
	if _, err := os.Lstat(filepath.Join(f.real, "f")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Keep wrote something: %v", err)
	}
}

func TestPreview(t *testing.T) {
	f := newFixture(t)
	f.write("text", "a\nb\nc\n", 0o644)
	f.write("same", "same\n", 0o644)
	f.write("fresh", "x", 0o644)
	f.put()
	mustWrite(t, filepath.Join(f.real, "text"), "a\nB\nc\n", 0o644)
	mustWrite(t, filepath.Join(f.real, "same"), "same\n", 0o644)
	got := map[string]Plan{}
	for _, e := range f.entries() {
		p, err := f.store.Preview(e)
		if err != nil {
			t.Fatal(err)
		}
		got[filepath.Base(e.Path)] = p
	}
	if p := got["text"]; !p.Exists || p.Diff != "-2: B\n+2: b\n" {
		t.Errorf("text: %+v, want a one-line diff", p)
	}
	if p := got["same"]; !p.Same {
		t.Errorf("same: %+v, want Same", p)
	}
	if p := got["fresh"]; p.Exists || p.Diff != "" {
		t.Errorf("fresh: %+v, want a new file", p)
	}
}

func TestClear(t *testing.T) {
	f := newFixture(t)
	f.write("a", "1", 0o644)
	f.write("b", "2", 0o644)
	f.put()
	n, err := f.store.Clear()
	if err != nil || n != 2 {
		t.Fatalf("Clear = %d, %v; want 2", n, err)
	}
	if rest := f.entries(); len(rest) != 0 {
		t.Errorf("entries after Clear = %v", rest)
	}
}

// TestRefusal: pent keep writes only plain paths of the home directory or
// the project (rt5 E1, E4).
func TestRefusal(t *testing.T) {
	home := t.TempDir()
	// E4: ~/.bashrc and ~/.vim are links into a dotfiles repository.
	for _, d := range []string{"dotfiles/vim", "src/app"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{".bashrc": "dotfiles/bashrc", ".vim": "dotfiles/vim", ".myrc": "dotfiles/myrc"} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			t.Fatal(err)
		}
	}
	guard := NewGuard(home, scope.HostExecutedLocations(home, []string{"/usr/bin"}, ""))
	h := func(rel string) string { return filepath.Join(home, rel) }
	project := h("src/app")
	tests := []struct {
		path, project, where string
	}{
		{h("newfile"), project, ""},
		{h("src/outside.txt"), project, ""},
		{h("src/app/main.go"), project, ""},
		{h("dotfiles/README"), project, ""},
		{"/srv/app/main.go", "/srv/app", ""},
		{h(".npmrc"), project, h(".npmrc")},
		{h(".bashrc"), project, h(".bashrc")},
		{h(".local/bin/tool"), project, h(".local/bin")},
		{h("src/app/.envrc"), project, h("src/app/.envrc")},
		{h("src/app/.git/hooks/pre-commit"), project, h("src/app/.git")},
		{h("other/.vscode/settings.json"), project, h("other/.vscode")},
		{h(".ssh/id_ed25519"), project, h(".ssh/id_ed25519")},
		{h(".ssh/known_hosts"), project, h(".ssh")},
		{h(".aws/credentials"), project, h(".aws")},
		{h(".local/state/pent/kept/x"), project, h(".local/state/pent")},
		// rt5 E1 and k1: configuration no list named.
		{h(".bash_aliases"), project, h(".bash_aliases")},
		{h(".local/lib/python3.11/site-packages/zz.pth"), project, h(".local")},
		{h(".config/go/env"), project, h(".config/go/env")},
		{h(".local/share/systemd/user/evil.service"), project, h(".local/share/systemd")},
		{h(".local/share/applications/firefox.desktop"), project, h(".local/share/applications")},
		{h(".local/share/dbus-1/services/x.service"), project, h(".local/share/dbus-1")},
		{h(".config/emacs/init.el"), project, h(".config/emacs")},
		{h(".local/share/nvim/site/plugin/x.lua"), project, h(".local/share/nvim")},
		{h(".bash_completion"), project, h(".bash_completion")},
		{h(".bashrc.d/x.sh"), project, h(".bashrc.d")},
		{h(".tmux.conf"), project, h(".tmux.conf")},
		{h(".gdbinit"), project, h(".gdbinit")},
		{h(".zcompdump"), project, h(".zcompdump")},
		{h(".config/containers/containers.conf"), project, h(".config")},
		{h(".config/zsh/.zshrc"), project, h(".config")},
		{h(".xonshrc"), project, h(".xonshrc")},
		{h(".Xresources"), project, h(".Xresources")},
		{h(".bashrc.local"), project, h(".bashrc.local")},
		{h(".m2/settings.xml"), project, h(".m2/settings.xml")},
		{h("src/app/.eslintrc"), project, h("src/app/.eslintrc")},
		// E4: the targets of links that are dot entries or host-executed.
		{h("dotfiles/bashrc"), project, h("dotfiles/bashrc")},
		{h("dotfiles/vim/plugin/x.vim"), project, h("dotfiles/vim")},
		{h("dotfiles/myrc"), project, h("dotfiles/myrc")},
		// Outside the home directory: only inside the project.
		{"/etc/profile.d/x.sh", project, "/etc/profile.d/x.sh"},
		{"/srv/other/x", "/srv/app", "/srv/other/x"},
		{"/srv/app/x", "/", "/srv/app/x"},
		{"/srv/app/x", "", "/srv/app/x"},
		{"/srv/app/.config/x", "/srv/app", "/srv/app/.config"},
	}
	for _, tt := range tests {
		if where, why := guard.Refusal(tt.path, tt.project); where != tt.where || (where != "") != (why != "") {
			t.Errorf("Refusal(%s, %s) = %q, %q; want %q", tt.path, tt.project, where, why, tt.where)
		}
	}
}

func TestDiff(t *testing.T) {
	tests := []struct{ old, new, want string }{
		{"a\n", "a\n", ""},
		{"", "a\nb\n", "+1: a\n+2: b\n"},
		{"a\nb\n", "", "-1: a\n-2: b\n"},
		{"a\nb\nc\n", "a\nc\nd\n", "-2: b\n+3: d\n"},
		{"fund=true\n", "fund=false\n", "-1: fund=true\n+1: fund=false\n"},
	}
	for _, tt := range tests {
		if got := Diff(tt.old, tt.new); got != tt.want {
			t.Errorf("Diff(%q, %q) = %q, want %q", tt.old, tt.new, got, tt.want)
		}
	}
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPendingNothingDiscarded is what a run that discarded nothing
// adds when it ends: one read of each upper layer.
func BenchmarkPendingNothingDiscarded(b *testing.B) {
	upper := b.TempDir()
	if err := os.WriteFile(filepath.Join(upper, ".claude.json"), []byte("{}"), 0o600); err != nil {
		b.Fatal(err)
	}
	store := Store{Dir: filepath.Join(b.TempDir(), "kept")}
	for b.Loop() {
		p := store.Begin("/project")
		p.Add(upper, "/home/u", []string{".claude.json"})
		if _, err := p.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
