//go:build linux

package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostGitInit makes the fixture project a real repository on the host.
func hostGitInit(t *testing.T, r *runner) {
	t.Helper()
	if res := r.host("git", "init", "-q", "-b", "main"); res.code != 0 {
		t.Fatalf("git init on the host:\n%s", res)
	}
}

// gitIdentity lets git commit without a config file.
const gitIdentity = `export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.test GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.test; `

// TestGitWorksInside: the guard of .git lets what git writes in normal work
// through, and it reaches the host repository (SPEC §13).
func TestGitWorksInside(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		hostGitInit(t, r)
		res := r.sandboxSh(gitIdentity + `set -e
echo one > a.txt; git add a.txt; git commit -qm one
git branch feature; git checkout -q feature; echo two > b.txt; git add b.txt; git commit -qm two
git checkout -q main; echo three > c.txt; git add c.txt; git commit -qm three
echo wip >> a.txt; git stash -q; git stash pop -q; git commit -qam wip
git tag -a v1 -m v1
git merge -q --no-edit feature
git checkout -q -b topic feature; echo four > d.txt; git add d.txt; git commit -qm four
git rebase -q main
git cherry-pick -n main~1 >/dev/null 2>&1 || true; git reset -q --hard
git checkout -q main
git gc -q
echo GIT-OK`)
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, "GIT-OK") {
			t.Fatalf("git inside the sandbox failed:\n%s", res)
		}
		for _, bad := range []string{"quarantine", "error:", "fatal:", "Read-only"} {
			if strings.Contains(res.stderr, bad) {
				t.Errorf("normal git work met %q:\n%s", bad, res)
			}
		}
		log := r.host("git", "log", "--all", "--format=%s")
		for _, want := range []string{"one", "two", "three", "wip", "four", "Merge branch 'feature'"} {
			if !hasExactLine(log.stdout, want) {
				t.Errorf("the host repository lacks commit %q:\n%s", want, log)
			}
		}
		if tags := r.host("git", "tag"); !hasExactLine(tags.stdout, "v1") {
			t.Errorf("the host repository lacks tag v1:\n%s", tags)
		}
		if fsck := r.host("git", "fsck", "--no-progress"); fsck.code != 0 {
			t.Errorf("git fsck on the host:\n%s", fsck)
		}
		if list := r.pent("quarantine", "list"); !strings.Contains(list.stderr, "nothing is quarantined") {
			t.Errorf("normal git work left quarantined entries:\n%s", list)
		}
	})
}

// quarantineID finds the quarantine ID the warning gave for rel.
func quarantineID(t *testing.T, stderr, rel string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(rel) + `, which pent protects: moved it to the quarantine as (\S+);`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no quarantine warning for %s:\n%s", rel, stderr)
	}
	return m[1]
}

// TestQuarantine: a protected name created inside is moved aside with its
// content, named in the warning, and `pent quarantine` lists, restores and
// drops it.
func TestQuarantine(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		envrc := filepath.Join(r.project, ".envrc")
		claude := filepath.Join(r.project, ".claude")
		res := r.sandboxSh(`mkdir c && echo '{"hooks":{}}' > c/settings.json && mv c .claude; echo 'export A=1' > .envrc; echo 'sub' > README.sub`)
		res.wantCode(t, 0)
		r.assertAbsent(envrc)
		r.assertAbsent(claude)
		envID := quarantineID(t, res.stderr, "src/app/.envrc")
		claudeID := quarantineID(t, res.stderr, "src/app/.claude")
		r.assertFile(filepath.Join(r.project, "README.sub"), "sub\n")

		list := r.pent("quarantine", "list")
		list.wantCode(t, 0)
		for _, id := range []string{envID, claudeID} {
			if !strings.Contains(list.stdout, id) {
				t.Errorf("list lacks %s:\n%s", id, list)
			}
		}
		restore := r.pent("quarantine", "restore", envID)
		restore.wantCode(t, 0)
		r.assertFile(envrc, "export A=1\n")

		// Restore never overwrites: put a host file where .claude was.
		r.mkdir(claude, 0o755)
		again := r.pent("quarantine", "restore", claudeID)
		again.wantCode(t, 1)
		if !strings.Contains(again.stderr, "exists") {
			t.Errorf("restore over an existing entry:\n%s", again)
		}
		if err := os.Remove(claude); err != nil {
			t.Fatal(err)
		}
		noYes := r.pent("quarantine", "drop", claudeID)
		noYes.wantCode(t, 2)
		r.pent("quarantine", "drop", "--yes", claudeID).wantCode(t, 0)
		if list := r.pent("quarantine", "list"); !strings.Contains(list.stderr, "nothing is quarantined") {
			t.Errorf("entries left after restore and drop:\n%s", list)
		}
		if err := os.Remove(envrc); err != nil {
			t.Fatal(err)
		}
	})
}

// cpuLoad keeps n busy processes of the runner's account running until
// the test ends, in a session of their own: the load of a build in
// another terminal.
func cpuLoad(t *testing.T, r *runner, n int) {
	t.Helper()
	for range n {
		cmd := r.command(t.Context(), r.project, "sh", "-c", "while :; do :; done")
		cmd.SysProcAttr.Setsid = true
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
}

// TestQuarantineVisibility races a host-side observer against a command
// that creates .envrc again and again, while twice as many busy processes
// as CPUs run beside them, and reports the longest time .envrc was in the
// project: as the observer saw each creation (by inode, so that two
// creations never count as one), and as the file system dates it (from
// its birth to the change of the rename that took it out, at the file
// system's timestamp granularity). Every creation must end in the
// quarantine.
func TestQuarantineVisibility(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		const rounds = 100
		busy := 2 * runtime.NumCPU()
		cpuLoad(t, r, busy)
		envrc := filepath.Join(r.project, ".envrc")
		var stop atomic.Bool
		// The observer saw one creation for at least the time between the
		// end of the first look that found it and the start of the last
		// one (a look's own delay, the observer preempted, only shortens
		// this).
		var lower time.Duration
		var seen int
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			var ino uint64
			var since, last time.Time
			for !stop.Load() {
				before := time.Now()
				fi, err := os.Lstat(envrc)
				after := time.Now()
				if ino != 0 && (err != nil || fileIno(fi) != ino) {
					lower, ino = max(lower, last.Sub(since)), 0
				}
				switch {
				case err == nil && ino == 0:
					ino, since, last = fileIno(fi), after, after
					seen++
				case err == nil:
					last = before
				}
			}
		}()
		// Each round creates .envrc in one step (a symbolic link: nothing
		// changes it after its birth but the guard's rename), or counts as
		// not created when the last one is still there.
		res := r.sandboxSh(`c=0; i=0; while [ $i -lt ` + strconv.Itoa(rounds) + ` ]; do
  if ln -s /tmp/x .envrc 2>/dev/null; then c=$((c+1)); fi
  sleep 0.02; i=$((i+1))
done; echo "CREATED $c"`)
		stop.Store(true)
		<-done
		res.wantCode(t, 0)
		var created int
		if _, err := fmt.Sscanf(res.stdout, "CREATED %d", &created); err != nil || created == 0 {
			t.Fatalf("the creator did not report its creations:\n%s", res)
		}
		r.assertAbsent(envrc)
		if n := strings.Count(res.stderr, "which pent protects: moved it"); n != created {
			t.Errorf("%d of %d creations were quarantined", n, created)
		}
		w := quarantinedWindows(t, r)
		if len(w) != created {
			t.Errorf("%d quarantined entries dated, want one per creation (%d)", len(w), created)
		}
		over := len(w) - sort.Search(len(w), func(i int) bool { return w[i] > 50*time.Millisecond })
		t.Logf("%s, %d busy processes beside: .envrc created %d times inside; a host observer saw it %d times, one for at least %v; "+
			"birth to rename, by the file system: median %v, 90th percentile %v, longest %v, %d over 50 ms",
			r.mode, busy, created, seen, lower, w[len(w)/2], w[len(w)*9/10], w[len(w)-1], over)
	})
}

// fileIno is fi's inode number.
func fileIno(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// quarantinedWindows dates every entry in the runner's quarantine from its
// birth to its last change (the rename into the quarantine, for a file not
// written after) and returns the durations, shortest first.
func quarantinedWindows(t *testing.T, r *runner) []time.Duration {
	t.Helper()
	var out []time.Duration
	dir := filepath.Join(r.home, ".local", "state", "pent", "quarantine")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "entry" {
			return err
		}
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_CTIME, &st); err != nil {
			return err
		}
		if st.Mask&unix.STATX_BTIME == 0 {
			return fmt.Errorf("%s: the file system records no birth time", p)
		}
		ts := func(s unix.StatxTimestamp) time.Time { return time.Unix(s.Sec, int64(s.Nsec)) }
		out = append(out, ts(st.Ctime).Sub(ts(st.Btime)))
		return nil
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("dating the quarantined entries: %d dated, %v", len(out), err)
	}
	slices.Sort(out)
	return out
}

// attemptRecovery: a protected name left in the project by a run whose
// pent was killed before it could move it (a symlink, which would make
// every later run refuse to start) is quarantined by the next pent command.
func attemptRecovery(t *testing.T, r *runner) {
	envrc := filepath.Join(r.project, ".envrc")
	started, goAhead := filepath.Join(r.project, "started"), filepath.Join(r.project, "go")
	cmd := r.command(t.Context(), r.project, pentBin, "run", "--", "sh", "-c",
		"touch started; while [ ! -e go ]; do sleep 0.02; done; ln -s README .envrc; sleep 300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Freeze pent once the command runs, so that its watch cannot act,
	// and only then let the command create the file.
	if !waitFor(30*time.Second, func() bool { _, err := os.Lstat(started); return err == nil }) {
		t.Fatal("the sandboxed command never started")
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	r.writeFile(goAhead, "", 0o644)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Lstat(envrc); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the sandboxed command never created .envrc")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := os.Lstat(envrc); err != nil {
		t.Fatalf("control: .envrc should still be there after pent was killed: %v", err)
	}
	res := r.pent("version")
	res.wantCode(t, 0)
	r.assertAbsent(envrc)
	id := quarantineID(t, res.stderr, "src/app/.envrc")
	if list := r.pent("quarantine", "list"); !strings.Contains(list.stdout, id) {
		t.Errorf("the recovered entry is not listed:\n%s", list)
	}
	// The planted symlink no longer stops the next run.
	r.pent("run", "--", "true").wantCode(t, 0)
}

// TestIntegrity_KilledRunLeavesHostWork: the next pent sweeps a killed run's
// guarded directories for what its command made, not for what the user
// made there on the host after the kill (a .vscode, `git worktree add`):
// entries born more than two beats of the run's record after its last one
// stay.
func TestIntegrity_KilledRunLeavesHostWork(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		envrc, vscode := filepath.Join(r.project, ".envrc"), filepath.Join(r.project, ".vscode")
		started := filepath.Join(r.project, "started")
		cmd := r.command(t.Context(), r.project, pentBin, "run", "--", "sh", "-c", "echo planted > .envrc; touch started; sleep 300")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		if !waitFor(30*time.Second, func() bool { _, err := os.Lstat(started); return err == nil }) {
			t.Fatal("the sandboxed command never started")
		}
		if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil { // no final sweep, no watch
			t.Fatal(err)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		time.Sleep(3 * time.Second) // past two beats of the dead run's record
		r.mkdir(vscode, 0o755)
		res := r.pent("version")
		res.wantCode(t, 0)
		r.assertAbsent(envrc)
		if fi, err := os.Lstat(vscode); err != nil || !fi.IsDir() {
			t.Errorf("the user's .vscode, made after the kill, was taken: %v\n%s", err, res)
		}
	})
}
