package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// maxPath is the longest path the kernel takes (PATH_MAX less the NUL): an
// entry found deeper is moved through its deepest ancestor within it.
const maxPath = 4095

// walkDir visits every entry beneath dir (not dir itself) by fd-relative
// calls, so no path length limit stops it, and never stops on an entry
// (the sandboxed command controls the tree). visit gets the entry's path
// relative to dir and returns fs.SkipDir to skip a directory. A directory
// pent's user owns but cannot read (mode 000) is made readable (u+rwx)
// first; one that still cannot be read is returned in unread, relative to
// dir, and nothing beneath it is visited. An error is returned only when
// dir itself cannot be read.
func walkDir(dir string, visit func(rel string, d fs.DirEntry) error) (unread []string, err error) {
	if fi, err := os.Lstat(dir); err == nil {
		readable(fi, func(mode os.FileMode) error { return os.Chmod(dir, mode) })
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && rel == ".":
			return err
		case errors.Is(err, fs.ErrNotExist):
			return nil // removed meanwhile
		case err != nil:
			unread = append(unread, rel)
			return fs.SkipDir
		case rel == ".":
			return nil
		}
		if d.IsDir() {
			if fi, err := d.Info(); err == nil {
				readable(fi, func(mode os.FileMode) error { return root.Chmod(rel, mode) })
			}
		}
		return visit(rel, d)
	})
	return unread, err
}

// readable gives pent's user rwx on the directory fi with chmod when it
// owns it and lacks read or search (so that what is planted inside can be
// moved out too); a directory it can read (a read-only module cache) is
// left alone. A failure leaves the directory to be found unread.
func readable(fi fs.FileInfo, chmod func(os.FileMode) error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o500 == 0o500 || !ok || int(st.Uid) != os.Geteuid() {
		return
	}
	_ = chmod(fi.Mode().Perm() | 0o700)
}

// movable is the path of rel below dir that a path-based move can reach:
// rel itself, or its deepest ancestor whose path fits in maxPath.
func movable(dir, rel string) string {
	p := filepath.Join(dir, rel)
	for len(p) > maxPath {
		i := strings.LastIndexByte(p, '/')
		if i <= len(dir) {
			break
		}
		p = p[:i]
	}
	return p
}

// movables maps rels (relative to dir) to the paths a move can reach,
// each once.
func movables(dir string, rels []string) []string {
	var out []string
	for _, rel := range rels {
		if p := movable(dir, rel); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
