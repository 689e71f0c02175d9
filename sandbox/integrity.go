package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
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

// NewGuard makes the guard of the projects at roots: in each, the
// protected names (built-in and extra, relative paths not under .git) at
// their deepest existing directory, and an existing .git directory and its
// objects/info by the allowlist of what git writes.
func NewGuard(roots, extra []string) (Guard, error) {
	var g Guard
	for _, root := range roots {
		one, err := guardOf(root, extra)
		if err != nil {
			return Guard{}, err
		}
		g.Dirs = append(g.Dirs, one.Dirs...)
	}
	return g, nil
}

// guardOf is the guard of one project.
func guardOf(root string, extra []string) (Guard, error) {
	gitDir := filepath.Join(root, ".git")
	byDir := map[string]*GuardDir{}
	add := func(dir string, allow bool, names ...string) {
		d := byDir[dir]
		if d == nil {
			d = &GuardDir{Root: root, Dir: dir, Allow: allow}
			byDir[dir] = d
		}
		for _, n := range names {
			if !slices.Contains(d.Names, n) {
				d.Names = append(d.Names, n)
			}
		}
	}
	for _, name := range append(slices.Clone(protectedNames), extra...) {
		if name == ".git" && isDir(gitDir) {
			continue // guarded entry by entry below
		}
		dir, first := deepestDir(root, name)
		add(dir, false, first)
	}
	if isDir(gitDir) {
		names := slices.Clone(gitStateNames)
		objects := filepath.Join(gitDir, "objects")
		switch objectsInfo := filepath.Join(objects, "info"); {
		case isDir(objectsInfo):
			add(objectsInfo, true, gitObjectsInfoNames...)
		case isDir(objects):
			add(objects, false, "info")
		default:
			names = slices.DeleteFunc(names, func(n string) bool { return n == "objects" })
		}
		// info, when it exists, is guarded itself; a new one is forbidden.
		if info := filepath.Join(gitDir, "info"); isDir(info) {
			add(info, true, gitInfoNames...)
			names = append(names, "info")
		}
		add(gitDir, true, names...)
	}
	var g Guard
	for _, d := range byDir {
		g.Dirs = append(g.Dirs, *d)
	}
	slices.SortFunc(g.Dirs, func(a, b GuardDir) int { return strings.Compare(a.Dir, b.Dir) })
	for i := range g.Dirs {
		entries, err := os.ReadDir(g.Dirs[i].Dir)
		if err != nil {
			return Guard{}, fmt.Errorf("reading %s to guard it: %w", g.Dirs[i].Dir, err)
		}
		for _, e := range entries {
			g.Dirs[i].Existing = append(g.Dirs[i].Existing, e.Name())
		}
	}
	return g, nil
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

// Sweep moves every forbidden entry that appeared since the guard was made
// with move (given the project root and the entry's path); an entry gone
// before move got to it is skipped. It goes on after an error and returns
// the first one.
func (g Guard) Sweep(move func(root, path string) error) error {
	var first error
	for _, d := range g.Dirs {
		found, err := d.New()
		if err != nil && first == nil {
			first = err
		}
		for _, p := range found {
			if err := move(d.Root, p); err != nil && first == nil && !errors.Is(err, fs.ErrNotExist) {
				first = err
			}
		}
	}
	return first
}
