// Package quarantine keeps what a sandboxed command created where pent does
// not let it stay (SPEC §13): a protected name in the project, a git
// configuration file. The entry is moved, content and all, into pent's
// state directory; nothing is ever deleted except by `pent quarantine drop`.
//
// An entry the host cannot move there (no permission, a special file across
// file systems) is renamed in place instead, within its own directory, to
// NAME.pent-kept-ID, a name nothing reads; its record says so.
//
// On disk, under Store.Dir ($XDG_STATE_HOME/pent/quarantine):
//
//	<project key>/<id>/entry       the entry itself (file, directory or symlink)
//	<project key>/<id>/meta.json   {"path": original path, "root": project root, "time": …}
//	runs/<pid>-<nanos>.json        one record per running pent (see BeginRun)
//
// The project key is the first 16 hex digits of sha256(project root); the
// id sorts by time. Every directory is 0700.
package quarantine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pent-sandbox/pent/statedir"
)

// Store is a quarantine directory.
type Store struct {
	// Dir is the quarantine's root directory.
	Dir string
}

// Entry is one quarantined path.
type Entry struct {
	// ID names the entry for Restore and Drop.
	ID string `json:"-"`
	// Path is where the entry was in the project.
	Path string `json:"path"`
	// Root is the project root it was taken from.
	Root string `json:"root"`
	// Time is when it was moved.
	Time time.Time `json:"time"`
	// Kept, when not empty, is where the entry stayed: it could not be
	// moved, and was renamed in place to Path + KeptMark + ID.
	Kept string `json:"kept,omitempty"`

	dir string // <project key>/<id> under Store.Dir
}

// metaFile and entryFile are the two names in an entry's directory.
const (
	metaFile  = "meta.json"
	entryFile = "entry"
)

// KeptMark separates the original name of an entry renamed in place from
// its ID.
const KeptMark = ".pent-kept-"

// IsKept reports whether path is an entry of the project at root that
// s renamed in place: its name ends in KeptMark and the ID of a record of
// s whose Kept is path. A name alone proves nothing: the sandboxed command
// chooses names, and one called NAME.pent-kept-X must be moved like any
// other.
func (s Store) IsKept(root, path string) bool {
	base := filepath.Base(path)
	i := strings.LastIndex(base, KeptMark)
	if i < 0 {
		return false
	}
	id := base[i+len(KeptMark):]
	if id == "" || id == "." || id == ".." {
		return false
	}
	data, err := os.ReadFile(filepath.Join(s.Dir, ProjectKey(root), id, metaFile))
	if err != nil {
		return false
	}
	var e Entry
	return json.Unmarshal(data, &e) == nil && e.Kept == path && e.Root == root
}

// ProjectKey is the directory name of a project's entries (statedir.Hash).
func ProjectKey(root string) string { return statedir.Hash(root) }

// Put moves path (inside the project at root) into the quarantine: by a
// rename on the same file system, else by a copy then removal of the
// original. The move comes first, to keep the time the entry stays in the
// project short; the record of its origin follows (an entry whose pent was
// killed in between is listed with its origin unknown, content kept).
func (s Store) Put(root, path string) (Entry, error) {
	keyDir := filepath.Join(s.Dir, ProjectKey(root))
	now := time.Now().UTC()
	prefix := now.Format("20060102T150405.000000000") + "-"
	dir, err := os.MkdirTemp(keyDir, prefix)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(keyDir, 0o700); err == nil {
			dir, err = os.MkdirTemp(keyDir, prefix)
		}
	}
	if err != nil {
		return Entry{}, fmt.Errorf("quarantining %s: %w", path, err)
	}
	e := Entry{ID: filepath.Base(dir), Path: path, Root: root, Time: now, dir: dir}
	if err := moveWritable(path, e.Content()); err != nil {
		os.RemoveAll(e.Content()) // what a failed copy left
		if errors.Is(err, fs.ErrNotExist) {
			os.Remove(dir)
			return Entry{}, err // already gone: the caller skips it
		}
		kept := path + KeptMark + e.ID
		if kerr := renameNoReplace(path, kept); kerr != nil {
			os.Remove(dir)
			return Entry{}, fmt.Errorf("quarantining %s: %w; renaming it in place: %w", path, err, kerr)
		}
		e.Kept = kept
	}
	meta, err := json.Marshal(e)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, metaFile), meta, 0o600)
	}
	if err != nil {
		return e, fmt.Errorf("quarantined %s as %s, but recording where it came from: %w", path, e.ID, err)
	}
	return e, nil
}

// moveWritable moves path to a new to; when that fails, it gives the owner
// write permission on what lacks it — path's directory (whose entries the
// move changes: a command can plant an entry, then make its directory
// read-only) and path itself when it is a directory (a directory needs it
// to be renamed elsewhere) — tries again, and puts the permissions back
// (on the moved entry for path's own).
func moveWritable(path, to string) error {
	err := moveNoReplace(path, to)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(path)
	pfi, perr := os.Lstat(parent)
	fi, lerr := os.Lstat(path)
	fixParent := perr == nil && pfi.IsDir() && pfi.Mode().Perm()&0o300 != 0o300
	fixEntry := lerr == nil && fi.IsDir() && fi.Mode().Perm()&0o200 == 0
	if !fixParent && !fixEntry {
		return err
	}
	if err := os.RemoveAll(to); err != nil { // part of a failed copy
		return err
	}
	if fixParent {
		if err := os.Chmod(parent, pfi.Mode().Perm()|0o300); err != nil {
			return err
		}
		defer os.Chmod(parent, pfi.Mode().Perm())
	}
	if fixEntry {
		if err := os.Chmod(path, fi.Mode().Perm()|0o200); err != nil {
			return err
		}
	}
	if err := moveNoReplace(path, to); err != nil {
		if fixEntry {
			os.Chmod(path, fi.Mode().Perm())
		}
		return err
	}
	if fixEntry {
		return os.Chmod(to, fi.Mode().Perm())
	}
	return nil
}

// List returns the entries of the project at root, or of every project
// when root is empty, oldest first.
func (s Store) List(root string) ([]Entry, error) {
	keys, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the quarantine: %w", err)
	}
	var out []Entry
	for _, k := range keys {
		if !k.IsDir() || k.Name() == runsDir || (root != "" && k.Name() != ProjectKey(root)) {
			continue
		}
		ids, err := os.ReadDir(filepath.Join(s.Dir, k.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading the quarantine: %w", err)
		}
		for _, id := range ids {
			e, err := s.read(filepath.Join(s.Dir, k.Name(), id.Name()))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// read loads the entry in dir; without its record (pent was killed
// between the move and the record) its origin is unknown: Path is empty.
func (s Store) read(dir string) (Entry, error) {
	e := Entry{ID: filepath.Base(dir), dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return e, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &e)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("reading quarantined entry %s: %w", dir, err)
	}
	e.ID, e.dir = filepath.Base(dir), dir
	// The record is pent's, but check it names what Put would have: a path
	// inside its project, and the in-place name Put gives.
	if !filepath.IsAbs(e.Path) || !filepath.IsAbs(e.Root) || filepath.Clean(e.Path) != e.Path ||
		!strings.HasPrefix(e.Path, strings.TrimSuffix(e.Root, "/")+"/") || e.Kept != "" && e.Kept != e.Path+KeptMark+e.ID {
		return Entry{}, fmt.Errorf("quarantined entry %s does not name a path inside its project; remove it by hand after a look", dir)
	}
	return e, nil
}

// Content is where the entry's content is kept.
func (e Entry) Content() string {
	if e.Kept != "" {
		return e.Kept
	}
	return filepath.Join(e.dir, entryFile)
}

// Find returns the entry called id.
func (s Store) Find(id string) (Entry, error) {
	all, err := s.List("")
	if err != nil {
		return Entry{}, err
	}
	for _, e := range all {
		if e.ID == id {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("no quarantined entry %q; `pent quarantine list` shows them", id)
}

// Restore puts the entry back where it was. It refuses when something
// exists there now (it never overwrites) and when its origin is unknown.
func (s Store) Restore(e Entry) error {
	if e.Path == "" {
		return fmt.Errorf("where %s came from is unknown (pent was killed while moving it); its content is in %s", e.ID, e.Content())
	}
	if err := moveNoReplace(e.Content(), e.Path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; move it away first, pent does not overwrite it", e.Path)
		}
		return fmt.Errorf("restoring %s: %w", e.Path, err)
	}
	if err := os.RemoveAll(e.dir); err != nil {
		return fmt.Errorf("restored %s, but removing its quarantine record: %w", e.Path, err)
	}
	return nil
}

// Drop deletes the entry for good.
func (s Store) Drop(e Entry) error {
	if e.Kept != "" {
		if err := os.RemoveAll(e.Kept); err != nil {
			return fmt.Errorf("dropping %s: %w", e.Kept, err)
		}
	}
	if err := os.RemoveAll(e.dir); err != nil {
		return fmt.Errorf("dropping quarantined %s: %w", e.Path, err)
	}
	return nil
}

// moveNoReplace renames from to to, failing with fs.ErrExist when to
// exists; across file systems it copies then removes from.
func moveNoReplace(from, to string) error {
	err := renameNoReplace(from, to)
	if !errors.Is(err, unix.EXDEV) {
		return err
	}
	if err := copyTree(from, to); err != nil {
		return err
	}
	return os.RemoveAll(from)
}

// copyTree copies a file, symlink or directory tree from src to a new dst,
// keeping permission bits; it refuses special files.
func copyTree(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	case fi.IsDir():
		if err := os.Mkdir(dst, fi.Mode().Perm()|0o700); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		return os.Chmod(dst, fi.Mode().Perm())
	case fi.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	default:
		return fmt.Errorf("%s is a special file (%v), which pent does not copy", src, fi.Mode().Type())
	}
}
