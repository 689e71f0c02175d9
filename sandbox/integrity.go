package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// protectedNames are the project entries a sandboxed command must not change
// or create (SPEC §13): they configure pent, an editor or an agent, or run
// code outside the sandbox later. .git is listed for a project that has no
// repository: a .git created inside would make the host's git read it; an
// existing .git directory is guarded entry by entry (gitStateNames).
var protectedNames = []string{
	".pent.toml", ".pent", ".envrc", ".vscode", ".idea", ".cursor", ".claude",
	".mcp.json", ".gitmodules", ".codex", ".gemini", ".git",
}

// IsProtectedName reports whether name is one of the project entries a
// sandboxed command may neither change nor create (.pent.toml, .envrc,
// .git…).
func IsProtectedName(name string) bool {
	return slices.Contains(protectedNames, name)
}

// gitStateNames are the entries git writes at the top of a git directory in
// normal work (add, commit, checkout, branch, stash, rebase, merge, tag, gc,
// bisect, cherry-pick, revert): state files, objects, refs and logs. Any
// other entry (config, config.worktree, commondir, hooks, info, modules,
// worktrees, gitdir…) is something git reads as configuration, hooks or
// indirection, and a sandboxed command may neither change nor create it.
// Patterns are path.Match globs.
var gitStateNames = []string{
	"HEAD", "ORIG_HEAD", "FETCH_HEAD", "AUTO_MERGE", "CHERRY_PICK_HEAD", "REVERT_HEAD",
	"REBASE_HEAD", "MERGE_*", "BISECT_*", "*_EDITMSG", "SQUASH_MSG",
	"NOTES_MERGE_*", "index", "index.stash.*", "sharedindex.*", "packed-refs", "packed-refs.new", "shallow", "gc.pid", "gc.log",
	"ADD_EDIT.patch", "addp-hunk-edit.diff",
	"*.lock", "objects", "refs", "logs", "rebase-merge", "rebase-apply", "sequencer",
	"rr-cache", "lost-found",
}

// gitObjectsInfoNames are what git writes in objects/info: the pack list
// (through a packs_XXXXXX temporary) and the commit graph. Not alternates
// or http-alternates, which make git read objects from elsewhere.
var gitObjectsInfoNames = []string{"packs", "packs_*", "commit-graph", "commit-graphs", "*.lock"}

// gitInfoNames are what git writes in info: the ref list of
// update-server-info (git gc runs it). Not exclude, attributes,
// sparse-checkout or grafts, which git reads as configuration.
var gitInfoNames = []string{"refs", "refs_*"}

// Guard is what stays fixed in a project during a run: the guarded
// directories, what may appear in each, and what each held when the run
// started. Entries a rule forbids that exist at the start are Protected
// (read-only inside); the ones that appear later are moved aside by the
// host-side watcher (WatchGuard) and by Sweep.
type Guard struct {
	// Dirs are the guarded directories.
	Dirs []GuardDir `json:"dirs"`
	// Git are the projects' git directories, checked beneath their top
	// level too.
	Git []GitDir `json:"git,omitempty"`
	// Trees are the projects whose whole tree the final sweep searches for
	// protected names created below the top level.
	Trees []Tree `json:"trees,omitempty"`

	// roots are the directories the command may write that the guard was
	// made for: a git directory that a gitdir or commondir file (or a .git
	// symlink) leads to is guarded when it lies in one of them.
	roots []string
}

// Tree is a project searched below its top level: a .git created in a
// subdirectory (a repository the host's git enters, or a gitlink whose
// core.fsmonitor the host's `git status` runs), a git directory by its
// content (a bare repository, anywhere but the project's own .git), an
// .envrc direnv loads on cd, an agent's or editor's directory. The search
// is a walk of the whole tree once at the start and once at the end, not
// a watch: such an entry is visible on the host until the command ends.
type Tree struct {
	// Root is the project root.
	Root string `json:"root"`
	// Names are the protected names searched for (no slash).
	Names []string `json:"names"`
	// Existing are the matching entries, relative to Root, found at the
	// start.
	Existing []string `json:"existing"`
	// Sealed are the directories, relative to Root, that pent's user could
	// neither read nor write at the start (another user's, as docker
	// leaves them): the command could put nothing in them, so an unread
	// one that is still sealed at the end is left where it is.
	Sealed []string `json:"sealed,omitempty"`
}

// Nested lists the entries of t below its top level whose name is one of
// t.Names, and the git directories (isGitDirectory) at any level (the
// HEAD of the root itself when it became one), that were not found at the
// start, and the directories the search could not read (nothing beneath
// them is known). It does not descend into a match, the top-level .git or
// a symlink, nor past the HEAD of a git directory. An entry deeper than
// PATH_MAX is listed by its deepest ancestor within it.
func (t Tree) Nested() ([]string, error) {
	found, unread, err := t.search()
	unread = slices.DeleteFunc(unread, func(rel string) bool { return slices.Contains(t.Sealed, rel) && sealed(filepath.Join(t.Root, rel)) })
	return movables(t.Root, append(found, unread...)), err
}

// sealed reports whether pent's user can neither read nor write the
// directory dir, and does not own it (so cannot change that).
func sealed(dir string) bool {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) == os.Geteuid() {
		return false
	}
	return unix.Access(dir, unix.R_OK) != nil && unix.Access(dir, unix.W_OK) != nil
}

// search lists, relative to t.Root, the new matches of Nested and the
// directories it could not read.
func (t Tree) search() (found, unread []string, err error) {
	unread, err = walkDir(t.Root, func(rel string, d fs.DirEntry) error {
		top := !strings.Contains(rel, "/")
		if top && d.Name() == ".git" {
			return skipDir(d) // the project's own, guarded by NewGuard
		}
		if repo, ok := gitDirOfHead(t.Root, rel, d); ok {
			if top {
				repo = rel // the root made a git directory: its HEAD goes
			}
			if !slices.Contains(t.Existing, repo) {
				found = append(found, repo)
			}
			if top {
				return nil
			}
			return fs.SkipDir // the rest of the git directory
		}
		match := slices.Contains(t.Names, d.Name())
		if match && !top && !slices.Contains(t.Existing, rel) {
			found = append(found, rel)
		}
		if match {
			return skipDir(d)
		}
		return nil
	})
	if err != nil {
		return found, unread, fmt.Errorf("searching %s for protected names: %w", t.Root, err)
	}
	return found, unread, nil
}

// skipDir is what a walk's visit returns not to descend into d: SkipDir
// for a directory, nil for anything else (where SkipDir would skip the
// rest of its parent).
func skipDir(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// AddTrees makes g search the trees of roots for the protected names
// (built-in and extra ones without a slash) and for new git directories
// at its final sweep, and guards the repositories it finds in them (a .git
// below the top level, a git directory by its content) like the project's
// own (addRepo).
func (g *Guard) AddTrees(roots, extra []string) error {
	g.addRoots(roots)
	var names []string
	for _, n := range append(slices.Clone(protectedNames), extra...) {
		if !strings.Contains(filepath.Clean(n), "/") && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, root := range roots {
		t := Tree{Root: root, Names: names}
		// What the search could not read is not Existing: the final
		// sweep moves it aside, unless the command could not have
		// written in it either.
		found, unread, err := t.search()
		if err != nil {
			return err
		}
		t.Existing = found
		for _, rel := range unread {
			if sealed(filepath.Join(root, rel)) {
				t.Sealed = append(t.Sealed, rel)
			}
		}
		g.Trees = append(g.Trees, t)
		for _, rel := range found {
			if err := g.addRepo(root, filepath.Join(root, rel)); err != nil {
				return err
			}
		}
	}
	return nil
}

// GitDir is a project's git directory. git makes only directories and
// regular files there, and follows a symlink, or writes through a FIFO or
// a hard link, that it finds at a name it writes (a reflog appended to
// ~/.bashrc, COMMIT_EDITMSG written over a host file): anything else that
// appears anywhere beneath it is moved aside like a forbidden name.
type GitDir struct {
	// Root is the project root.
	Root string `json:"root"`
	// Dir is the git directory's absolute path.
	Dir string `json:"dir"`
	// Odd are the entries, relative to Dir, that Strays would report but
	// that existed when the guard was made.
	Odd []string `json:"odd"`
	// Exec are the exec lines of its todo files (gitTodoFiles) when the
	// guard was made, each as "FILE LINE".
	Exec []string `json:"exec,omitempty"`
}

// gitTodoFiles are the todo lists of a stopped rebase, cherry-pick or
// revert, relative to the git directory: the host's `git rebase
// --continue` runs their exec lines as shell commands.
var gitTodoFiles = []string{"rebase-merge/git-rebase-todo", "sequencer/todo"}

// gitCounterFiles hold a stopped rebase's or am's step counters, relative
// to the git directory: host shell prompts (git-prompt.sh) print them
// inside PS1, where anything but a number would run as code.
var gitCounterFiles = []string{"rebase-merge/msgnum", "rebase-merge/end", "rebase-apply/next", "rebase-apply/last"}

// gitStrategyFiles name the merge strategy of a stopped rebase,
// cherry-pick or revert, relative to the git directory: the host's `git
// rebase --continue` (or --skip) runs git-merge-STRATEGY, and a strategy
// holding a slash runs as a path (x/../.git/objects/evil).
var gitStrategyFiles = []string{"rebase-merge/strategy", "sequencer/opts"}

// unsafeState reports whether the git state file at rel (relative to dir)
// holds what the host would run: a todo list with an exec line not in
// exec, a counter that is not a plain number, or a merge strategy that is
// not a plain name.
func unsafeState(dir, rel string, exec []string) (bool, error) {
	todo, counter, strategy := slices.Contains(gitTodoFiles, rel), slices.Contains(gitCounterFiles, rel), slices.Contains(gitStrategyFiles, rel)
	if !todo && !counter && !strategy {
		return false, nil
	}
	data, err := readPlain(filepath.Join(dir, rel))
	if err != nil {
		return false, err
	}
	switch {
	case counter:
		n := strings.TrimSuffix(string(data), "\n")
		return n == "" || strings.Trim(n, "0123456789") != "", nil
	case strategy:
		return !plainStrategies(rel, data), nil
	}
	return slices.ContainsFunc(execLines(rel, data), func(l string) bool { return !slices.Contains(exec, l) }), nil
}

// plainStrategies reports whether the strategy file rel (content data)
// names only plain strategies (ort, recursive, resolve, octopus, ours,
// subtree, or a git-merge-NAME on PATH): letters, digits, '-' and '_'.
// rebase-merge/strategy holds the name; sequencer/opts is in git's config
// format, with the name in its strategy key.
func plainStrategies(rel string, data []byte) bool {
	plain := func(name string) bool {
		name = strings.Trim(strings.TrimSpace(name), `"`)
		return strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
	}
	if rel != "sequencer/opts" {
		return plain(string(data))
	}
	for line := range strings.Lines(string(data)) {
		key, value, ok := strings.Cut(line, "=")
		// The key is the last word before '=': git also reads
		// "[options] strategy = NAME" on one line.
		if words := strings.Fields(key); ok && len(words) > 0 && strings.EqualFold(words[len(words)-1], "strategy") && !plain(value) {
			return false
		}
	}
	return true
}

// execLines lists the exec lines (exec or x commands) of the todo list
// data of the file rel, each as "FILE LINE".
func execLines(rel string, data []byte) []string {
	var out []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		cmd, _, _ := strings.Cut(line, " ")
		cmd, _, _ = strings.Cut(cmd, "\t")
		if strings.EqualFold(cmd, "exec") || strings.EqualFold(cmd, "x") {
			out = append(out, rel+" "+line)
		}
	}
	return out
}

// readPlain reads the regular file p without following a symlink or
// blocking on a FIFO put there meanwhile.
func readPlain(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return io.ReadAll(f)
}

// stray reports whether the entry d at rel (relative to a git directory) is
// one git does not leave there: anything but a directory or a regular file;
// a directory in objects/ that is not one of git's (a repository hidden
// there, which a symlink elsewhere can point the host's git at); a regular
// file with more than one link outside objects/ (git links loose objects
// into place, and never writes into one); and, once the command has ended
// (final), a lock file, which stops the host's git until removed.
func stray(rel string, d fs.DirEntry, final bool) (bool, error) {
	switch t := d.Type(); {
	case t.IsDir():
		return strings.HasPrefix(rel, "objects/") && !objectsDir(strings.TrimPrefix(rel, "objects/")), nil
	case final && strings.HasSuffix(d.Name(), ".lock"):
		return true, nil
	case !t.IsRegular():
		return true, nil
	case strings.HasPrefix(rel, "objects/") && !strings.HasPrefix(rel, "objects/info/"):
		return false, nil
	}
	fi, err := d.Info()
	if err != nil {
		return false, err
	}
	return links(fi) > 1, nil
}

// objectsDir reports whether rel (relative to objects/) is a directory git
// makes there: a loose-object fan-out directory (two hex digits), pack,
// info and its commit-graphs, and the temporary object directories of a
// push or a bulk check-in (incoming-*, tmp_objdir-*), which hold the same.
func objectsDir(rel string) bool {
	first, rest, nested := strings.Cut(rel, "/")
	switch {
	case rel == "info/commit-graphs":
		return true
	case !nested:
		return fanOut(first) || first == "pack" || first == "info" ||
			strings.HasPrefix(first, "incoming-") || strings.HasPrefix(first, "tmp_objdir-")
	case strings.HasPrefix(first, "incoming-") || strings.HasPrefix(first, "tmp_objdir-"):
		return !strings.Contains(rest, "/") && (fanOut(rest) || rest == "pack" || rest == "info")
	}
	return false
}

// fanOut reports whether name is two lower-case hex digits.
func fanOut(name string) bool {
	return len(name) == 2 && strings.Trim(name, "0123456789abcdef") == ""
}

// links is the link count of fi, 1 when the platform does not say.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// Strays lists the entries beneath g.Dir that stray reports and that were
// not there when the guard was made, and the directories the walk could
// not read, by a walk of the whole directory. An entry deeper than
// PATH_MAX is listed by its deepest ancestor within it.
func (g GitDir) Strays(final bool) ([]string, error) {
	found, unread, err := g.strays(final)
	return movables(g.Dir, append(found, unread...)), err
}

// strays lists, relative to g.Dir, the new stray entries of Strays and the
// entries the walk could not read. Once the command has ended (final), a
// todo list that gained an exec line and a counter that is not a number
// are stray too.
func (g GitDir) strays(final bool) (found, unread []string, err error) {
	var failed []string
	unread, err = walkDir(g.Dir, func(rel string, d fs.DirEntry) error {
		odd, err := stray(rel, d, final)
		if err == nil && !odd && final && d.Type().IsRegular() {
			odd, err = unsafeState(g.Dir, rel, g.Exec)
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			failed = append(failed, rel)
		case odd && !slices.Contains(g.Odd, rel):
			found = append(found, rel)
		}
		return nil
	})
	unread = append(unread, failed...)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // gone meanwhile: nothing left to take
	}
	if err != nil {
		return found, unread, fmt.Errorf("checking the git directory %s: %w", g.Dir, err)
	}
	return found, unread, nil
}

// StrayAt reports whether p (a path that just appeared) is a stray entry
// in one of g's git directories, and which.
func (g Guard) StrayAt(p string) (GitDir, bool) {
	for _, gd := range g.Git {
		if !strings.HasPrefix(p, gd.Dir+"/") {
			continue
		}
		rel := p[len(gd.Dir)+1:]
		fi, err := os.Lstat(p)
		if err != nil || slices.Contains(gd.Odd, rel) {
			return gd, false
		}
		odd, err := stray(rel, fs.FileInfoToDirEntry(fi), false)
		return gd, err == nil && odd
	}
	return GitDir{}, false
}

// GuardDir is one guarded directory.
type GuardDir struct {
	// Root is the project root the directory belongs to.
	Root string `json:"root"`
	// Dir is the directory's absolute path.
	Dir string `json:"dir"`
	// Allow, when true, makes Names an allowlist: only entries matching one
	// may appear. When false, Names are the entries that must not appear.
	Allow bool `json:"allow"`
	// Names are path.Match patterns of entry names.
	Names []string `json:"names"`
	// Existing are the entries the directory held when the guard was made.
	Existing []string `json:"existing"`
}

// Forbidden reports whether an entry called name may not appear in d.
func (d GuardDir) Forbidden(name string) bool {
	return d.Allow != slices.ContainsFunc(d.Names, func(pat string) bool {
		ok, _ := path.Match(pat, name)
		return ok
	})
}

// New lists the entries of d that exist now, did not exist when the guard
// was made and are forbidden.
func (d GuardDir) New() ([]string, error) {
	entries, err := os.ReadDir(d.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading guarded %s: %w", d.Dir, err)
	}
	var out []string
	for _, e := range entries {
		if !slices.Contains(d.Existing, e.Name()) && d.Forbidden(e.Name()) {
			out = append(out, filepath.Join(d.Dir, e.Name()))
		}
	}
	return out, nil
}

// NewGuard makes the guard of the projects at roots, every directory the
// command may write: in each, the protected names (built-in and extra,
// relative paths not under .git) at their deepest existing directory, and
// its git directory by the allowlist of what git writes: the root itself
// when it is one (a bare repository granted read-write), its .git, and the
// git directory a .git file names when that lies in one of roots.
func NewGuard(roots, extra []string) (Guard, error) {
	var g Guard
	g.addRoots(roots)
	for _, root := range roots {
		if err := g.addProject(root, extra); err != nil {
			return Guard{}, err
		}
	}
	slices.SortFunc(g.Dirs, func(a, b GuardDir) int { return strings.Compare(a.Dir, b.Dir) })
	return g, nil
}

// addRoots adds roots to the directories g knows the command may write.
func (g *Guard) addRoots(roots []string) {
	for _, r := range roots {
		if !slices.Contains(g.roots, r) {
			g.roots = append(g.roots, r)
		}
	}
}

// Check refuses a guard (read back from a record) that NewGuard would not
// have made: a root that is not an absolute clean path below /, a guarded
// directory outside its root, a git directory outside its root or that is
// neither a .git below it nor holds a HEAD, an allowlist anywhere but one
// of its git directories, and at home (the user's home directory) or one
// of its ancestors anything but literal names (a forged "*" there would
// move the whole home aside).
func (g Guard) Check(home string) error {
	root := func(r string) error {
		if !filepath.IsAbs(r) || filepath.Clean(r) != r || r == "/" {
			return fmt.Errorf("%q is not a project root pent guards", r)
		}
		return nil
	}
	for _, d := range g.Dirs {
		if err := root(d.Root); err != nil {
			return err
		}
		inside := d.Dir == d.Root || strings.HasPrefix(d.Dir, d.Root+"/") && filepath.Clean(d.Dir) == d.Dir
		gitOwn := slices.ContainsFunc(g.Git, func(gd GitDir) bool {
			return gd.Root == d.Root && (d.Dir == gd.Dir || d.Dir == filepath.Join(gd.Dir, "info") || d.Dir == filepath.Join(gd.Dir, "objects", "info"))
		})
		if !inside || d.Allow && !gitOwn {
			return fmt.Errorf("%q is not a directory pent guards in %q", d.Dir, d.Root)
		}
		if home != "" && within(home, d.Dir) && slices.ContainsFunc(d.Names, func(n string) bool { return strings.ContainsAny(n, `*?[\`) }) {
			return fmt.Errorf("%q holds the home directory: pent guards only names there, not patterns", d.Dir)
		}
	}
	for _, t := range g.Trees {
		if err := root(t.Root); err != nil {
			return err
		}
	}
	for _, gd := range g.Git {
		if err := root(gd.Root); err != nil {
			return err
		}
		// A git directory at or below its root: a .git below it, or one
		// that holds a HEAD (a bare repository, a root that is one, one a
		// gitdir file names).
		below := strings.HasPrefix(gd.Dir, gd.Root+"/") && filepath.Clean(gd.Dir) == gd.Dir
		dotGit := below && filepath.Base(gd.Dir) == ".git"
		if !below && gd.Dir != gd.Root || !dotGit && !holdsHead(gd.Dir) {
			return fmt.Errorf("%q is not a git directory of %q", gd.Dir, gd.Root)
		}
	}
	return nil
}

// holdsHead reports whether dir holds a HEAD git would read: a regular
// file or a symlink, not a directory.
func holdsHead(dir string) bool {
	head, err := os.Lstat(filepath.Join(dir, "HEAD"))
	return err == nil && (head.Mode().IsRegular() || head.Mode()&fs.ModeSymlink != 0)
}

// isGitDirectory reports whether dir is a git directory by its content,
// as git decides where no .git names it (is_git_directory): it holds a
// HEAD, and objects and refs, or a commondir file naming where those are (a
// linked worktree's). git asks only that objects and refs be searchable
// (access X_OK), which an executable file is too, so any entry at those
// names counts: guarding a directory that git would not take costs
// nothing, missing one it would take lets the host run what it configures.
// Its name does not matter: Go's module cache keeps bare repositories at
// cache/vcs/HASH.
func isGitDirectory(dir string) bool {
	if !holdsHead(dir) {
		return false
	}
	exists := func(name string) bool {
		_, err := os.Lstat(filepath.Join(dir, name))
		return err == nil
	}
	return exists("objects") && exists("refs") || exists("commondir")
}

// gitDirOfHead reports whether the entry d that a walk of root found at
// rel is the HEAD of a git directory (isGitDirectory), and that directory,
// relative to root ("." for root itself). A walk recognises git
// directories this way, by an entry it lists anyway, rather than by a look
// into every directory it enters.
func gitDirOfHead(root, rel string, d fs.DirEntry) (string, bool) {
	if d.Name() != "HEAD" || d.IsDir() {
		return "", false
	}
	dir := path.Dir(rel)
	return dir, isGitDirectory(filepath.Join(root, dir))
}

// addProject adds the guard of one project (or grant) at root to g: the
// root itself when it is a git directory, first, so that its allowlist
// also forbids the protected names; the protected names; its .git.
func (g *Guard) addProject(root string, extra []string) error {
	if isGitDirectory(root) {
		if err := g.addGitDir(root, root); err != nil {
			return err
		}
	}
	gitDir := filepath.Join(root, ".git")
	_, err := os.Lstat(gitDir)
	dotGit := err == nil
	for _, name := range append(slices.Clone(protectedNames), extra...) {
		if name == ".git" && dotGit {
			continue // guarded below
		}
		dir, first := deepestDir(root, name)
		if err := g.forbid(root, dir, first); err != nil {
			return err
		}
	}
	if dotGit {
		return g.addNested(root, gitDir)
	}
	return nil
}

// addGitDir guards the git directory gitDir of the project at root by the
// allowlist of what git writes in normal work: gitDir itself, its
// objects/info and its info; and then the git directory its commondir file
// names, where git reads the configuration and hooks from (addLinked).
// A git directory already guarded, or held by one that is, is left as it
// is.
func (g *Guard) addGitDir(root, gitDir string) error {
	if slices.ContainsFunc(g.Git, func(gd GitDir) bool { return within(gitDir, gd.Dir) }) {
		return nil
	}
	names := slices.Clone(gitStateNames)
	objects := filepath.Join(gitDir, "objects")
	var dirs []GuardDir
	switch objectsInfo := filepath.Join(objects, "info"); {
	case isDir(objectsInfo):
		dirs = append(dirs, GuardDir{Dir: objectsInfo, Allow: true, Names: gitObjectsInfoNames})
	case isDir(objects):
		dirs = append(dirs, GuardDir{Dir: objects, Names: []string{"info"}})
	default:
		names = slices.DeleteFunc(names, func(n string) bool { return n == "objects" })
	}
	// info, when it exists, is guarded itself; a new one is forbidden.
	if info := filepath.Join(gitDir, "info"); isDir(info) {
		dirs = append(dirs, GuardDir{Dir: info, Allow: true, Names: gitInfoNames})
		names = append(names, "info")
	}
	dirs = append(dirs, GuardDir{Dir: gitDir, Allow: true, Names: names})
	for _, d := range dirs {
		d.Root = root
		entries, err := os.ReadDir(d.Dir)
		if err != nil {
			return fmt.Errorf("reading %s to guard it: %w", d.Dir, err)
		}
		for _, e := range entries {
			d.Existing = append(d.Existing, e.Name())
		}
		g.Dirs = append(g.Dirs, d)
	}
	gd := GitDir{Root: root, Dir: gitDir}
	for _, rel := range gitTodoFiles {
		if data, err := readPlain(filepath.Join(gitDir, rel)); err == nil {
			gd.Exec = append(gd.Exec, execLines(rel, data)...)
		}
	}
	// What the walk could not read is not Odd: the sweeps move it aside.
	odd, _, err := gd.strays(true)
	if err != nil {
		return err
	}
	gd.Odd = odd
	g.Git = append(g.Git, gd)
	if data, err := readPlain(filepath.Join(gitDir, "commondir")); err == nil {
		return g.addLinked(commonDirTarget(gitDir, data))
	}
	return nil
}

// addRepo guards what a walk of the project or grant at root found at p:
// a .git (addNested) or a git directory by its content (addGitDir).
func (g *Guard) addRepo(root, p string) error {
	switch {
	case filepath.Base(p) == ".git":
		return g.addNested(root, p)
	case isGitDirectory(p):
		return g.addGitDir(root, p)
	}
	return nil // a protected name
}

// addNested guards the entry dot, the .git of the project or grant at root
// or one found below its top level, like the project's own: a git
// directory by the allowlist (addGitDir); a gitdir file or a symlink stays
// as it is, and the git directory it leads to is guarded by the allowlist
// too when it lies in one of the roots g knows (addLinked).
func (g *Guard) addNested(root, dot string) error {
	if isDir(dot) {
		return g.addGitDir(root, dot)
	}
	if err := g.forbid(root, filepath.Dir(dot), ".git"); err != nil {
		return err
	}
	if fi, err := os.Lstat(dot); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return g.addLinked(dot) // git follows a .git symlink
	}
	data, err := readPlain(dot)
	if err != nil {
		return nil // not a file git reads: kept as it is
	}
	if target, ok := gitdirTarget(dot, data); ok {
		return g.addLinked(target)
	}
	return nil
}

// addLinked guards the git directory at target, which a gitdir or
// commondir file names or a .git symlink leads to, when it is one
// (isGitDirectory) and, its symlinks resolved, lies at or beneath one of
// the roots g knows: a project, or another directory the command may
// write. It is guarded for the deepest such root, by its path beneath it.
func (g *Guard) addLinked(target string) error {
	real, err := EvalSymlinks(target)
	if err != nil || !isGitDirectory(real) {
		return nil // nothing there, or not a git directory git would use
	}
	root, dir, deepest := "", "", ""
	for _, r := range g.roots {
		rr, err := EvalSymlinks(r)
		if err != nil || rr == "/" || !within(real, rr) || len(rr) <= len(deepest) {
			continue
		}
		root, dir, deepest = r, filepath.Join(r, strings.TrimPrefix(real, rr)), rr
	}
	if root == "" {
		return nil // outside every directory the command may write
	}
	return g.addGitDir(root, dir)
}

// gitdirTarget is the git directory the gitdir file dot (content data)
// names, as an absolute clean path: git reads "gitdir: PATH", PATH relative
// to the file's directory unless absolute, up to the end of the line.
func gitdirTarget(dot string, data []byte) (string, bool) {
	line, _, _ := strings.Cut(string(data), "\n")
	target, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "gitdir: ")
	if !ok || target == "" {
		return "", false
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(dot), target)
	}
	return filepath.Clean(target), true
}

// commonDirTarget is the directory the commondir file of gitDir (content
// data) names, as git reads it: the whole file less trailing line ends,
// relative to gitDir unless absolute.
func commonDirTarget(gitDir string, data []byte) string {
	common := strings.TrimRight(string(data), "\r\n")
	if !filepath.IsAbs(common) {
		common = filepath.Join(gitDir, common)
	}
	return filepath.Clean(common)
}

// maxGrantDirs is how many directories of one directory granted
// read-write AddGrantRepos searches for repositories; past it pent
// refuses to run (a repository it did not see would stay unguarded).
const maxGrantDirs = 50_000

// AddGrantRepos guards the repositories inside each directory of grants
// (a .git below its top level, a git directory by its content such as the
// bare repositories of Go's module cache, as AddTrees does for projects)
// like a project's own, and has the final sweep search them again for
// repositories made during the run (moved aside). It searches at most
// maxGrantDirs directories of each.
func (g *Guard) AddGrantRepos(grants []string) error {
	return g.addGrantRepos(grants, maxGrantDirs)
}

// addGrantRepos is AddGrantRepos searching at most limit directories of
// each grant.
func (g *Guard) addGrantRepos(grants []string, limit int) error {
	g.addRoots(grants)
	for _, root := range grants {
		var found []string
		dirs := 0
		unread, err := walkDir(root, func(rel string, d fs.DirEntry) error {
			if d.Name() == ".git" {
				if strings.Contains(rel, "/") {
					found = append(found, rel)
				}
				return skipDir(d)
			}
			if repo, ok := gitDirOfHead(root, rel, d); ok && repo != "." {
				found = append(found, repo)
				return fs.SkipDir // the rest of the git directory
			}
			if d.IsDir() {
				if dirs++; dirs > limit {
					return fmt.Errorf("it holds more than %d directories, the most pent searches for git repositories to keep their configuration and hooks read-only; grant a narrower directory", limit)
				}
			}
			return nil
		})
		if err == nil && len(unread) > 0 {
			err = fmt.Errorf("pent cannot read %s in it to look for git repositories; make it readable or grant a narrower directory", filepath.Join(root, unread[0]))
		}
		if err != nil {
			return fmt.Errorf("guarding %s, granted read-write: %w", root, err)
		}
		for _, rel := range found {
			if err := g.addRepo(root, filepath.Join(root, rel)); err != nil {
				return err
			}
		}
		// The final sweep searches the grant again: a repository the
		// command creates there (git init --bare in Go's VCS cache) is one
		// the host's tools would run git in later.
		g.Trees = append(g.Trees, Tree{Root: root, Names: []string{".git"}, Existing: found})
	}
	return nil
}

// deepestDir walks the relative path name down from root and returns the
// deepest directory on the way that exists (not through a symlink), and
// the component of name just below it: for an existing name, its parent
// and its base name.
func deepestDir(root, name string) (dir, first string) {
	dir = root
	parts := strings.Split(filepath.Clean(name), "/")
	for _, part := range parts[:len(parts)-1] {
		next := filepath.Join(dir, part)
		if !isDir(next) {
			return dir, part
		}
		dir = next
	}
	return dir, parts[len(parts)-1]
}

// isDir reports whether p is a directory (not a symlink to one).
func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// Protected lists the entries of the guarded directories that the rules
// forbid and that existed when the guard was made: they stay read-only
// inside the sandbox (Policy.Protected).
func (g Guard) Protected() []string {
	var out []string
	for _, d := range g.Dirs {
		for _, e := range d.Existing {
			if d.Forbidden(e) {
				out = append(out, filepath.Join(d.Dir, e))
			}
		}
	}
	// The protected names found below a project's top level (pkg/.envrc,
	// pkg/.claude): the final sweep moves only new ones, so the existing
	// ones stay read-only. A repository's .git is guarded entry by entry
	// instead (addNested), and a git directory by content is not a name.
	for _, t := range g.Trees {
		for _, rel := range t.Existing {
			if slices.Contains(t.Names, path.Base(rel)) && path.Base(rel) != ".git" {
				out = append(out, filepath.Join(t.Root, rel))
			}
		}
	}
	return out
}

// Paths lists the guarded directories (Policy.Guarded).
func (g Guard) Paths() []string {
	out := make([]string, 0, len(g.Dirs))
	for _, d := range g.Dirs {
		out = append(out, d.Dir)
	}
	return out
}

// Sweep moves every forbidden entry that appeared since the guard was made,
// and every stray entry in a git directory, with move (given the project
// root and the entry's path); an entry gone before move got to it is
// skipped. It goes on after an error and returns the first one.
func (g Guard) Sweep(move func(root, path string) error) error {
	return g.sweep(false, move)
}

// FinalSweep is Sweep once the command has ended: lock files left in a git
// directory go too.
func (g Guard) FinalSweep(move func(root, path string) error) error {
	return g.sweep(true, move)
}

func (g Guard) sweep(final bool, move func(root, path string) error) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil && !errors.Is(err, fs.ErrNotExist) {
			first = err
		}
	}
	for _, d := range g.Dirs {
		found, err := d.New()
		keep(err)
		for _, p := range found {
			keep(move(d.Root, p))
		}
	}
	for _, gd := range g.Git {
		found, err := gd.Strays(final)
		keep(err)
		for _, p := range found {
			keep(move(gd.Root, p))
		}
	}
	for _, t := range g.Trees {
		if !final {
			break
		}
		found, err := t.Nested()
		keep(err)
		for _, p := range found {
			keep(move(t.Root, p))
		}
	}
	return first
}
