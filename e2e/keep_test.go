//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The keep tests check SPEC §14 "kept writes": a write the sandbox lets
// succeed in a shadowed directory but does not let through (here ~, shown
// through an overlay because @npm grants ~/.npm, which does not exist yet)
// is named in one line when the run ends and kept for `pent keep`.

// discardedLine is the start of the summary of discarded writes.
const discardedLine = "writes outside the allowed paths were not kept:"

// keptRun runs script with @npm from ~/app, a project directly in ~, so
// that ../x is ~/x.
func (r *runner) keptRun(script string) result {
	r.t.Helper()
	dir := filepath.Join(r.home, "app")
	r.mkdir(dir, 0o755)
	return r.pentIn(dir, "run", "--profile", "@npm", "--", "sh", "-c", script)
}

// summaryLines are the lines of stderr that summarise discarded writes.
func summaryLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "outside the allowed paths") {
			out = append(out, l)
		}
	}
	return out
}

// TestKeepNamesDiscardedWrites: npm's `config set` into a ~/.npmrc that did
// not exist, a new file in ~ and ../outside.txt all succeed inside, reach
// nothing outside, and the run ends with one line naming the three (not
// the private /tmp, /var/tmp and /dev/shm writes); `pent keep --list`
// lists them.
func TestKeepNamesDiscardedWrites(t *testing.T) {
	needTool(t, "npm", "npm")
	bothModes(t, func(t *testing.T, r *runner) {
		res := r.keptRun(`npm config set fund false && echo x > ~/newfile && echo data > ../outside.txt &&
echo t > /tmp/t && echo v > /var/tmp/v && echo s > /dev/shm/s && echo DONE`)
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, "DONE") {
			t.Fatalf("a write failed inside the sandbox:\n%s", res)
		}
		for _, name := range []string{".npmrc", "newfile", "outside.txt"} {
			r.assertAbsent(filepath.Join(r.home, name))
		}
		lines := summaryLines(res.stderr)
		want := "pent: 3 " + discardedLine + " ~/.npmrc, ~/newfile, ~/outside.txt — `pent keep` writes 2 of them, not configuration, credentials or places the host runs or trusts; allow ~/newfile next time with --write ~/newfile"
		if len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
			t.Errorf("want one summary line starting %q:\n%s", want, res)
		}
		list := r.pent("keep", "--list")
		list.wantCode(t, 0)
		for _, name := range []string{"~/.npmrc", "~/newfile", "~/outside.txt"} {
			if !strings.Contains(list.stdout, name+" ") {
				t.Errorf("pent keep --list lacks %s:\n%s", name, list)
			}
		}
		if strings.Contains(list.stdout, "/tmp") || strings.Contains(list.stdout, "shm") {
			t.Errorf("a private /tmp write is pending:\n%s", list)
		}
	})
}

// TestKeepRestores: `pent keep` without a terminal asks for --yes and
// writes nothing; with --yes it copies the file to its real place without
// an execute bit, refuses ~/.npmrc (host npm runs what it names), and the
// file is no longer pending.
func TestKeepRestores(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		res := r.keptRun(`printf 'hello\n' > ~/newfile && chmod 755 ~/newfile && echo 'script-shell=/evil' > ~/.npmrc && echo DONE`)
		res.wantCode(t, 0)
		newfile := filepath.Join(r.home, "newfile")
		r.assertAbsent(newfile)
		ask := r.pent("keep")
		ask.wantCode(t, 2)
		if !strings.Contains(ask.stderr, "--yes") || !strings.Contains(ask.stdout, "~/newfile: 6 bytes, new") {
			t.Errorf("pent keep without a terminal should show the plan and ask for --yes:\n%s", ask)
		}
		r.assertAbsent(newfile)
		kept := r.pent("keep", "--yes")
		kept.wantCode(t, 1) // ~/.npmrc was refused
		r.assertFile(newfile, "hello\n")
		if fi, err := os.Stat(newfile); err != nil || fi.Mode().Perm()&0o111 != 0 || fileUID(fi) != r.acct.uid {
			t.Errorf("kept file: %v, %v; want no execute bit, owned by the user", fi.Mode(), err)
		}
		r.assertAbsent(filepath.Join(r.home, ".npmrc"))
		if !strings.Contains(kept.stderr, "not keeping ~/.npmrc") {
			t.Errorf("pent keep did not say it refuses ~/.npmrc:\n%s", kept)
		}
		list := r.pent("keep", "--list")
		if strings.Contains(list.stdout, "newfile") || !strings.Contains(list.stdout, "~/.npmrc") {
			t.Errorf("after keeping, ~/newfile should be gone from the list and ~/.npmrc stay:\n%s", list)
		}
	})
}

// TestKeepRefusesSymlinksAndProtected: a symbolic link the command made
// is not kept; a symbolic link at the real path (planted there meanwhile)
// is not written through; a project's protected entry (.envrc) and a
// shell rc file are refused; nothing outside changes.
func TestKeepRefusesSymlinksAndProtected(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		res := r.keptRun(`ln -s ~/.bashrc ~/link && echo planted > ~/newfile && mkdir -p ~/other &&
echo 'eval evil' > ~/other/.envrc && echo 'evil' > ~/.bashrc && echo DONE`)
		res.wantCode(t, 0)
		target := filepath.Join(r.home, "target.txt")
		r.writeFile(target, "host content\n", 0o644)
		if err := os.Symlink(target, filepath.Join(r.home, "newfile")); err != nil {
			t.Fatal(err)
		}
		list := r.pent("keep", "--list")
		if strings.Contains(list.stdout, "~/link") {
			t.Errorf("a symbolic link the command made is pending:\n%s", list)
		}
		kept := r.pent("keep", "--yes")
		kept.wantCode(t, 1)
		r.assertFile(target, "host content\n")
		r.assertAbsent(filepath.Join(r.home, "other", ".envrc"))
		r.assertAbsent(filepath.Join(r.home, ".bashrc"))
		r.assertAbsent(filepath.Join(r.home, "link"))
		for _, want := range []string{"not keeping ~/newfile", "not keeping ~/other/.envrc", "not keeping ~/.bashrc"} {
			if !strings.Contains(kept.stderr, want) {
				t.Errorf("pent keep lacks %q:\n%s", want, kept)
			}
		}
		if fi, err := os.Lstat(filepath.Join(r.home, "newfile")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symbolic link at ~/newfile was replaced: %v", err)
		}
	})
}

// TestKeepRefusesConfiguration (rt5 E1, E4): pent keep writes only plain
// files. ~/.bashrc is a link into a dotfiles repository (hidden inside):
// the command's version of the link's target is refused, as are a new
// ~/.bash_aliases and a file in a dot directory no list names; each
// refusal names the stored copy; a plain new file is kept; the host's
// interactive bash runs nothing planted.
func TestKeepRefusesConfiguration(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		target := filepath.Join(r.home, "dotfiles", "bashrc")
		r.mkdir(filepath.Dir(target), 0o755)
		r.writeFile(target, "# host bashrc\n", 0o644)
		if err := os.Symlink("dotfiles/bashrc", filepath.Join(r.home, ".bashrc")); err != nil {
			t.Fatal(err)
		}
		marker := filepath.Join(r.home, "PWNED")
		res := r.keptRun(`mkdir -p ~/dotfiles && printf '# host bashrc\ntouch ` + marker + `\n' > ~/dotfiles/bashrc && echo "touch ` + marker + `" > ~/.bash_aliases &&
mkdir -p ~/.myapp/hooks && echo "touch ` + marker + `" > ~/.myapp/hooks/run.sh &&
echo notes > ~/notes.txt && echo DONE`)
		res.wantCode(t, 0)
		kept := r.pent("keep", "--yes")
		kept.wantCode(t, 1)
		r.assertFile(target, "# host bashrc\n")
		r.assertAbsent(filepath.Join(r.home, ".bash_aliases"))
		r.assertAbsent(filepath.Join(r.home, ".myapp"))
		r.assertFile(filepath.Join(r.home, "notes.txt"), "notes\n")
		for _, want := range []string{"not keeping ~/dotfiles/bashrc", "not keeping ~/.bash_aliases", "not keeping ~/.myapp/hooks/run.sh"} {
			if !strings.Contains(kept.stderr, want) {
				t.Errorf("pent keep lacks %q:\n%s", want, kept)
			}
		}
		if !strings.Contains(kept.stderr, filepath.Join(r.home, ".local", "state", "pent", "kept")) {
			t.Errorf("a refusal does not name the stored copy:\n%s", kept)
		}
		r.host("bash", "-i", "-c", "true")
		r.assertAbsent(marker)
	})
}

// TestKeepExpires: a layer older than a day is removed the next time the
// store is read, and --clear removes the rest.
func TestKeepExpires(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.keptRun(`echo old > ~/old && echo DONE`).wantCode(t, 0)
		store := filepath.Join(r.home, ".local", "state", "pent", "kept")
		layers, err := filepath.Glob(filepath.Join(store, "*", "layer.json"))
		if err != nil || len(layers) != 1 {
			t.Fatalf("want one pending layer in %s, got %v (%v)", store, layers, err)
		}
		var m map[string]any
		data, err := os.ReadFile(layers[0])
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil {
			t.Fatal(err)
		}
		m["time"] = time.Now().Add(-25 * time.Hour).UTC().Format(time.RFC3339Nano)
		if data, err = json.Marshal(m); err == nil {
			err = os.WriteFile(layers[0], data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		r.keptRun(`echo new > ~/new && echo DONE`).wantCode(t, 0)
		list := r.pent("keep", "--list")
		list.wantCode(t, 0)
		if strings.Contains(list.stdout, "~/old") || !strings.Contains(list.stdout, "~/new") {
			t.Errorf("want only ~/new pending after ~/old's layer expired:\n%s", list)
		}
		r.assertAbsent(filepath.Dir(layers[0]))
		r.pent("keep", "--clear").wantCode(t, 0)
		if list := r.pent("keep", "--list"); strings.Contains(list.stdout, "~/new") {
			t.Errorf("--clear left ~/new pending:\n%s", list)
		}
	})
}

// TestKeepAfterKilledRun: pent killed with SIGKILL after the command wrote
// beside the granted file; the next pent command recovers the granted file
// and keeps the other write, naming it.
func TestKeepAfterKilledRun(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		claude, grant := r.claudeFile()
		args := append(append([]string{"run"}, grant...), "--", "sh", "-c", `
printf killed > "$HOME/.claude.json" && echo beside > "$HOME/junk" && echo WROTE
sleep 60`)
		out, wait, kill := r.startBackground(args...)
		waitLine(t, out, "WROTE")
		kill()
		_, _ = wait()
		res := r.pent("version")
		res.wantCode(t, 0)
		r.assertFile(claude, "killed")
		r.assertAbsent(filepath.Join(r.home, "junk"))
		if lines := summaryLines(res.stderr); len(lines) != 1 || !strings.Contains(lines[0], "~/junk") {
			t.Errorf("the next pent command did not name the kept ~/junk:\n%s", res)
		}
		r.pent("keep", "--yes", filepath.Join(r.home, "junk")).wantCode(t, 0)
		r.assertFile(filepath.Join(r.home, "junk"), "beside\n")
		r.assertNoStaging()
	})
}

// TestKeepAsksInATerminal: in a terminal `pent keep` shows the diff of a
// text file that exists, asks, writes nothing on "n" and the file on "y".
func TestKeepAsksInATerminal(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		// The sandbox's ~ does not show the host's notes.txt: the command
		// writes a new one, which pent keep then offers over the host's.
		notes := filepath.Join(r.home, "notes.txt")
		r.writeFile(notes, "one\nTWO\n", 0o644)
		r.keptRun(`mkdir -p ~/new && echo fresh > ~/new/file && printf 'one\nthree\n' > ~/notes.txt && echo DONE`).wantCode(t, 0)
		for _, answer := range []string{"n", "y"} {
			p := r.startInPty("keep", notes)
			p.expect("-2: TWO", 10*time.Second)
			p.expect("+2: three", 10*time.Second)
			p.expect("write these 1 file(s)? [y/N]", 10*time.Second)
			p.write(answer + "\n")
			if ws := p.wait(10 * time.Second); ws.ExitStatus() != 0 {
				t.Errorf("pent keep answered %q: %v\n%s", answer, ws, p.output())
			}
			want := "one\nTWO\n"
			if answer == "y" {
				want = "one\nthree\n"
			}
			r.assertFile(notes, want)
		}
		r.assertAbsent(filepath.Join(r.home, "new", "file")) // not selected
	})
}
