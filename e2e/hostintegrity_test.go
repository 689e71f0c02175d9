//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// assertPlainOrAbsent fails unless path is missing or a regular file with a
// single link: what git finds at a name it writes must not lead elsewhere.
func (r *runner) assertPlainOrAbsent(path string) {
	r.t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		return
	}
	if !fi.Mode().IsRegular() {
		r.t.Errorf("%s is a %v on the host after the run", path, fi.Mode().Type())
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		r.t.Errorf("%s has %d links on the host after the run", path, st.Nlink)
	}
}

// attemptGitOddEntries: symlinks, FIFOs and hard links planted at the
// names git writes, and lock files left behind, do not remain in .git,
// so the host's own git neither writes through them (reflog appended to
// an rc file, COMMIT_EDITMSG over a host file) nor stops on a stale lock.
func attemptGitOddEntries(t *testing.T, r *runner) {
	hostGitInit(t, r)
	if res := r.host("sh", "-c", gitIdentity+"git commit -q --allow-empty -m host"); res.code != 0 {
		t.Fatalf("control: git commit on the host:\n%s", res)
	}
	rc, victim := filepath.Join(r.home, "rc"), filepath.Join(r.home, "victim")
	r.writeFile(rc, "# rc\n", 0o644)
	r.writeFile(victim, "keep\n", 0o644)
	git := filepath.Join(r.project, ".git")
	res := r.sandboxSh(gitIdentity + fmt.Sprintf(`set -e
git commit -q --allow-empty -m inside
rm .git/logs/HEAD; ln -s %[1]s .git/logs/HEAD
rm -f .git/COMMIT_EDITMSG; ln -s %[2]s .git/COMMIT_EDITMSG
mkdir -p .git/logs/refs/heads; rm -f .git/logs/refs/heads/main; ln -s %[1]s .git/logs/refs/heads/main
mkfifo .git/FETCH_HEAD
echo x > .git/MERGE_MSG; ln .git/MERGE_MSG .git/SQUASH_MSG
touch .git/index.lock .git/HEAD.lock .git/refs/heads/main.lock
echo PLANTED`, rc, victim))
	res.wantCode(t, 0)
	if !strings.Contains(res.stdout, "PLANTED") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	for _, rel := range []string{"logs/HEAD", "COMMIT_EDITMSG", "logs/refs/heads/main", "FETCH_HEAD", "MERGE_MSG", "SQUASH_MSG"} {
		r.assertPlainOrAbsent(filepath.Join(git, rel))
	}
	for _, rel := range []string{"index.lock", "HEAD.lock", "refs/heads/main.lock"} {
		r.assertAbsent(filepath.Join(git, rel))
	}
	host := r.host("sh", "-c", gitIdentity+"git checkout -q -b 'x;touch${IFS}/nonexistent;#' && git commit -q --allow-empty -m after && echo HOST-OK")
	if !strings.Contains(host.stdout, "HOST-OK") {
		t.Errorf("host git after the run:\n%s", host)
	}
	r.assertFile(rc, "# rc\n")
	r.assertFile(victim, "keep\n")
}

// attemptQuarantineFailsClosed: a protected directory the host cannot
// rename as it is (no write permission on it) is still taken out of the
// project.
func attemptQuarantineFailsClosed(t *testing.T, r *runner) {
	res := r.sandboxSh(`mkdir x && echo '{"hooks":1}' > x/settings.json && chmod 555 x && mv x .claude && echo PLANTED`)
	if !strings.Contains(res.stdout, "PLANTED") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	claude := filepath.Join(r.project, ".claude")
	if _, err := os.Lstat(claude); err == nil {
		_ = os.Chmod(claude, 0o755)
	}
	r.assertAbsent(claude)
	id := quarantineID(t, res.stderr, "src/app/.claude")
	if list := r.pent("quarantine", "list"); !strings.Contains(list.stdout, id) {
		t.Errorf("the quarantined .claude is not listed:\n%s", list)
	}
}

// attemptEveryWriteGrant: a directory granted read-write besides the
// project is guarded like the project: its git configuration and its
// protected names stay as they were.
func attemptEveryWriteGrant(t *testing.T, r *runner) {
	other := filepath.Join(r.home, "other")
	r.mkdir(other, 0o755)
	if res := r.exec(other, "git", "init", "-q"); res.code != 0 {
		t.Fatalf("git init on the host:\n%s", res)
	}
	ran := filepath.Join(r.home, "fsmonitor-ran")
	res := r.sandboxSh(fmt.Sprintf(`cd %s; git config core.fsmonitor "touch %s; false"; echo 'touch %[2]s' > .envrc; echo DONE`, other, ran), "--write", other)
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.assertAbsent(filepath.Join(other, ".envrc"))
	r.exec(other, "git", "status")
	r.assertAbsent(ran)
}

// attemptNestedGit: a repository created inside the project during the
// run (with a core.fsmonitor command, and added as a gitlink) and a nested
// .envrc do not remain: the host's git status in the project runs nothing.
func attemptNestedGit(t *testing.T, r *runner) {
	hostGitInit(t, r)
	ran := filepath.Join(r.home, "fsmonitor-ran")
	res := r.sandboxSh(gitIdentity + fmt.Sprintf(`set -e
mkdir sub; cd sub; git init -q; git commit -q --allow-empty -m s; git config core.fsmonitor "touch %[1]s; false"; cd ..
git add sub
mkdir -p deep/er; echo 'touch %[1]s' > deep/er/.envrc
echo PLANTED`, ran))
	if !strings.Contains(res.stdout, "PLANTED") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.assertAbsent(filepath.Join(r.project, "sub", ".git"))
	r.assertAbsent(filepath.Join(r.project, "deep", "er", ".envrc"))
	r.host("git", "status")
	r.assertAbsent(ran)
}

// attemptMissingHostExecuted: host-executed locations that do not exist
// yet inside a profile's writable directory cannot be created from inside,
// and a symlink planted at one does not stop later runs.
func attemptMissingHostExecuted(t *testing.T, r *runner) {
	for _, d := range []string{".cargo", ".claude", ".npm"} {
		r.mkdir(filepath.Join(r.home, d), 0o755)
	}
	res := r.sandboxSh(`printf '[build]\nrustc-wrapper="/x"\n' > ~/.cargo/config.toml; mkdir ~/.cargo/bin; echo evil > ~/.cargo/env; echo DONE`, "--network", "blocked", "--profile", "@cargo")
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	for _, rel := range []string{".cargo/config.toml", ".cargo/bin", ".cargo/env"} {
		r.assertAbsent(filepath.Join(r.home, rel))
	}
	res = r.sandboxSh(`echo '{"hooks":1}' > ~/.claude/settings.json; ln -s x ~/.claude/hooks; echo DONE`, "--network", "blocked", "--profile", "@claude")
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	// Before assertAbsent, which removes what it finds.
	r.pent("run", "--network", "blocked", "--profile", "@claude", "--", "true").wantCode(t, 0)
	r.assertAbsent(filepath.Join(r.home, ".claude", "settings.json"))
	r.assertAbsent(filepath.Join(r.home, ".claude", "hooks"))
	res = r.sandboxSh(`mkdir -p ~/.npm/_npx/ca5a7826f0bb9617/node_modules/.bin; echo DONE`, "--network", "blocked", "--profile", "@npm")
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.assertAbsent(filepath.Join(r.home, ".npm", "_npx"))
}

// attemptMissingGrantHostExecuted (rt5 E12): on a first use, when the
// granted directories do not exist yet (the run makes ~/.cargo, ~/.claude,
// ~/.npm through the overlay of ~), what the command makes at their
// host-executed locations never reaches the host; the rest does.
func attemptMissingGrantHostExecuted(t *testing.T, r *runner) {
	res := r.sandboxSh(`mkdir -p ~/.cargo/bin ~/.cargo/registry ~/.claude ~/.npm/_npx/x/node_modules/.bin &&
printf '[build]
rustc-wrapper="/x"
' > ~/.cargo/config.toml && printf '#!/bin/sh
' > ~/.cargo/bin/ls && chmod +x ~/.cargo/bin/ls &&
echo evil > ~/.cargo/env && echo ok > ~/.cargo/registry/index &&
echo '{"hooks":1}' > ~/.claude/settings.json && mkdir ~/.claude/hooks && echo x > ~/.claude/CLAUDE.md &&
echo x > ~/.npm/_npx/x/node_modules/.bin/x && echo DONE`, "--network", "blocked", "--profile", "@cargo", "--profile", "@claude", "--profile", "@npm")
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.assertFile(filepath.Join(r.home, ".cargo", "registry", "index"), "ok\n")
	for _, rel := range []string{".cargo/config.toml", ".cargo/bin", ".cargo/env", ".claude/settings.json", ".claude/hooks", ".claude/CLAUDE.md", ".npm/_npx"} {
		r.assertAbsent(filepath.Join(r.home, rel))
	}
}

// attemptStateDirForgery: a grant of ~/.local/state does not let the
// command forge the record of a killed run, which would make the next pent
// move a host directory into the quarantine.
func attemptStateDirForgery(t *testing.T, r *runner) {
	victim := filepath.Join(r.home, "victim", "a")
	r.writeFile(victim, "keep\n", 0o644)
	state := filepath.Join(r.home, ".local", "state")
	r.sandboxSh(fmt.Sprintf(`mkdir -p %[1]s/pent/quarantine/runs; echo '{"dirs":[{"root":"%[2]s","dir":"%[2]s/victim","allow":true,"names":[],"existing":[]}]}' > %[1]s/pent/quarantine/runs/1-1.json`, state, r.home), "--write", state)
	r.pent("version").wantCode(t, 0)
	r.assertFile(victim, "keep\n")
}

// attemptXDGStateForgery: pent's state directory where XDG_STATE_HOME
// puts it, below a write grant, is not writable inside: a forged run record
// there does not make the next pent move a host directory aside.
func attemptXDGStateForgery(t *testing.T, r *runner) {
	victim := filepath.Join(r.home, "victim", "a")
	r.writeFile(victim, "keep\n", 0o644)
	state := filepath.Join(r.home, "xs")
	r.mkdir(state, 0o755)
	r.extraEnv = append(r.extraEnv, "XDG_STATE_HOME="+state)
	r.sandboxSh(fmt.Sprintf(`mkdir -p %[1]s/pent/quarantine/runs; echo '{"dirs":[{"root":"%[2]s/victim","dir":"%[2]s/victim","allow":false,"names":["*"],"existing":[]}]}' > %[1]s/pent/quarantine/runs/1-1.json`, state, r.home), "--write", state)
	r.pent("version").wantCode(t, 0)
	r.assertFile(victim, "keep\n")
}

// attemptWalkErrors: a path deeper than PATH_MAX in .git or the tree, and
// a directory made unreadable (000), neither end the guard's walks nor hide
// what was planted beside them, and the next run starts.
func attemptWalkErrors(t *testing.T, r *runner) {
	hostGitInit(t, r)
	res := r.sandboxSh(`set -e
deep() { (cd "$1"; n=$(printf 'd%.0s' $(seq 200)); for i in $(seq 25); do mkdir $n && cd $n || break; done) 2>/dev/null || :; }
mkdir -p .git/BISECT_a aaa zzz/q yyy
deep .git/BISECT_a; deep zzz/q
ln -s /etc/passwd .git/logs-planted
mkdir -p .git/refs/heads; ln -s /etc/passwd .git/refs/heads/planted
mkdir yyy/.git; echo evil > yyy/.envrc; mkdir aaa/.claude; chmod 000 aaa
echo PLANTED`)
	if !strings.Contains(res.stdout, "PLANTED") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.assertAbsent(filepath.Join(r.project, ".git", "refs", "heads", "planted"))
	r.assertAbsent(filepath.Join(r.project, "yyy", ".git"))
	r.assertAbsent(filepath.Join(r.project, "yyy", ".envrc"))
	r.assertAbsent(filepath.Join(r.project, "aaa", ".claude"))
	if again := r.sandboxSh(`echo STARTED`); !strings.Contains(again.stdout, "STARTED") {
		t.Fatalf("the next run did not start:\n%s", again)
	}
}

// attemptRebaseState: a stopped rebase left by the command keeps no exec
// line it added to the todo list (the host's `git rebase --continue` would
// run it) and no counter that is not a number (a host prompt prints it in
// PS1); a legitimately stopped rebase stays and the host can continue it.
func attemptRebaseState(t *testing.T, r *runner) {
	hostGitInit(t, r)
	ran := filepath.Join(r.home, "exec-ran")
	res := r.sandboxSh(gitIdentity + `set -e
echo a > f; git add f; git commit -qm a; echo b > f; git commit -qam b; echo c > f; git commit -qam c
GIT_SEQUENCE_EDITOR='sed -i "1i break"' git rebase -qi HEAD~2
test -d .git/rebase-merge
echo STOPPED`)
	if !strings.Contains(res.stdout, "STOPPED") {
		t.Fatalf("the rebase did not stop:\n%s", res)
	}
	todo := filepath.Join(r.project, ".git", "rebase-merge", "git-rebase-todo")
	msgnum := filepath.Join(r.project, ".git", "rebase-merge", "msgnum")
	if _, err := os.Lstat(todo); err != nil {
		t.Fatalf("a legitimately stopped rebase lost its todo list: %v\n%s", err, res)
	}
	res = r.sandboxSh(fmt.Sprintf(`set -e
echo 'exec touch %[1]s' >> .git/rebase-merge/git-rebase-todo
printf '%%s\n' '1$(touch %[1]s)' > .git/rebase-merge/msgnum
echo PLANTED`, ran))
	if !strings.Contains(res.stdout, "PLANTED") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.assertAbsent(msgnum)
	if data, err := os.ReadFile(todo); err == nil && strings.Contains(string(data), "exec") {
		t.Errorf("the todo list kept the planted exec line:\n%s", data)
	}
	r.host("sh", "-c", gitIdentity+"git rebase --continue")
	r.assertAbsent(ran)
}

// attemptExistingNestedGit: repositories that exist before the run inside
// the project (a plain sub/.git, and a sep/.git gitdir file pointing at
// sep.git) and inside another directory granted read-write are guarded like
// the project's own: a core.fsmonitor or hook planted in their git
// directories, or a gitdir file pointed at a planted git directory, runs
// nothing when the host's git is used there afterwards; git commit in the
// nested repository still works inside.
func attemptExistingNestedGit(t *testing.T, r *runner) {
	hostGitInit(t, r)
	sub, sep := filepath.Join(r.project, "sub"), filepath.Join(r.project, "sep")
	inner := filepath.Join(r.home, "other", "inner")
	for _, d := range []string{sub, inner} {
		r.mkdir(d, 0o755)
		if res := r.exec(d, "git", "init", "-q"); res.code != 0 {
			t.Fatalf("git init on the host:\n%s", res)
		}
	}
	if res := r.host("git", "init", "-q", "--separate-git-dir="+sep+".git", sep); res.code != 0 {
		t.Fatalf("git init --separate-git-dir on the host:\n%s", res)
	}
	ran := func(what string) string { return filepath.Join(r.home, "ran-"+what) }
	fsmon := func(what string) string { return fmt.Sprintf(`"touch %s; false"`, ran(what)) }
	res := r.sandboxSh(gitIdentity+fmt.Sprintf(`
git -C sub commit -q --allow-empty -m inside && echo SUB-COMMIT-OK
git -C sub config core.fsmonitor %[1]s
printf '#!/bin/sh\ntouch %[2]s\n' > sub/.git/hooks/post-commit; chmod +x sub/.git/hooks/post-commit
git -C sep config core.fsmonitor %[3]s
git -C %[4]s config core.fsmonitor %[5]s
%[6]s; printf 'gitdir: ../evil-git\n' > sep/.git
echo DONE`, fsmon("sub"), ran("sub-hook"), fsmon("sep"), inner, fsmon("granted"), plantedFsmonitor(ran("repointed"))),
		"--write", filepath.Join(r.home, "other"))
	if !strings.Contains(res.stdout, "DONE") || !strings.Contains(res.stdout, "SUB-COMMIT-OK") {
		t.Fatalf("the planting script did not finish, or git commit in the nested repository failed inside:\n%s", res)
	}
	for _, d := range []string{sub, sep, inner} {
		r.exec(d, "git", "status")
	}
	r.exec(sub, "sh", "-c", gitIdentity+"git commit -q --allow-empty -m host")
	for _, what := range []string{"sub", "sub-hook", "sep", "granted", "repointed"} {
		r.assertAbsent(ran(what))
	}
}

// hostBareRepo makes a bare repository at dir on the host, as Go's module
// cache keeps one per module fetched from a VCS (cache/vcs/HASH).
func hostBareRepo(t *testing.T, r *runner, dir string) {
	t.Helper()
	r.mkdir(filepath.Dir(dir), 0o755)
	if res := r.exec(filepath.Dir(dir), "git", "init", "-q", "--bare", dir); res.code != 0 {
		t.Fatalf("git init --bare on the host:\n%s", res)
	}
}

// hostGitIn runs script (sh, with a git identity) in dir as the host's
// user who works there after the run would, when dir is still there.
func hostGitIn(r *runner, dir, script string) {
	r.t.Helper()
	if _, err := os.Stat(dir); err == nil {
		r.exec(dir, "sh", "-c", gitIdentity+script)
	}
}

// refUpdate is a host git command that updates a ref, which runs the
// repository's reference-transaction hook (as cmd/go's git fetch in its
// VCS cache does).
const refUpdate = `git update-ref refs/heads/pent-probe "$(git commit-tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904 -m probe)"`

// plantInGitDir is a script that plants, in the git directory dir, a
// reference-transaction hook and a core.fsmonitor, core.sshCommand and
// core.hooksPath configuration that each touch marker, and prints DONE.
func plantInGitDir(dir, marker string) string {
	return fmt.Sprintf(`printf '#!/bin/sh\ntouch %[2]s\n' > %[1]s/hooks/reference-transaction; chmod +x %[1]s/hooks/reference-transaction
printf '[core]\n\tfsmonitor = "touch %[2]s; false"\n\tsshCommand = "touch %[2]s; false"\n' >> %[1]s/config
echo DONE`, dir, marker)
}

// assertGitDirUnchanged fails when the host's git, working in the git
// directory dir (a ref update, which runs the reference-transaction hook,
// and a status where there is a work tree), runs the command planted by
// plantInGitDir, or when config (unchanged of dir's config) reports a
// change.
func assertGitDirUnchanged(t *testing.T, r *runner, dir, workTree, marker string, config func() string) {
	t.Helper()
	if msg := config(); msg != "" {
		t.Error(msg)
	}
	r.exec(dir, "sh", "-c", gitIdentity+refUpdate)
	if workTree != "" {
		r.exec(workTree, "git", "status")
	}
	r.assertAbsent(marker)
	r.assertAbsent(filepath.Join(dir, "hooks", "reference-transaction"))
}

// attemptBareRepoInGrant: a bare repository in a directory granted
// read-write (Go's module cache under @go) keeps its hooks and
// configuration: the host's git (run by `go get`) runs nothing planted.
func attemptBareRepoInGrant(t *testing.T, r *runner) {
	bare := filepath.Join(r.home, "go", "pkg", "mod", "cache", "vcs", "0123abcd")
	hostBareRepo(t, r, bare)
	config, marker := unchanged(t, filepath.Join(bare, "config")), filepath.Join(r.home, "bare-ran")
	res := r.sandboxSh(plantInGitDir(bare, marker), "--network", "blocked", "--profile", "@go")
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	assertGitDirUnchanged(t, r, bare, "", marker, config)
}

// attemptBareRepoInProject: a bare repository inside the project (a
// mirror.git) keeps its hooks and configuration.
func attemptBareRepoInProject(t *testing.T, r *runner) {
	bare := filepath.Join(r.project, "mirror.git")
	hostBareRepo(t, r, bare)
	config, marker := unchanged(t, filepath.Join(bare, "config")), filepath.Join(r.home, "bare-ran")
	res := r.sandboxSh(plantInGitDir("mirror.git", marker))
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	assertGitDirUnchanged(t, r, bare, "", marker, config)
}

// attemptBareRepoAsGrant: a bare repository granted read-write itself
// keeps its hooks and configuration.
func attemptBareRepoAsGrant(t *testing.T, r *runner) {
	bare := filepath.Join(r.home, "mirrors", "lib.git")
	hostBareRepo(t, r, bare)
	config, marker := unchanged(t, filepath.Join(bare, "config")), filepath.Join(r.home, "bare-ran")
	res := r.sandboxSh(plantInGitDir(bare, marker), "--write", bare)
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	assertGitDirUnchanged(t, r, bare, "", marker, config)
}

// attemptSeparateGitDir: a project whose .git is a gitdir file (git init
// --separate-git-dir) naming a git directory inside the project keeps that
// git directory's hooks and configuration.
func attemptSeparateGitDir(t *testing.T, r *runner) {
	store := filepath.Join(r.project, "store", "app")
	r.mkdir(filepath.Dir(store), 0o755)
	if res := r.host("git", "init", "-q", "--separate-git-dir="+store, "."); res.code != 0 {
		t.Fatalf("git init --separate-git-dir on the host:\n%s", res)
	}
	config, marker := unchanged(t, filepath.Join(store, "config")), filepath.Join(r.home, "separate-ran")
	res := r.sandboxSh(plantInGitDir("store/app", marker))
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	assertGitDirUnchanged(t, r, store, r.project, marker, config)
}

// attemptGitdirInOtherRoot: a nested repository of the project whose
// gitdir file names a git directory in another directory granted
// read-write keeps that git directory's hooks and configuration.
func attemptGitdirInOtherRoot(t *testing.T, r *runner) {
	grant := filepath.Join(r.home, "grant")
	sub, target := filepath.Join(r.project, "sub"), filepath.Join(grant, "x")
	r.mkdir(sub, 0o755)
	r.mkdir(grant, 0o755)
	if res := r.exec(sub, "git", "init", "-q", "--separate-git-dir="+target, "."); res.code != 0 {
		t.Fatalf("git init --separate-git-dir on the host:\n%s", res)
	}
	config, marker := unchanged(t, filepath.Join(target, "config")), filepath.Join(r.home, "other-root-ran")
	res := r.sandboxSh(plantInGitDir(target, marker), "--write", grant)
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	assertGitDirUnchanged(t, r, target, sub, marker, config)
}

// attemptGitDirMadeInside: a git directory the command makes in the
// project, a bare repository in a subdirectory or the project root itself
// made one (no .git there), does not remain one on the host: the host's
// git working there runs no hook planted in it.
func attemptGitDirMadeInside(t *testing.T, r *runner) {
	marker := filepath.Join(r.home, "made-ran")
	res := r.sandboxSh(`git init -q --bare . && git init -q --bare sub.git && ` +
		plantInGitDir(".", marker) + ` && ` + plantInGitDir("sub.git", marker))
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	for _, dir := range []string{r.project, filepath.Join(r.project, "sub.git")} {
		hostGitIn(r, dir, refUpdate)
		r.assertAbsent(marker)
	}
	r.assertAbsent(filepath.Join(r.project, "HEAD"))
	r.assertAbsent(filepath.Join(r.project, "sub.git"))
}

// execFilesGitDir is a script that makes dir a git directory that only
// git's own check accepts: HEAD, objects and refs as executable files
// rather than directories, and a config naming dir as the work tree and a
// core.fsmonitor command that touches marker.
func execFilesGitDir(dir, marker string) string {
	return fmt.Sprintf(`(cd %[1]s && printf 'ref: refs/heads/main\n' > HEAD && printf '#!/bin/sh\n' > objects && printf '#!/bin/sh\n' > refs && chmod +x objects refs &&
printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = %%s\n\tfsmonitor = "touch %[2]s; false"\n' "$PWD" > config)`, dir, marker)
}

// selfWorkTreeRepo is a script that makes dir an ordinary bare repository
// that is its own work tree, with a core.fsmonitor command that touches
// marker: the host's git status in dir runs it.
func selfWorkTreeRepo(dir, marker string) string {
	return fmt.Sprintf(`git init -q --bare %[1]s && git -C %[1]s config core.bare false && git -C %[1]s config core.worktree %[1]s && git -C %[1]s config core.fsmonitor "touch %[2]s; false"`, dir, marker)
}

// attemptGitDirExecFiles (rt4 E1): a git directory whose objects and refs
// are executable files, planted at the root of a project without .git and
// in a subdirectory, is not left for the host's git status there.
func attemptGitDirExecFiles(t *testing.T, r *runner) {
	if err := os.RemoveAll(filepath.Join(r.project, ".git")); err != nil {
		t.Fatal(err)
	}
	lib, marker := filepath.Join(r.project, "lib"), filepath.Join(r.home, "exec-files-ran")
	res := r.sandboxSh(execFilesGitDir(".", marker) + ` && mkdir lib && ` + execFilesGitDir("lib", marker) + ` && echo DONE`)
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	for _, dir := range []string{r.project, lib} {
		hostGitIn(r, dir, "git status")
		r.assertAbsent(marker)
	}
}

// attemptKeptMarkName (rt4 E3): a repository the command names like one
// pent renamed in place (NAME.pent-kept-X) is not left for the host's git.
func attemptKeptMarkName(t *testing.T, r *runner) {
	hostGitInit(t, r)
	kept, marker := filepath.Join(r.project, "tools.pent-kept-1"), filepath.Join(r.home, "kept-ran")
	res := r.sandboxSh(selfWorkTreeRepo(kept, marker) + ` && echo DONE`)
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	hostGitIn(r, kept, "git status")
	r.assertAbsent(marker)
}

// attemptNestedExistingProtected (rt4 E4): protected names that exist
// below the project's top level before the run (pkg/.envrc,
// pkg/.claude/settings.json, pkg/.mcp.json, pkg/.vscode) keep their
// content, and no repository planted in one of them is left for the
// host's git.
func attemptNestedExistingProtected(t *testing.T, r *runner) {
	hostGitInit(t, r)
	pkg := filepath.Join(r.project, "pkg")
	var kept []func() string
	for _, rel := range []string{".envrc", ".claude/settings.json", ".mcp.json", ".vscode/settings.json"} {
		r.writeFile(filepath.Join(pkg, rel), "# host fixture\n", 0o644)
		kept = append(kept, unchanged(t, filepath.Join(pkg, rel)))
	}
	inner, marker := filepath.Join(pkg, ".vscode", "inner"), filepath.Join(r.home, "nested-ran")
	res := r.sandboxSh(fmt.Sprintf(`echo 'touch %[1]s' >> pkg/.envrc
echo '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch %[1]s"}]}]}}' > pkg/.claude/settings.json
echo '{"mcpServers":{"x":{"command":"sh","args":["-c","touch %[1]s"]}}}' > pkg/.mcp.json
echo '{"task.allowAutomaticTasks":"on"}' > pkg/.vscode/settings.json
git init -q pkg/.vscode/inner && git -C pkg/.vscode/inner config core.fsmonitor "touch %[1]s; false"
echo DONE`, marker))
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	if msg := both(kept...)(); msg != "" {
		t.Error(msg)
	}
	hostGitIn(r, inner, "git status")
	r.assertAbsent(marker)
}

// attemptRepoInGitObjects (rt4 E5): a repository hidden in the project's
// own .git/objects and reached from the work tree by a symlink is not left
// for the host's git.
func attemptRepoInGitObjects(t *testing.T, r *runner) {
	hostGitInit(t, r)
	hidden, marker := filepath.Join(r.project, ".git", "objects", "zz"), filepath.Join(r.home, "objects-ran")
	res := r.sandboxSh(selfWorkTreeRepo(hidden, marker) + ` && ln -s .git/objects/zz docs && echo DONE`)
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	hostGitIn(r, filepath.Join(r.project, "docs"), "git status")
	r.assertAbsent(marker)
}

// attemptRebaseStrategyPath (rt4 E6): a stopped rebase whose merge
// strategy the command set to a path (git runs "git-merge-STRATEGY", and
// one with a slash relative to the work tree) runs nothing planted when
// the host continues it. The pick left is not a fast-forward (b is
// dropped), so git merges, with the strategy.
func attemptRebaseStrategyPath(t *testing.T, r *runner) {
	hostGitInit(t, r)
	marker := filepath.Join(r.home, "strategy-ran")
	res := r.sandboxSh(gitIdentity + fmt.Sprintf(`set -e
for f in a b c; do echo $f > $f; git add $f; git commit -qm $f; done
GIT_SEQUENCE_EDITOR='sed -i -e "1s/^pick/drop/" -e "1i break"' git rebase -qi HEAD~2
mkdir git-merge-x
printf '#!/bin/sh\ntouch %s\nexit 1\n' > .git/objects/ev; chmod +x .git/objects/ev
echo x/../.git/objects/ev > .git/rebase-merge/strategy
echo DONE`, marker))
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	r.host("sh", "-c", gitIdentity+"git rebase --continue")
	r.assertAbsent(marker)
}

// attemptBareRepoMadeInGrant (rt4 E2): a bare repository the command makes
// in a directory granted read-write (Go's VCS cache under @go, where the
// next go get runs git fetch) is not left for the host's git.
func attemptBareRepoMadeInGrant(t *testing.T, r *runner) {
	vcs := filepath.Join(r.home, "go", "pkg", "mod", "cache", "vcs")
	r.mkdir(vcs, 0o755)
	bare, marker := filepath.Join(vcs, "0123abcd"), filepath.Join(r.home, "made-in-grant-ran")
	res := r.sandboxSh(`git init -q --bare `+bare+` && `+plantInGitDir(bare, marker), "--network", "blocked", "--profile", "@go")
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	hostGitIn(r, bare, refUpdate)
	r.assertAbsent(marker)
}

// attemptReadOnlyParent (rt4 F1): a repository planted in a directory the
// command made read-only (0555), which pent's user cannot rename from, is
// not left for the host's git, even when pent reports it could not move it.
func attemptReadOnlyParent(t *testing.T, r *runner) {
	hostGitInit(t, r)
	sub, marker := filepath.Join(r.project, "ro", "sub"), filepath.Join(r.home, "read-only-ran")
	res := r.sandboxSh(fmt.Sprintf(`mkdir ro && git init -q ro/sub && git -C ro/sub config core.fsmonitor "touch %s; false" && chmod 555 ro/sub && echo DONE`, marker))
	if !strings.Contains(res.stdout, "DONE") {
		t.Fatalf("the planting script did not finish:\n%s", res)
	}
	hostGitIn(r, sub, "git status")
	r.assertAbsent(marker)
}

// TestHostIntegrity_OthersDirectoryStays: a directory in the project that
// pent's user can neither read nor write (root's 0700, as docker leaves
// one) holds nothing the command could have put there: a run leaves it
// where it is and does not fail (it was renamed in place on every run).
func TestHostIntegrity_OthersDirectoryStays(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		data := filepath.Join(r.project, "docker-data")
		if err := os.Mkdir(data, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "db"), []byte("important\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r.pent("run", "--", "true").wantCode(t, 0)
		if fi, err := os.Lstat(data); err != nil || !fi.IsDir() {
			t.Fatalf("docker-data after a run: %v %v", fi, err)
		}
		r.assertFile(filepath.Join(data, "db"), "important\n")
	})
}

// TestHostIntegrity_ReadOnlyParent: a repository the command plants and
// whose directory it then makes read-only is moved aside all the same (pent
// gives the owner write permission back for the move, then restores the
// mode); it used to stay live, with only an error.
func TestHostIntegrity_ReadOnlyParent(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		res := r.sandboxSh(`mkdir -p ro/sub && git init -q ro/sub && git -C ro/sub config core.fsmonitor "touch planted; false" && chmod 555 ro/sub`, "--write", ".")
		res.wantCode(t, 0)
		sub := filepath.Join(r.project, "ro", "sub")
		if _, err := os.Lstat(filepath.Join(sub, ".git")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the planted repository is still in place: %v\n%s", err, res)
		}
		if fi, err := os.Lstat(sub); err != nil || fi.Mode().Perm() != 0o555 {
			t.Errorf("its directory's mode after the move: %v %v", fi, err)
		}
		os.Chmod(sub, 0o755)
	})
}
