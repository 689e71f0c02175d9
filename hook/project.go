// Package hook holds the shell-independent half of pent's direnv-style shell
// integration: finding a project's .pent.toml and judging it against the
// trust store (package trust), and the export decision (given the working
// directory and the shell's PENT_* state, what must change).
package hook

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pent-sandbox/pent/trust"
)

// ProjectFile is the project configuration file name looked up in every
// directory from the working directory upwards.
const ProjectFile = ".pent.toml"

// SeedProjectFile is the seed implementation's location of the project file,
// relative to the project root. ProjectFile wins when a directory has both.
const SeedProjectFile = ".pent/pent.toml"

// FindProject returns the nearest project file walking up from dir (made
// absolute and cleaned, symlinks not resolved) and the project root, the
// directory holding it. It stops at the filesystem root; ok is false when no
// directory on the way has a project file. Anything at a candidate path but a
// directory counts, so that a symbolic link or a special file there is
// refused when read (ReadProject) rather than silently passed over.
func FindProject(dir string) (file, root string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	for d := abs; ; d = filepath.Dir(d) {
		if file, ok := projectIn(d); ok {
			return file, d, true
		}
		if filepath.Dir(d) == d {
			return "", "", false
		}
	}
}

// Found is a project file on the way up from a directory, read once, with
// its trust state.
type Found struct {
	// File is the project file as found (absolute, symlinks not resolved);
	// Root is the directory holding it (the project root).
	File, Root string
	// Snap is what was read; empty when Err is set.
	Snap trust.Snapshot
	// State is the trust state of Snap (Unknown when Err is set).
	State trust.State
	// Err is why the file could not be read.
	Err error
	// Linked is true for an allowed file reached through a symbolic link
	// to a directory below a trusted project file: it is passed over like
	// an untrusted one, so that a link planted in a trusted project (by a
	// sandboxed command, a checkout) never lends it another project's
	// trust.
	Linked bool
}

// Selection is the project in force for a directory, and the project files
// nearer to the directory that were passed over because they are not trusted.
type Selection struct {
	// Project is the project in force; Project.File is "" without one.
	Project Found
	// Skipped are the untrusted project files below Project, nearest
	// first, when Project is allowed or changed (else none).
	Skipped []Found
	// Enclosing is, when Project is changed, the nearest allowed project
	// file above it (File is "" without one): a changed nested file must not
	// release the wrappers of the project around it.
	Enclosing Found
}

// Select finds the project in force for dir. Walking up, the nearest project
// file that is allowed or changed is in force (a changed file stays in force
// so that its commands are blocked, not released). A file that the user
// allowed and that is now gone or unreadable counts as changed: deleting it
// (a sandboxed `rm`, a checkout) never releases its wrappers. Files that are
// unknown, denied or unreadable are passed over, so that a project file
// written below a trusted project — by a sandboxed command, a checkout,
// anyone — never removes or weakens the enclosing project's protection; a
// nested file narrows or widens it only once allowed itself. Both candidates
// of a directory are judged: an unknown or unreadable file next to an allowed
// or changed one in the same directory is in force (so its commands are
// blocked until the user decides) and the allowed one is its Enclosing
// project, never hidden by it. When no file on the way up is allowed or
// changed, the nearest file is the project. Above a changed or blocking
// project, the nearest allowed file is its Enclosing project. An allowed file
// reached through a symbolic link to a directory below an allowed or changed
// file counts as untrusted (Found.Linked). Each file is read once; the
// error is the trust store's.
func Select(dir string, t trust.Trust) (Selection, error) {
	var sel Selection
	abs, err := filepath.Abs(dir)
	if err != nil {
		return sel, err
	}
	dirs, err := judgeUp(abs, t)
	if err != nil {
		return sel, err
	}
	var seen []Found
	for _, found := range dirs {
		for i, f := range found {
			switch {
			case sel.Project.File != "":
				if f.State == trust.Allowed && !f.Linked {
					sel.Enclosing = f
					return sel, nil
				}
			case f.State == trust.Allowed && !f.Linked:
				return Selection{Project: f, Skipped: seen}, nil
			case f.State == trust.Changed || (f.State != trust.Denied && anyTrusted(found[i+1:])):
				sel = Selection{Project: f, Skipped: seen}
			default:
				seen = append(seen, f)
			}
		}
	}
	if sel.Project.File == "" && len(seen) > 0 {
		sel.Project = seen[0]
	}
	return sel, nil
}

// judgeUp judges the project files of every directory from abs up to the
// root (judgeDir), nearest first, and marks Linked the allowed ones that
// lie behind a symbolic link to a directory, walked on the way up, below
// an allowed or changed file.
func judgeUp(abs string, t trust.Trust) ([][]Found, error) {
	idx := recordIndex{trust: t}
	var dirs [][]Found
	var links []int // per directory: how many directories below it are symlinks
	n := 0
	for d := abs; ; d = filepath.Dir(d) {
		found, err := judgeDir(d, t, &idx)
		if err != nil {
			return nil, err
		}
		dirs, links = append(dirs, found), append(links, n)
		if fi, err := os.Lstat(d); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			n++
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	for j := range dirs {
		if !anyTrusted(dirs[j]) {
			continue
		}
		for i := range j {
			for k := range dirs[i] {
				if links[i] < links[j] && dirs[i][k].State == trust.Allowed {
					dirs[i][k].Linked = true
				}
			}
		}
	}
	return dirs, nil
}

// FindProjectOrRecord is FindProject that also counts a candidate that is
// gone but has an allow record in t: `pent deny` must be able to release
// the wrappers of a trusted file that was deleted.
func FindProjectOrRecord(t trust.Trust, dir string) (file, root string, ok bool, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false, err
	}
	idx := recordIndex{trust: t}
	for d := abs; ; d = filepath.Dir(d) {
		for _, c := range projectCandidates(d) {
			if present(c) {
				return c, d, true, nil
			}
			_, rec, err := idx.recorded(c)
			if err != nil || rec {
				return c, d, rec, err
			}
		}
		if filepath.Dir(d) == d {
			return "", "", false, nil
		}
	}
}

// anyTrusted says whether one of fs is allowed or changed.
func anyTrusted(fs []Found) bool {
	for _, f := range fs {
		if f.State == trust.Allowed || f.State == trust.Changed {
			return true
		}
	}
	return false
}

// Status is the file's trust state, or "unreadable".
func (f Found) Status() string {
	if f.Err != nil {
		return "unreadable"
	}
	if f.Linked {
		return "allowed, but reached through a symbolic link"
	}
	return f.State.String()
}

// judgeDir judges the project files of directory d, in order of
// precedence: each candidate that is present, or that is gone but has an
// allow record (it counts as changed).
func judgeDir(d string, t trust.Trust, idx *recordIndex) ([]Found, error) {
	var out []Found
	for _, c := range projectCandidates(d) {
		if present(c) {
			f, err := judge(c, d, t, idx)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
			continue
		}
		path, rec, err := idx.recorded(c)
		if err != nil {
			return nil, err
		}
		if rec {
			out = append(out, Found{File: c, Root: d, Snap: trust.Snapshot{Path: path}, State: trust.Changed,
				Err: fs.ErrNotExist})
		}
	}
	return out, nil
}

// judge reads a project file once and checks its trust. A file that cannot
// be read is Unknown, or Changed when it has an allow record.
func judge(file, root string, t trust.Trust, idx *recordIndex) (Found, error) {
	f := Found{File: file, Root: root}
	var err error
	if f.Snap, f.Err = trust.ReadProject(file); f.Err != nil {
		path, rec, err := idx.recorded(file)
		if err != nil || !rec {
			return f, err
		}
		f.Snap.Path = path
		f.State = trust.Changed
		return f, nil
	}
	f.State, err = t.Check(f.Snap)
	return f, err
}

// recordIndex answers, reading the trust store's allow records at most
// once, whether a path has an allow record.
type recordIndex struct {
	trust trust.Trust
	paths map[string]bool
}

// recorded says whether the project file has an allow record, and the path
// the record names. The file is looked up under every path the user may
// have allowed it as: with the symlinks of each existing ancestor directory
// resolved and the rest as named, and as named (made absolute and cleaned).
// So a trusted file that vanished because a directory on its way was
// replaced by a symlink (a sandboxed `mv sub sub.x; ln -s sub.x sub`) is
// still seen as gone, not as never allowed.
func (x *recordIndex) recorded(file string) (path string, ok bool, err error) {
	if x.paths == nil {
		paths, err := x.trust.RecordedPaths()
		if err != nil {
			return "", false, err
		}
		x.paths = paths
	}
	if len(x.paths) == 0 {
		return "", false, nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false, nil
	}
	if x.paths[abs] {
		return abs, true, nil
	}
	rest := filepath.Base(abs)
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil && x.paths[filepath.Join(real, rest)] {
			return filepath.Join(real, rest), true, nil
		}
		if filepath.Dir(dir) == dir {
			return "", false, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// projectIn returns the project file of directory d, if it has one.
func projectIn(d string) (string, bool) {
	for _, name := range projectCandidates(d) {
		if present(name) {
			return name, true
		}
	}
	return "", false
}

// projectCandidates lists, in order of precedence, the paths in directory d
// that would make d a project root.
func projectCandidates(d string) []string {
	return []string{filepath.Join(d, ProjectFile), filepath.Join(d, SeedProjectFile)}
}

// present says whether path exists and is not a directory (without following
// a symlink at its final component).
func present(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && !fi.IsDir()
}
