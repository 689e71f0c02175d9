package sandbox

import (
	"io/fs"
	"os"
	"path/filepath"
)

// RemoveTree removes path like os.RemoveAll, also where the command (or
// overlayfs, for its work directories) left directories without
// permissions. Symbolic links are removed, never followed.
func RemoveTree(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700) // before WalkDir reads it
		}
		return nil
	})
	return os.RemoveAll(path)
}
