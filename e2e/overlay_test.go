//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The overlay tests grant one file directly in the hidden home,
// ~/.claude.json, the way @claude does, and check SPEC §4.1 "Overlay
// shadowing": the rest of ~ stays invisible, writes elsewhere in ~ are
// discarded, writes to the file reach the host promptly and survive a
// SIGKILL of pent.

const claudeStart = `{"v":0}`

// claudeFile creates ~/.claude.json and returns its path and the flags
// that grant it.
func (r *runner) claudeFile() (string, []string) {
	r.t.Helper()
	path := filepath.Join(r.home, ".claude.json")
	r.writeFile(path, claudeStart, 0o600)
	return path, []string{"--write", path}
}

// assertNoStaging fails if a run's staging directory is left in pent's
// state directory.
func (r *runner) assertNoStaging() {
	r.t.Helper()
	dir := filepath.Join(r.home, ".local", "state", "pent", "staging")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		r.t.Errorf("reading %s: %v", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "run-") {
			r.t.Errorf("staging directory %s left behind", filepath.Join(dir, e.Name()))
		}
	}
}

// TestOverlayShadowedHome: the sibling secret is neither readable nor
// listed, a write elsewhere in ~ is gone after the run, and 1,000 atomic
// write-then-rename cycles leave the real file with the last content.
func TestOverlayShadowedHome(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		claude, grant := r.claudeFile()
		held, err := os.Open(claude)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		res := r.sandboxSh(probeLib+`
cd "$HOME"
echo "start=$(cat .claude.json)"
try ssh cat .ssh/id_ed25519
try sshdir ls .ssh
echo "home=$(ls -A | tr '\n' ' ')"
try junk sh -c 'echo junk > junk.txt && cat junk.txt'
i=0
while [ $i -lt 1000 ]; do
  i=$((i+1))
  printf '{"v":%d}' $i > .claude.json.tmp && mv .claude.json.tmp .claude.json || echo "CYCLE $i FAILED"
done
echo "end=$(cat .claude.json)"
echo DONE`, grant...)
		res.wantCode(t, 0)
		got := probes(t, res, "ssh", "sshdir", "junk")
		if got["ssh"].ok || got["sshdir"].ok {
			t.Errorf("~/.ssh is readable or listable beside the granted file:\n%s", res)
		}
		if !got["junk"].ok {
			t.Errorf("a write to a non-allowed file in ~ failed (it should succeed and be discarded):\n%s", res)
		}
		r.assertNoSecret(res)
		for _, want := range []string{"start=" + claudeStart, `end={"v":1000}`, "DONE"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, res)
			}
		}
		if strings.Contains(res.stdout, "FAILED") {
			t.Errorf("a write-rename cycle failed:\n%s", res)
		}
		if !hasExactLine(res.stdout, "home=.claude.json src") {
			t.Errorf("want ~ to list only the granted file and the project's top directory:\n%s", res)
		}
		r.assertFile(claude, `{"v":1000}`)
		r.assertAbsent(filepath.Join(r.home, "junk.txt"))
		r.assertAbsent(filepath.Join(r.home, ".claude.json.tmp"))
		// The program replaced the file by renames, and so did pent outside:
		// a reader holding the old file keeps the old content.
		if fi, err := held.Stat(); err != nil || fi.Sys().(*syscall.Stat_t).Nlink != 0 {
			t.Errorf("the real file was rewritten in place instead of replaced (%v)", err)
		}
		if fi, err := os.Stat(claude); err != nil || fileUID(fi) != r.acct.uid {
			t.Errorf("the real file's owner changed: %v", err)
		}
		r.assertNoStaging()
	})
}

// startBackground starts pent with args as the runner's account and returns
// a reader of its stdout, a wait that returns its stderr, and a kill.
func (r *runner) startBackground(args ...string) (*bufio.Reader, func() (string, error), func()) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	cmd := r.command(ctx, r.project, pentBin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	wait := func() (string, error) {
		defer cancel()
		err := cmd.Wait()
		r.t.Logf("%s: background pent %v ended (%v); stderr:\n%s", r.mode, args, err, stderr.String())
		return stderr.String(), err
	}
	kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL) }
	return bufio.NewReader(out), wait, kill
}

// waitLine reads until a line equal to want.
func waitLine(t *testing.T, rd *bufio.Reader, want string) {
	t.Helper()
	for {
		line, err := rd.ReadString('\n')
		if strings.TrimSpace(line) == want {
			return
		}
		if err != nil {
			t.Fatalf("pent's output ended before %q", want)
		}
	}
}

// TestOverlayWriteSeenDuringRun: another process outside sees the write
// while the command is still running.
func TestOverlayWriteSeenDuringRun(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		claude, grant := r.claudeFile()
		seen := filepath.Join(r.project, "seen")
		args := append(append([]string{"run"}, grant...), "--", "sh", "-c", `
printf live > "$HOME/.claude.json.new" && mv "$HOME/.claude.json.new" "$HOME/.claude.json" && echo WROTE
i=0; while [ ! -e seen ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
[ -e seen ] && echo SEEN`)
		out, wait, kill := r.startBackground(args...)
		defer kill()
		waitLine(t, out, "WROTE")
		deadline := time.Now().Add(time.Second)
		for {
			if b, _ := os.ReadFile(claude); string(b) == "live" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the write did not reach the real file within a second while the command ran")
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.writeFile(seen, "", 0o644)
		waitLine(t, out, "SEEN")
		if _, err := wait(); err != nil {
			t.Errorf("pent: %v", err)
		}
		r.assertFile(claude, "live")
		r.assertNoStaging()
	})
}

// TestOverlayKilledPentRecovers: pent killed with SIGKILL right after a
// write; the next pent command (any) puts the write in the real file, says
// so, and leaves no staging directory.
func TestOverlayKilledPentRecovers(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		claude, grant := r.claudeFile()
		args := append(append([]string{"run"}, grant...), "--", "sh", "-c", `
printf killed > "$HOME/.claude.json.new" && mv "$HOME/.claude.json.new" "$HOME/.claude.json" && echo WROTE
sleep 60`)
		out, wait, kill := r.startBackground(args...)
		waitLine(t, out, "WROTE")
		kill()
		_, _ = wait()
		res := r.pent("version")
		res.wantCode(t, 0)
		r.assertFile(claude, "killed")
		if !strings.Contains(res.stderr, "killed") || !strings.Contains(res.stderr, claude) {
			t.Errorf("the next pent command did not say it recovered %s:\n%s", claude, res)
		}
		r.assertNoStaging()
	})
}

// TestOverlaySymlinkNotFollowed: a symbolic link to the secret put in place
// of the granted file, beside it, or in the project never makes pent copy
// the secret anywhere.
func TestOverlaySymlinkNotFollowed(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		claude, grant := r.claudeFile()
		secret := filepath.Join(r.home, ".ssh", "id_ed25519")
		res := r.sandboxSh(`
cd "$HOME"
ln -s `+secret+` beside
ln -s `+secret+` src/app/planted
rm .claude.json && ln -s `+secret+` .claude.json
echo DONE`, grant...)
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		r.assertFile(claude, claudeStart)
		if !strings.Contains(res.stderr, "not a regular file") {
			t.Errorf("no warning about the replaced file:\n%s", res)
		}
		fixture := map[string]bool{secret: true, filepath.Join(r.home, ".aws", "credentials"): true}
		err := filepath.WalkDir(r.base, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || fixture[path] {
				return nil
			}
			if b, _ := os.ReadFile(path); strings.Contains(string(b), r.marker) {
				t.Errorf("the secret was copied to %s", path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(r.project, "planted"))
		r.assertNoStaging()
	})
}

// treeScript writes n files "file I" into ~/.npm/t/<I mod 10>/I.
func treeScript(n int) string {
	return fmt.Sprintf(`for d in 0 1 2 3 4 5 6 7 8 9; do mkdir -p "$HOME/.npm/t/$d"; done
i=0; while [ $i -lt %d ]; do echo "file $i" > "$HOME/.npm/t/$((i %% 10))/$i"; i=$((i+1)); done
`, n)
}

// assertTree fails unless the host's ~/.npm/t holds the n files of
// treeScript, owned by the runner's account.
func (r *runner) assertTree(n int) {
	r.t.Helper()
	for i := 0; i < n; i++ {
		path := filepath.Join(r.home, ".npm", "t", fmt.Sprint(i%10), fmt.Sprint(i))
		b, err := os.ReadFile(path)
		if err != nil || string(b) != fmt.Sprintf("file %d\n", i) {
			r.t.Fatalf("%s on the host: %q %v", path, b, err)
		}
		if fi, err := os.Stat(path); err != nil || fileUID(fi) != r.acct.uid {
			r.t.Fatalf("%s is not owned by the runner's account: %v", path, err)
		}
	}
}

// TestOverlayMissingWritableDir: a writable path in ~ that does not exist
// yet and that the command makes a directory, granted by @npm or by
// --write, reaches the host with all the files written in it.
func TestOverlayMissingWritableDir(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		npm := filepath.Join(r.home, ".npm")
		res := r.pent("run", "--profile", "@npm", "--", "sh", "-c", `mkdir -p ~/.npm && echo x > ~/.npm/f`)
		res.wantCode(t, 0)
		r.assertFile(filepath.Join(npm, "f"), "x\n")
		if strings.Contains(res.stderr, npm) {
			t.Errorf("pent warned about %s:\n%s", npm, res)
		}
		if err := os.RemoveAll(npm); err != nil {
			t.Fatal(err)
		}
		res = r.sandboxSh(`mkdir -p ~/.npm/a/b/c && echo deep > ~/.npm/a/b/c/d
`+treeScript(2000)+`echo DONE`, "--write", npm)
		res.wantCode(t, 0)
		r.assertFile(filepath.Join(npm, "a", "b", "c", "d"), "deep\n")
		r.assertTree(2000)
		if strings.Contains(res.stderr, npm) {
			t.Errorf("pent warned about %s:\n%s", npm, res)
		}
		r.assertNoStaging()
	})
}

// TestOverlayMissingDirSymlink: symbolic links to the secret planted in
// the new directory tree are neither followed nor created on the host.
func TestOverlayMissingDirSymlink(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		npm := filepath.Join(r.home, ".npm")
		secret := filepath.Join(r.home, ".ssh", "id_ed25519")
		res := r.sandboxSh(`
mkdir -p ~/.npm/sub
ln -s `+secret+` ~/.npm/key
ln -s `+filepath.Dir(secret)+` ~/.npm/sub/ssh
echo ok > ~/.npm/sub/f
cat ~/.npm/key >/dev/null 2>&1 && echo "READ key"
echo DONE`, "--write", npm)
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		r.assertFile(filepath.Join(npm, "sub", "f"), "ok\n")
		if !strings.Contains(res.stderr, "not a regular file") {
			t.Errorf("no warning about the links:\n%s", res)
		}
		fixture := map[string]bool{secret: true, filepath.Join(r.home, ".aws", "credentials"): true}
		err := filepath.WalkDir(r.base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("symbolic link %s on the host", path)
			}
			if d.Type().IsRegular() && !fixture[path] {
				if b, _ := os.ReadFile(path); strings.Contains(string(b), r.marker) {
					t.Errorf("the secret was copied to %s", path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r.assertNoStaging()
	})
}

// waitHost polls for path on the host for up to 10 s.
func waitHost(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Lstat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear on the host within 10 s", path)
		}
	}
}

// TestOverlayMissingDirKilledPentRecovers: pent killed with SIGKILL after
// the command wrote a tree, part of which pent had copied; the next pent
// command completes the tree in the directory the run created.
func TestOverlayMissingDirKilledPentRecovers(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		npm := filepath.Join(r.home, ".npm")
		out, wait, kill := r.startBackground("run", "--write", npm, "--", "sh", "-c", `
mkdir -p ~/.npm && echo first > ~/.npm/first
i=0; while [ ! -e seen ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
`+treeScript(500)+`echo WROTE
sleep 60`)
		waitHost(t, filepath.Join(npm, "first"))
		r.writeFile(filepath.Join(r.project, "seen"), "", 0o644)
		waitLine(t, out, "WROTE")
		kill()
		_, _ = wait()
		res := r.pent("version")
		res.wantCode(t, 0)
		r.assertFile(filepath.Join(npm, "first"), "first\n")
		r.assertTree(500)
		if !strings.Contains(res.stderr, "killed") || !strings.Contains(res.stderr, npm) {
			t.Errorf("the next pent command did not say it recovered %s:\n%s", npm, res)
		}
		r.assertAbsent(npm + ".pent-recovered")
		r.assertNoStaging()
	})
}

// TestOverlayMissingDirCreatedOutside: a host process creates ~/.npm while
// the sandboxed command runs, before the command writes it: pent does not
// merge the command's tree into it, keeps the tree as
// ~/.npm.pent-recovered and says so.
func TestOverlayMissingDirCreatedOutside(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		npm := filepath.Join(r.home, ".npm")
		out, wait, kill := r.startBackground("run", "--write", npm, "--", "sh", "-c", `
echo READY
i=0; while [ ! -e go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
mkdir -p ~/.npm/x && echo sandbox > ~/.npm/x/f && echo top > ~/.npm/top
echo DONE`)
		defer kill()
		waitLine(t, out, "READY")
		r.writeFile(filepath.Join(npm, "x", "f"), "host", 0o644)
		r.writeFile(filepath.Join(r.project, "go"), "", 0o644)
		waitLine(t, out, "DONE")
		stderr, err := wait()
		if err != nil {
			t.Errorf("pent: %v", err)
		}
		if !strings.Contains(stderr, npm+" was created outside") || !strings.Contains(stderr, npm+".pent-recovered") {
			t.Errorf("pent did not warn that it kept the tree beside %s:\n%s", npm, stderr)
		}
		r.assertFile(filepath.Join(npm, "x", "f"), "host")
		r.assertAbsent(filepath.Join(npm, "top"))
		r.assertFile(filepath.Join(npm+".pent-recovered", "x", "f"), "sandbox\n")
		r.assertFile(filepath.Join(npm+".pent-recovered", "top"), "top\n")
		r.assertNoStaging()
	})
}
