package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shadowFixture is a fixture whose policy writes ~/.claude.json, a file
// directly in the hidden home, with pent's state directory beside it.
type shadowFixture struct {
	*fixture
	claude, state string
	opts          LaunchOptions
	warnings      []string
	mu            sync.Mutex
}

func newShadowFixture(t *testing.T) *shadowFixture {
	t.Helper()
	f := &shadowFixture{fixture: newFixture(t)}
	f.claude = filepath.Join(f.home, ".claude.json")
	f.state = filepath.Join(f.base, "state", "pent")
	if err := os.WriteFile(f.claude, []byte(`{"v":0}`), 0o640); err != nil {
		t.Fatal(err)
	}
	f.policy.Write = append(f.policy.Write, f.claude)
	f.opts = LaunchOptions{StateDir: f.state, Warn: func(format string, args ...any) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.warnings = append(f.warnings, strings.TrimSpace(fmt.Sprintf(format, args...)))
	}}
	return f
}

// run runs script in the sandbox with the fixture's options.
func (f *shadowFixture) run(t *testing.T, script string) string {
	t.Helper()
	p := f.policy
	p.Command = []string{"/bin/sh", "-c", script}
	st, out, err := launchWith(p, f.opts)
	if err != nil || st.Code != 0 {
		t.Fatalf("Launch: %+v %v\n%s", st, err, out)
	}
	return out
}

// assertNoStaging fails if a staging directory of a run is left.
func (f *shadowFixture) assertNoStaging(t *testing.T) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(f.state, stagingSub))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), runPrefix) {
			t.Errorf("staging directory %s left behind", e.Name())
		}
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestSandboxOverlayShadow(t *testing.T) {
	f := newShadowFixture(t)
	held, err := os.Open(f.claude)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	out := f.run(t, `
cd "$HOME"
echo "content=$(cat .claude.json)"
cat .ssh/id_ed25519 2>/dev/null && echo "READ ssh"
ls .ssh 2>/dev/null && echo "LISTED ssh"
cat notes.txt 2>/dev/null && echo "READ notes"
echo scratch > junk.txt && echo "junk=$(cat junk.txt)"
echo "list=$(ls -A | tr '\n' ' ')"
i=0
while [ $i -lt 1000 ]; do
  i=$((i+1))
  printf '{"v":%d}' $i > .claude.json.tmp.$$ && mv .claude.json.tmp.$$ .claude.json || echo "CYCLE $i failed"
done
echo "mode=$(stat -c %a .claude.json)"
`)
	for _, bad := range []string{"READ ssh", "LISTED ssh", "READ notes", "CYCLE", secretMarker} {
		if strings.Contains(out, bad) {
			t.Errorf("output has %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`content={"v":0}`, "junk=scratch", "list=.claude.json junk.txt proj "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := readString(t, f.claude); got != `{"v":1000}` {
		t.Errorf("real file after 1000 write-rename cycles: %q", got)
	}
	// The program's last rename put a new file in place; so does pent, with
	// that file's mode (the shell's umask, not the old file's 0640).
	if fi, err := os.Stat(f.claude); err != nil || !strings.Contains(out, fmt.Sprintf("mode=%o\n", fi.Mode().Perm())) {
		t.Errorf("real file mode %v differs from the one inside:\n%s", fi.Mode(), out)
	}
	// The old real file was replaced, not rewritten: a reader holding it
	// open still has the old content (inode numbers alone may be reused).
	if fi, err := held.Stat(); err != nil || fi.Sys().(*syscall.Stat_t).Nlink != 0 {
		t.Errorf("the program replaced the file by renames, but the real file was rewritten in place")
	}
	if _, err := os.Lstat(filepath.Join(f.home, "junk.txt")); err == nil {
		t.Errorf("a write to a non-allowed file in ~ reached the host")
	}
	entries, _ := os.ReadDir(f.home)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".pent-") || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in the real home", e.Name())
		}
	}
	f.assertNoStaging(t)
	if len(f.warnings) > 0 {
		t.Errorf("warnings: %q", f.warnings)
	}
}

// TestSandboxOverlayFileOps: truncate, append and chmod edit the real file
// in place (its inode stays, as it would without the sandbox); a delete
// deletes it; a new file at a writable path that did not exist is created.
func TestSandboxOverlayFileOps(t *testing.T) {
	f := newShadowFixture(t)
	fresh := filepath.Join(f.home, ".fresh.json")
	gone := filepath.Join(f.home, ".gone")
	if err := os.WriteFile(gone, []byte("bye"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.policy.Write = append(f.policy.Write, fresh, gone)
	before := inode(t, f.claude)
	f.run(t, `
cd "$HOME"
: > .claude.json
echo one >> .claude.json
echo two >> .claude.json
chmod 600 .claude.json
echo new > .fresh.json
rm .gone
`)
	if got := readString(t, f.claude); got != "one\ntwo\n" {
		t.Errorf("real file: %q", got)
	}
	if after := inode(t, f.claude); after != before {
		t.Errorf("in-place edits changed the real inode: %d → %d", before, after)
	}
	if fi, _ := os.Stat(f.claude); fi.Mode().Perm() != 0o600 {
		t.Errorf("chmod did not reach the real file: %v", fi.Mode())
	}
	if got := readString(t, fresh); got != "new\n" {
		t.Errorf("new writable file: %q", got)
	}
	if _, err := os.Lstat(gone); err == nil {
		t.Errorf("a deleted writable file is still on the host")
	}
	f.assertNoStaging(t)
}

// TestSandboxOverlayLiveSync: a write is on the host while the command
// still runs.
func TestSandboxOverlayLiveSync(t *testing.T) {
	f := newShadowFixture(t)
	seen := filepath.Join(f.proj, "seen")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if b, _ := os.ReadFile(f.claude); string(b) == "live\n" {
				os.WriteFile(seen, nil, 0o644)
				return
			}
		}
	}()
	out := f.run(t, `
echo live > "$HOME/.claude.json.new" && mv "$HOME/.claude.json.new" "$HOME/.claude.json"
i=0
while [ ! -e seen ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
[ -e seen ] && echo SEEN-WHILE-RUNNING
`)
	if !strings.Contains(out, "SEEN-WHILE-RUNNING") {
		t.Errorf("the host did not see the write within 10 s while the command ran:\n%s", out)
	}
}

// TestSandboxOverlaySymlink: a symbolic link the command puts in place of
// the writable file, or beside it, is never followed by pent.
func TestSandboxOverlaySymlink(t *testing.T) {
	f := newShadowFixture(t)
	secret := filepath.Join(f.home, ".ssh", "id_ed25519")
	f.run(t, `
cd "$HOME"
ln -s `+secret+` link-beside
ln -s `+secret+` proj/link-in-project
rm .claude.json && ln -s `+secret+` .claude.json
`)
	// The user's file stays as it was: a removal reaches the host only at
	// the end, and by then a link stands there, which pent does not copy.
	if got := readString(t, f.claude); got != `{"v":0}` {
		t.Errorf("real file changed: %q", got)
	}
	if !slices.ContainsFunc(f.warnings, func(w string) bool { return strings.Contains(w, "not a regular file") }) {
		t.Errorf("no warning about the replaced file: %q", f.warnings)
	}
	fixtureSecrets := []string{secret, filepath.Join(f.home, ".aws", "credentials"), filepath.Join(f.home, "notes.txt")}
	filepath.Walk(f.base, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !slices.Contains(fixtureSecrets, path) {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), secretMarker) {
				t.Errorf("the secret was copied to %s", path)
			}
		}
		return nil
	})
	f.assertNoStaging(t)
}

// TestSandboxOverlayRemoval: removing the writable file inside removes the
// user's file on the host once the command has ended, not while it runs: a
// file removed and, a sync pass later, replaced by a link stays as it was.
func TestSandboxOverlayRemoval(t *testing.T) {
	tests := []struct {
		name, script string
		want         string // the host's file at the end; "" for gone
	}{
		{"removed", `rm "$HOME/.claude.json"; sleep 0.3`, ""},
		{"removed then linked", `rm "$HOME/.claude.json"; sleep 0.3; ln -s "$HOME/.ssh/id_ed25519" "$HOME/.claude.json"`, `{"v":0}`},
		{"removed then rewritten", `rm "$HOME/.claude.json"; sleep 0.3; echo new > "$HOME/.claude.json"`, "new\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newShadowFixture(t)
			f.run(t, tt.script)
			got, err := os.ReadFile(f.claude)
			switch {
			case tt.want == "" && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("~/.claude.json is still on the host after the command removed it: %q %v", got, err)
			case tt.want != "" && string(got) != tt.want:
				t.Errorf("~/.claude.json on the host: %q %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestSandboxOverlayNeedsStateDir(t *testing.T) {
	f := newShadowFixture(t)
	p := f.policy
	p.Command = []string{"/bin/true"}
	_, _, err := launchWith(p, LaunchOptions{})
	if err == nil || !strings.Contains(err.Error(), "StateDir") {
		t.Fatalf("want a refusal naming StateDir, got %v", err)
	}
}

// TestSandboxOverlayHidesLaterFiles: a file created outside after the run
// started is absent inside; the staging tree is masked where a rule would
// expose it.
func TestSandboxOverlayHidesLaterFiles(t *testing.T) {
	f := newShadowFixture(t)
	f.policy.Write = append(f.policy.Write, filepath.Dir(f.state))
	later := filepath.Join(f.home, "later.txt")
	// The command looks only once the host has written the file: go
	// appears after it.
	stop := make(chan struct{})
	defer close(stop)
	go waitFor(filepath.Join(f.proj, "ready"), filepath.Join(f.proj, "go"), stop, func() {
		os.WriteFile(later, []byte(secretMarker), 0o644)
	})
	out := f.run(t, `
touch ready
`+waitScript("go")+`
cat "$HOME/later.txt" 2>/dev/null && echo "READ later"
ls -A "$HOME" | grep -q later && echo "LISTED later"
echo "staging=$(ls -A `+filepath.Join(f.state, stagingSub)+` | tr '\n' ' ')"
`)
	if _, err := os.Stat(later); err != nil || strings.Contains(out, "TIMEOUT") {
		t.Fatalf("the outside write did not happen before the command looked (%v):\n%s", err, out)
	}
	if strings.Contains(out, "READ later") || strings.Contains(out, "LISTED later") || strings.Contains(out, secretMarker) {
		t.Errorf("a file created outside during the run is visible inside:\n%s", out)
	}
	if !strings.Contains(out, "staging=\n") {
		t.Errorf("the staging tree is visible inside:\n%s", out)
	}
}

func TestPlanShadows(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	for _, d := range []string{"home/.npm", "home/.config", "home/dotfiles"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{".claude.json", ".config/gh.yml", "dotfiles/rc"} {
		if err := os.WriteFile(filepath.Join(home, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("dotfiles/rc", filepath.Join(home, ".rc")); err != nil {
		t.Fatal(err)
	}
	h := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(home, n))
		}
		return out
	}
	tests := []struct {
		name        string
		write, read []string
		want        []shadowDir
	}{
		{"file in home", h(".claude.json"), nil, []shadowDir{{Path: home, Files: []string{".claude.json"}}}},
		{"missing file", h(".new.json"), nil, []shadowDir{{Path: home, Files: []string{".new.json"}}}},
		{"nested and sorted", h(".config/gh.yml", ".claude.json", ".b"), nil,
			[]shadowDir{{Path: home, Files: []string{".b", ".claude.json"}}, {Path: filepath.Join(home, ".config"), Files: []string{"gh.yml"}}}},
		{"directory stays a bind", h(".npm"), nil, nil},
		{"symlink stays a bind", h(".rc"), nil, nil},
		{"readable directory is not shadowed", h("dotfiles/rc"), h("dotfiles"), nil},
		{"inside a writable directory", h("dotfiles/rc"), nil, nil},
		{"parent missing on the host", h("nodir/x.json"), nil, nil},
		{"not hidden", []string{filepath.Join(base, "x.json")}, nil, nil},
		{"protected beneath a missing directory", h(".cargo"), nil,
			[]shadowDir{{Path: home, Files: []string{".cargo"}, Never: []string{".cargo/bin", ".cargo/config.toml"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Masked: []string{home}, Write: tt.write, Read: tt.read,
				Protected: h(".cargo/config.toml", ".cargo/bin", ".cargo", ".bashrc", ".claude.json")}
			if tt.name == "inside a writable directory" {
				p.Write = append(p.Write, filepath.Join(home, "dotfiles"))
			}
			got, err := planShadows(p)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// killedRun stages file (in dir) as a run would, lets a "command" write
// content to the staged copy, and abandons the run like a SIGKILL would:
// the lock goes, nothing is copied back.
func killedRun(t *testing.T, state, dir, file, content string) {
	t.Helper()
	s, err := startStaging(filepath.Join(state, stagingSub), []shadowDir{{Path: dir, Files: []string{file}}}, t.Errorf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "0", "upper", file), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// Leftovers a real run has: an overlay work directory without
	// permissions, and a directory the command made mode 000.
	for _, d := range []string{"0/work/work", "0/upper/locked"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d, "inner"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(s.dir, d), 0)
	}
	s.close()
}

func TestRecoverStaging(t *testing.T) {
	base := t.TempDir()
	state, real := filepath.Join(base, "state"), filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(real, ".claude.json")
	if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msgs, err := RecoverStaging(state, nil); err != nil || msgs != nil {
		t.Fatalf("nothing staged: %q %v", msgs, err)
	}

	killedRun(t, state, real, ".claude.json", "staged")
	msgs, err := RecoverStaging(state, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, file); got != "staged" {
		t.Errorf("real file after recovery: %q", got)
	}
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "recovered") && strings.Contains(m, file) }) {
		t.Errorf("no message about the recovery: %q", msgs)
	}
	if entries, _ := os.ReadDir(filepath.Join(state, stagingSub)); len(entries) != 1 || entries[0].Name() != stagingLock {
		t.Errorf("staging left after recovery: %v", entries)
	}

	// A real file changed after the killed run keeps its content; the
	// run's version is kept beside it.
	killedRun(t, state, real, ".claude.json", "stale")
	later := time.Now().Add(time.Hour)
	if err := os.WriteFile(file, []byte("edited after"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(file, later, later)
	if msgs, err = RecoverStaging(state, nil); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, file); got != "edited after" {
		t.Errorf("recovery overwrote a newer real file: %q (%q)", got, msgs)
	}
	if got := readString(t, file+".pent-recovered"); got != "stale" {
		t.Errorf("the run's version was not kept beside it: %q (%q)", got, msgs)
	}

	// A run that still holds its lock is left alone.
	live, err := startStaging(filepath.Join(state, stagingSub), []shadowDir{{Path: real, Files: []string{".claude.json"}}}, t.Errorf)
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err = RecoverStaging(state, nil); err != nil || len(msgs) != 0 {
		t.Errorf("recovery touched a live run: %q %v", msgs, err)
	}
	if _, err := os.Stat(live.dir); err != nil {
		t.Errorf("live run's staging removed: %v", err)
	}
	live.finish()
	if _, err := os.Stat(live.dir); err == nil {
		t.Errorf("finish left the staging directory")
	}
}

func TestRecoverStagingRefusesSharedDir(t *testing.T) {
	state := t.TempDir()
	if err := os.Mkdir(filepath.Join(state, stagingSub), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(state, stagingSub), 0o777)
	if _, err := RecoverStaging(state, nil); err == nil || !strings.Contains(err.Error(), "0700") {
		t.Errorf("want a refusal of a world-writable staging directory, got %v", err)
	}
}

// waitFor polls until path exists on the host, then creates signal (for a
// sandboxed script waiting on it); it gives up when stop closes.
func waitFor(path, signal string, stop <-chan struct{}, then func()) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if _, err := os.Lstat(path); err == nil {
			if then != nil {
				then()
			}
			os.WriteFile(signal, nil, 0o644)
			return
		}
	}
}

// waitScript is a shell line that waits up to 10 s for file to exist.
func waitScript(file string) string {
	return `i=0; while [ ! -e ` + file + ` ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ -e ` + file + ` ] || echo "TIMEOUT ` + file + `"` + "\n"
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// TestSandboxOverlayMissingDir: a writable path in the hidden home that
// does not exist yet, which the command makes a directory (the @npm
// profile's ~/.npm on a fresh machine), reaches the host with everything in
// it: nested directories, 2,000 files, modes without setuid. A deletion
// removes what pent put there and keeps what a host process put there.
func TestSandboxOverlayMissingDir(t *testing.T) {
	f := newShadowFixture(t)
	npm := filepath.Join(f.home, ".npm")
	f.policy.Write = append(f.policy.Write, npm)
	stop := make(chan struct{})
	defer close(stop)
	hostFile := filepath.Join(npm, "gone", "host.txt")
	go waitFor(filepath.Join(npm, "gone", "deep", "x"), filepath.Join(f.proj, "seen"), stop, func() {
		os.WriteFile(hostFile, []byte("host"), 0o644)
	})
	out := f.run(t, `
mkdir -p ~/.npm && echo x > ~/.npm/f
mkdir -p ~/.npm/a/b ~/.npm/gone/deep
for d in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; do mkdir -p ~/.npm/t/$d; done
i=0; while [ $i -lt 2000 ]; do echo "file $i" > ~/.npm/t/$((i % 20))/$i; i=$((i+1)); done
echo keep > ~/.npm/a/b/g && chmod 755 ~/.npm/a/b/g && { chmod 4755 ~/.npm/a/b/g 2>/dev/null; chmod 750 ~/.npm/a; }
echo old > ~/.npm/gone/deep/x
`+waitScript("seen")+`
rm -r ~/.npm/gone
echo "inside=$(ls -A ~/.npm | tr '\n' ' ')"
`)
	if strings.Contains(out, "TIMEOUT") {
		t.Fatalf("pent did not copy the tree while the command ran:\n%s", out)
	}
	if got := readString(t, filepath.Join(npm, "f")); got != "x\n" {
		t.Errorf("~/.npm/f on the host: %q", got)
	}
	for i := 0; i < 2000; i++ {
		path := filepath.Join(npm, "t", fmt.Sprint(i%20), fmt.Sprint(i))
		if b, err := os.ReadFile(path); err != nil || string(b) != fmt.Sprintf("file %d\n", i) {
			t.Fatalf("%s on the host: %q %v", path, b, err)
		}
	}
	if m := fileMode(t, filepath.Join(npm, "a", "b", "g")); m != 0o755 {
		t.Errorf("a file's mode on the host is %v, want 0755 (no set-ID bit)", m)
	}
	if m := fileMode(t, filepath.Join(npm, "a")); m.Perm() != 0o750 || !m.IsDir() {
		t.Errorf("a directory's mode on the host is %v, want 0750", m)
	}
	if _, err := os.Lstat(filepath.Join(npm, "gone", "deep")); err == nil {
		t.Errorf("a directory the command deleted is still on the host")
	}
	if got := readString(t, hostFile); got != "host" {
		t.Errorf("a host file in a directory the command deleted: %q", got)
	}
	filepath.Walk(npm, func(path string, fi os.FileInfo, err error) error {
		if err == nil && strings.Contains(fi.Name(), ".pent-") {
			t.Errorf("temporary file %s left on the host", path)
		}
		return nil
	})
	f.assertNoStaging(t)
	if slices.ContainsFunc(f.warnings, func(w string) bool { return !strings.Contains(w, "made outside") }) {
		t.Errorf("warnings: %q", f.warnings)
	}
}

// TestSandboxOverlayTreeSymlink: symbolic links planted inside the staged
// tree, or put in place of it, are neither followed nor created on the
// host, and the secret they point at is copied nowhere.
func TestSandboxOverlayTreeSymlink(t *testing.T) {
	f := newShadowFixture(t)
	npm := filepath.Join(f.home, ".npm")
	f.policy.Write = append(f.policy.Write, npm)
	secret := filepath.Join(f.home, ".ssh", "id_ed25519")
	stop := make(chan struct{})
	defer close(stop)
	go waitFor(filepath.Join(npm, "sub", "f"), filepath.Join(f.proj, "seen"), stop, nil)
	f.run(t, `
mkdir -p ~/.npm/sub
ln -s `+secret+` ~/.npm/key
ln -s `+filepath.Dir(secret)+` ~/.npm/sub/ssh
ln -s `+secret+` ~/.npm/sub/f.tmp && echo ok > ~/.npm/sub/f
`+waitScript("seen")+`
mv ~/.npm/sub/f.tmp ~/.npm/sub/f
rm -r ~/.npm && ln -s `+filepath.Dir(secret)+` ~/.npm
`)
	// The last line deletes ~/.npm, a writable path, and puts a link in its
	// place. The deletion may reach the host before the link replaces it
	// (the sync saw the directory gone) or not (the sync saw only the link,
	// which it refuses): both are right, a link or a changed file never is.
	switch fi, err := os.Lstat(npm); {
	case errors.Is(err, fs.ErrNotExist):
		t.Logf("the deletion of ~/.npm reached the host before the link replaced it")
	case err != nil || !fi.IsDir():
		t.Fatalf("~/.npm on the host: %v %v", fi, err)
	default:
		if got := readString(t, filepath.Join(npm, "sub", "f")); got != "ok\n" {
			t.Errorf("the real file was changed: %q", got)
		}
	}
	for _, name := range []string{"key", "sub/ssh", "sub/f.tmp"} {
		if _, err := os.Lstat(filepath.Join(npm, name)); err == nil {
			t.Errorf("~/.npm/%s exists on the host", name)
		}
	}
	if !slices.ContainsFunc(f.warnings, func(w string) bool { return strings.Contains(w, "not a regular file") }) {
		t.Errorf("no warning about the links: %q", f.warnings)
	}
	fixtureSecrets := []string{secret, filepath.Join(f.home, ".aws", "credentials"), filepath.Join(f.home, "notes.txt")}
	filepath.Walk(f.base, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("symbolic link %s on the host", path)
		}
		if err == nil && fi.Mode().IsRegular() && !slices.Contains(fixtureSecrets, path) {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), secretMarker) {
				t.Errorf("the secret was copied to %s", path)
			}
		}
		return nil
	})
	f.assertNoStaging(t)
}

// TestSandboxOverlayCreatedOutside: a host process creates the missing
// writable paths during the run, before the command writes them: pent
// leaves the host's versions alone and keeps the command's beside them.
func TestSandboxOverlayCreatedOutside(t *testing.T) {
	f := newShadowFixture(t)
	npm, fresh := filepath.Join(f.home, ".npm"), filepath.Join(f.home, ".fresh.json")
	f.policy.Write = append(f.policy.Write, npm, fresh)
	stop := make(chan struct{})
	defer close(stop)
	go waitFor(filepath.Join(f.proj, "ready"), filepath.Join(f.proj, "go"), stop, func() {
		os.MkdirAll(filepath.Join(npm, "x"), 0o755)
		os.WriteFile(filepath.Join(npm, "x", "f"), []byte("host"), 0o644)
		os.WriteFile(fresh, []byte("host"), 0o644)
	})
	out := f.run(t, `
touch ready
`+waitScript("go")+`
mkdir -p ~/.npm/x/y && echo sandbox > ~/.npm/x/f && echo deep > ~/.npm/x/y/g && echo top > ~/.npm/top
echo sandbox > ~/.fresh.json
sleep 0.3
`)
	if strings.Contains(out, "TIMEOUT") {
		t.Fatalf("the host did not create the paths:\n%s", out)
	}
	if got := readString(t, filepath.Join(npm, "x", "f")); got != "host" {
		t.Errorf("pent wrote into a directory created outside: %q", got)
	}
	for _, name := range []string{"top", "x/y"} {
		if _, err := os.Lstat(filepath.Join(npm, name)); err == nil {
			t.Errorf("pent merged %s into a directory created outside", name)
		}
	}
	if got := readString(t, fresh); got != "host" {
		t.Errorf("pent overwrote a file created outside: %q", got)
	}
	kept := npm + ".pent-recovered"
	for name, want := range map[string]string{"x/f": "sandbox\n", "x/y/g": "deep\n", "top": "top\n"} {
		if got := readString(t, filepath.Join(kept, name)); got != want {
			t.Errorf("%s/%s: %q, want %q", kept, name, got, want)
		}
	}
	if got := readString(t, fresh+".pent-recovered"); got != "sandbox\n" {
		t.Errorf("the command's version of the file: %q", got)
	}
	for _, path := range []string{npm, fresh} {
		if !slices.ContainsFunc(f.warnings, func(w string) bool {
			return strings.Contains(w, path+" was created outside") && strings.Contains(w, path+".pent-recovered")
		}) {
			t.Errorf("no warning about %s: %q", path, f.warnings)
		}
	}
	f.assertNoStaging(t)
}

// TestRecoverStagingDecidesFromTheJournal: recovery overwrites a real file
// only while it is exactly what the run journaled, whatever times the
// sandboxed command gave its staged version; otherwise both versions stay.
func TestRecoverStagingDecidesFromTheJournal(t *testing.T) {
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		staged time.Time // the staged file's mtime, set inside
		host   func(t *testing.T, file string)
		want   string // the real file afterwards
		beside bool   // the run's version kept beside it
	}{
		{"untouched host, future staged time", future, nil, "staged", false},
		{"untouched host, past staged time", past, nil, "staged", false},
		{"host edit, future staged time", future, func(t *testing.T, file string) {
			if err := os.WriteFile(file, []byte("hosted"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "hosted", true},
		{"host edit of the same size, time put back", future, func(t *testing.T, file string) {
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte("OLD"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(file, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, "OLD", true},
		{"host replaced the file", future, func(t *testing.T, file string) {
			if err := os.WriteFile(file+".tmp", []byte("renamed"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(file+".tmp", file); err != nil {
				t.Fatal(err)
			}
		}, "renamed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			state, real := filepath.Join(base, "state"), filepath.Join(base, "real")
			if err := os.Mkdir(real, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(real, ".claude.json")
			if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := startStaging(filepath.Join(state, stagingSub), []shadowDir{{Path: real, Files: []string{".claude.json"}}}, t.Errorf)
			if err != nil {
				t.Fatal(err)
			}
			staged := filepath.Join(s.dir, "0", "upper", ".claude.json")
			if err := os.WriteFile(staged, []byte("staged"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(staged, tc.staged, tc.staged); err != nil {
				t.Fatal(err)
			}
			s.close() // killed: nothing copied
			if tc.host != nil {
				tc.host(t, file)
			}
			msgs, err := RecoverStaging(state, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := readString(t, file); got != tc.want {
				t.Errorf("real file after recovery: %q, want %q (%q)", got, tc.want, msgs)
			}
			_, err = os.Lstat(file + recoveredSuffix)
			if kept := err == nil; kept != tc.beside {
				t.Errorf("run's version kept beside: %v, want %v (%q)", kept, tc.beside, msgs)
			}
			if tc.beside {
				if got := readString(t, file+recoveredSuffix); got != "staged" {
					t.Errorf("the kept version holds %q", got)
				}
				if !slices.ContainsFunc(msgs, func(m string) bool {
					return strings.Contains(m, file+" ") && strings.Contains(m, file+recoveredSuffix)
				}) {
					t.Errorf("no message naming both versions: %q", msgs)
				}
			}
		})
	}
}

// TestSandboxRecoverStagingTree: a run killed after copying part of a
// staged tree. Recovery completes the tree in the directory the run
// created, keeps what changed outside meanwhile, and puts a tree whose
// real directory the run did not create beside it.
func TestSandboxRecoverStagingTree(t *testing.T) {
	base := t.TempDir()
	state, real := filepath.Join(base, "state"), filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := startStaging(filepath.Join(state, stagingSub), []shadowDir{{Path: real, Files: []string{".npm", ".other"}}}, t.Errorf)
	if err != nil {
		t.Fatal(err)
	}
	upper := filepath.Join(s.dir, "0", "upper")
	write := func(root, name, content string) {
		t.Helper()
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(upper, ".npm/a/one", "1")
	write(upper, ".npm/a/four", "4")
	if !s.syncAll(false) {
		t.Fatal("the first copy failed")
	}
	if got := readString(t, filepath.Join(real, ".npm/a/one")); got != "1" {
		t.Fatalf("the live copy: %q", got)
	}
	// More writes the killed run did not copy, and writes outside.
	write(upper, ".npm/a/one", "1b")
	write(upper, ".npm/a/two", "2")
	write(upper, ".npm/b/c/three", "3")
	write(upper, ".npm/a/four", "4b")
	write(real, ".npm/a/four", "host4")
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(real, ".npm/a/four"), later, later)
	write(real, ".npm/a/hostnew", "h")
	write(real, ".other/mine", "mine")
	write(upper, ".other/z", "z")
	s.close()

	msgs, err := RecoverStaging(state, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		".npm/a/one": "1b", ".npm/a/two": "2", ".npm/b/c/three": "3", ".npm/a/hostnew": "h",
		".npm/a/four": "host4", ".npm/a/four.pent-recovered": "4b",
		".other/mine": "mine", ".other.pent-recovered/z": "z",
	} {
		if got := readString(t, filepath.Join(real, name)); got != want {
			t.Errorf("%s after recovery: %q, want %q (%q)", name, got, want, msgs)
		}
	}
	if _, err := os.Lstat(filepath.Join(real, ".other", "z")); err == nil {
		t.Errorf("recovery merged into a directory the run did not create")
	}
	for _, want := range []string{"recovered 3 file(s)", ".other.pent-recovered", "four.pent-recovered"} {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("no message with %q: %q", want, msgs)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(state, stagingSub)); len(entries) != 1 {
		t.Errorf("staging left after recovery: %v", entries)
	}
}

// BenchmarkShadowTreePoll is one poll of a run whose command wrote 2,000
// files below a new writable directory, once they are all copied: the cost
// pent pays every pollInterval while nothing changes.
func BenchmarkShadowTreePoll(b *testing.B) {
	base := b.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		b.Fatal(err)
	}
	s, err := startStaging(filepath.Join(base, "state", stagingSub), []shadowDir{{Path: real, Files: []string{".npm"}}}, b.Errorf)
	if err != nil {
		b.Fatal(err)
	}
	defer s.finish()
	for i := 0; i < 2000; i++ {
		path := filepath.Join(s.dir, "0", "upper", ".npm", fmt.Sprint(i%20), fmt.Sprint(i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("content"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(2 * settled)
	start := time.Now()
	if !s.syncAll(false) {
		b.Fatal("copying failed")
	}
	first := time.Since(start)
	b.ResetTimer()
	for range b.N {
		s.syncAll(false)
	}
	b.ReportMetric(float64(first.Microseconds())/1000, "ms-first-copy")
}

// TestStagingOffersDiscarded: when a run ends, and when the next pent
// recovers a killed one, each upper layer is offered (with what the
// command wrote beside the writable files) before it is removed.
func TestStagingOffersDiscarded(t *testing.T) {
	for _, killed := range []bool{false, true} {
		t.Run(fmt.Sprintf("killed=%v", killed), func(t *testing.T) {
			base := t.TempDir()
			state, real := filepath.Join(base, "state"), filepath.Join(base, "real")
			if err := os.Mkdir(real, 0o755); err != nil {
				t.Fatal(err)
			}
			s, err := startStaging(filepath.Join(state, stagingSub), []shadowDir{{Path: real, Files: []string{".claude.json"}}}, t.Errorf)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.dir, "0", "upper", "junk"), []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}
			var got []string
			offer := func(upper, dir string, writable []string) {
				b, err := os.ReadFile(filepath.Join(upper, "junk"))
				got = append(got, fmt.Sprintf("%s %s %v %v", dir, b, writable, err))
			}
			if killed {
				s.close()
				if _, err := RecoverStaging(state, offer); err != nil {
					t.Fatal(err)
				}
			} else {
				s.discarded = offer
				s.finish()
			}
			if want := real + " junk [.claude.json] <nil>"; len(got) != 1 || got[0] != want {
				t.Errorf("offered %q, want [%q]", got, want)
			}
			if _, err := os.Lstat(s.dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the staging directory is left: %v", err)
			}
		})
	}
}

// TestSandboxOverlayNeverCopied: in a writable directory that did not exist
// when the run started (a first use of ~/.cargo), what the command makes at
// a protected path (the host-executed ~/.cargo/config.toml and ~/.cargo/bin)
// is never copied to the host; the rest of the tree is.
func TestSandboxOverlayNeverCopied(t *testing.T) {
	f := newShadowFixture(t)
	cargo := filepath.Join(f.home, ".cargo")
	f.policy.Write = append(f.policy.Write, cargo)
	f.policy.Protected = append(f.policy.Protected, filepath.Join(cargo, "config.toml"), filepath.Join(cargo, "bin"))
	f.run(t, `
mkdir -p ~/.cargo/bin ~/.cargo/registry
printf '[target.x]\nrunner = "evil"\n' > ~/.cargo/config.toml
printf '#!/bin/sh\n' > ~/.cargo/bin/ls && chmod +x ~/.cargo/bin/ls
echo kept > ~/.cargo/registry/index
`)
	if got := readString(t, filepath.Join(cargo, "registry", "index")); got != "kept\n" {
		t.Errorf("the grant's ordinary file on the host: %q", got)
	}
	for _, never := range []string{"config.toml", "bin"} {
		if _, err := os.Lstat(filepath.Join(cargo, never)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("~/.cargo/%s reached the host: %v", never, err)
		}
	}
	if !slices.ContainsFunc(f.warnings, func(w string) bool { return strings.Contains(w, "config.toml") && strings.Contains(w, "did not copy") }) {
		t.Errorf("no warning about ~/.cargo/config.toml: %q", f.warnings)
	}
	f.assertNoStaging(t)
}
