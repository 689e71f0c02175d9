// Package hook holds the shell-independent half of pent's direnv-style shell
// integration: finding a project's .pent.toml, the trust store that records
// which project files the user allowed or denied, and the export decision
// (given the working directory and the shell's PENT_* state, what must change).
package hook

import (
	"os"
	"path/filepath"
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
// directory on the way has a project file. Only regular files (or symlinks to
// them) count.
func FindProject(dir string) (file, root string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	for d := abs; ; d = filepath.Dir(d) {
		for _, name := range projectCandidates(d) {
			if isRegular(name) {
				return name, d, true
			}
		}
		if filepath.Dir(d) == d {
			return "", "", false
		}
	}
}

// projectCandidates lists, in order of precedence, the paths in directory d
// that would make d a project root.
func projectCandidates(d string) []string {
	return []string{filepath.Join(d, ProjectFile), filepath.Join(d, SeedProjectFile)}
}

func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
