// Package keep holds the writes pent does not let through to the host, so
// that none is lost without a word (SPEC §14): the new and changed files a
// sandboxed command made in a directory the sandbox shows through an
// overlay (~ when ~/.claude.json is granted), outside the writable paths.
// Each run that made any leaves one pending layer here: its upper layers,
// moved in when the run ends, and a manifest naming each file's real path.
// `pent keep` copies files to their real place (Store.Keep); a layer
// expires a day after its run (Expiry), checked whenever the store is read
// or written, or goes with `pent keep --clear`. Review mode builds on the
// same layers.
//
// On disk, under Store.Dir ($XDG_STATE_HOME/pent/kept):
//
//	<id>/layer.json        {"project", "time", "dirs": [real directory of files/<i>], "files": [{"path", "src", "size", "mode"}]}
//	<id>/files/<i>/…       the upper layer of dirs[i], as the command left it
//
// The id sorts by time. The content is the command's, so nothing in the
// store may be usable as code: directories are 0700, files 0600 (the mode
// the command gave a file is in the manifest), and whatever is neither a
// regular file nor a directory (a symbolic link, a device, an overlay
// whiteout) is removed when the layer is stored.
package keep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pent-sandbox/pent/sandbox"
)

// Expiry is how long a pending layer stays after its run.
const Expiry = 24 * time.Hour

// manifestName and filesDir are the two names in a layer's directory.
const (
	manifestName = "layer.json"
	filesDir     = "files"
)

// Store is the directory of the pending layers.
type Store struct {
	// Dir is the store's root directory.
	Dir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Layer is the pending layer of one run.
type Layer struct {
	// ID names the layer; it sorts by time.
	ID string `json:"-"`
	// Project is the project root (or working directory) of the run.
	Project string `json:"project"`
	// Time is when the run ended.
	Time time.Time `json:"time"`
	// Dirs are the real directories of the upper layers files/<i>.
	Dirs []string `json:"dirs"`
	// Files are the regular files the layer holds.
	Files []File `json:"files"`

	dir string // <Store.Dir>/<ID>
}

// File is one file of a layer.
type File struct {
	// Path is where the command wrote it: the real path on the host.
	Path string `json:"path"`
	// Src is the file below the layer's directory (files/<i>/…).
	Src string `json:"src"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// Mode are the permission bits the command gave it.
	Mode fs.FileMode `json:"mode"`
}

func (s Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Pending is the layer of a run being stored: Add takes the upper layers
// as the run ends, Close records them. Nothing is created on disk until Add
// finds something to keep.
type Pending struct {
	store Store
	layer Layer
	err   error
}

// Begin starts the pending layer of a run of project.
func (s Store) Begin(project string) *Pending {
	return &Pending{store: s, layer: Layer{Project: project}}
}

// Add moves into the layer what the command left in upper, the upper layer
// of the real directory dir, except the entries named in writable (pent
// copied those to the host). It has the signature of
// sandbox.LaunchOptions.Discarded; the first error is returned by Close.
func (p *Pending) Add(upper, dir string, writable []string) {
	if p.err == nil {
		p.err = p.add(upper, dir, writable)
	}
}

func (p *Pending) add(upper, dir string, writable []string) error {
	entries, err := os.ReadDir(upper)
	if err != nil {
		return fmt.Errorf("reading the writes to %s: %w", dir, err)
	}
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return slices.Contains(writable, e.Name()) })
	if len(entries) == 0 {
		return nil
	}
	if err := p.create(); err != nil {
		return err
	}
	rel := filepath.Join(filesDir, strconv.Itoa(len(p.layer.Dirs)))
	to := filepath.Join(p.layer.dir, rel)
	if err := os.Mkdir(to, 0o700); err != nil {
		return fmt.Errorf("keeping the writes to %s: %w", dir, err)
	}
	if err := os.Chmod(upper, 0o700); err != nil { // the real directory's mode may deny the owner
		return fmt.Errorf("keeping the writes to %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(upper, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return fmt.Errorf("keeping the writes to %s: %w", dir, err)
		}
	}
	files, err := confine(p.layer.dir, rel, dir)
	if err != nil {
		return fmt.Errorf("keeping the writes to %s: %w", dir, err)
	}
	if len(files) == 0 {
		return sandbox.RemoveTree(to)
	}
	p.layer.Dirs = append(p.layer.Dirs, dir)
	p.layer.Files = append(p.layer.Files, files...)
	return nil
}

// create makes the layer's directory, once.
func (p *Pending) create() error {
	if p.layer.dir != "" {
		return nil
	}
	if err := privateDir(p.store.Dir); err != nil {
		return err
	}
	now := p.store.now().UTC()
	dir, err := os.MkdirTemp(p.store.Dir, now.Format("20060102T150405.000000000")+"-")
	if err != nil {
		return fmt.Errorf("creating a pending layer: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, filesDir), 0o700); err != nil {
		return fmt.Errorf("creating a pending layer: %w", err)
	}
	p.layer.ID, p.layer.Time, p.layer.dir = filepath.Base(dir), now, dir
	return nil
}

// Close records the layer and returns it (with no files when the run left
// nothing), and removes the layers that expired.
func (p *Pending) Close() (Layer, error) {
	if p.layer.dir == "" {
		return p.layer, p.err
	}
	if len(p.layer.Files) == 0 {
		err := sandbox.RemoveTree(p.layer.dir)
		return p.layer, errors.Join(p.err, err)
	}
	err := writeManifest(p.layer)
	_, expErr := p.store.Layers() // expires the old ones
	return p.layer, errors.Join(p.err, err, expErr)
}

// confine makes the tree rel below layer (the upper layer of the real
// directory dir) harmless and lists its files: directories become 0700,
// regular files 0600, everything else is removed, and so are the
// directories left empty (a directory the overlay copied up for a change
// of its times, or that held only a symbolic link). Nothing else runs
// there: the command's processes have ended and the store is private.
func confine(layer, rel, dir string) ([]File, error) {
	var files []File
	var dirs []string
	root := filepath.Join(layer, rel)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, path)
			return os.Chmod(path, 0o700) // before WalkDir reads it
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if err := os.Chmod(path, 0o600); err != nil {
				return err
			}
			src, _ := filepath.Rel(layer, path)
			below, _ := filepath.Rel(root, path)
			files = append(files, File{Path: filepath.Join(dir, below), Src: src, Size: fi.Size(), Mode: fi.Mode().Perm()})
			return nil
		default:
			return os.Remove(path)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, d := range slices.Backward(dirs) {
		_ = os.Remove(d) // only when empty
	}
	return files, nil
}

// writeManifest writes l's manifest, atomically.
func writeManifest(l Layer) error {
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("recording the pending layer: %w", err)
	}
	tmp := filepath.Join(l.dir, manifestName+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("recording the pending layer: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, manifestName)); err != nil {
		return fmt.Errorf("recording the pending layer: %w", err)
	}
	return nil
}

// Layers removes the layers older than Expiry (and those a killed pent
// left without a manifest, by their directory's age) and returns the
// others, oldest first.
func (s Store) Layers() ([]Layer, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the pending writes: %w", err)
	}
	if err := privateDir(s.Dir); err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-Expiry)
	var out []Layer
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.Dir, e.Name())
		l, err := readLayer(dir)
		born := l.Time
		if err != nil {
			fi, serr := os.Lstat(dir)
			if serr != nil {
				continue
			}
			born = fi.ModTime()
		}
		if born.Before(cutoff) {
			if err := sandbox.RemoveTree(dir); err != nil {
				return nil, fmt.Errorf("removing the expired pending layer %s: %w", dir, err)
			}
			continue
		}
		if err == nil {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b Layer) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// readLayer reads the manifest of the layer in dir and checks that every
// file it names lies inside the layer.
func readLayer(dir string) (Layer, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return Layer{}, err
	}
	var l Layer
	if err := json.Unmarshal(data, &l); err != nil {
		return Layer{}, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	for _, f := range l.Files {
		if !filepath.IsAbs(f.Path) || filepath.Clean(f.Path) != f.Path || !filepath.IsLocal(f.Src) ||
			!strings.HasPrefix(f.Src, filesDir+string(filepath.Separator)) {
			return Layer{}, fmt.Errorf("%s: bad entry %q", filepath.Join(dir, manifestName), f.Path)
		}
	}
	l.ID, l.dir = filepath.Base(dir), dir
	return l, nil
}

// Entry is the newest pending version of one path.
type Entry struct {
	File
	// Layer is the layer it is in.
	Layer Layer
}

// Latest lists the newest version of each path the layers hold, by path.
func Latest(layers []Layer) []Entry {
	byPath := map[string]Entry{}
	for _, l := range layers { // oldest first: a later one replaces
		for _, f := range l.Files {
			byPath[f.Path] = Entry{File: f, Layer: l}
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Source is where e's content is in the store.
func (e Entry) Source() string { return filepath.Join(e.Layer.dir, e.Src) }

// Clear removes every pending layer and returns how many files they held.
func (s Store) Clear() (int, error) {
	layers, err := s.Layers()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range layers {
		n += len(l.Files)
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("reading the pending writes: %w", err)
	}
	for _, e := range entries {
		if err := sandbox.RemoveTree(filepath.Join(s.Dir, e.Name())); err != nil {
			return n, fmt.Errorf("removing the pending writes: %w", err)
		}
	}
	return n, nil
}

// forget removes path from every layer that holds it, and a layer left
// with no file altogether.
func (s Store) forget(path string) error {
	layers, err := s.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		i := slices.IndexFunc(l.Files, func(f File) bool { return f.Path == path })
		if i < 0 {
			continue
		}
		src := filepath.Join(l.dir, l.Files[i].Src)
		l.Files = slices.Delete(l.Files, i, i+1)
		if len(l.Files) == 0 {
			err = sandbox.RemoveTree(l.dir)
		} else if err = writeManifest(l); err == nil {
			err = os.Remove(src)
		}
		if err != nil {
			return fmt.Errorf("removing %s from the pending writes: %w", path, err)
		}
	}
	return nil
}

// privateDir creates dir (and its parents) 0700 and refuses it unless it
// is a directory of this user that nobody else can enter.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the store of pending writes: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("the store of pending writes: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || !ok || int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s must be a directory owned by you with mode 0700; remove it and run pent again", dir)
	}
	return nil
}
