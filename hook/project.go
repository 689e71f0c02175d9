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
	Snap Snapshot
	// State is the trust state of Snap (Unknown when Err is set).
	State State
	// Err is why the file could not be read.
	Err error
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
// so that its commands are blocked, not released). Files that are unknown,
// denied or unreadable are passed over, so that a project file written below
// a trusted project — by a sandboxed command, a checkout, anyone — never
// removes or weakens the enclosing project's protection; a nested file
// narrows or widens it only once allowed itself. When no file on the way up
// is allowed or changed, the nearest file is the project. Above a changed
// project, the nearest allowed file is its Enclosing project. Each file is
// read once; the error is the trust store's.
func Select(dir string, t Trust) (Selection, error) {
	var sel Selection
	abs, err := filepath.Abs(dir)
	if err != nil {
		return sel, err
	}
	var seen []Found
	for d := abs; ; d = filepath.Dir(d) {
		if file, ok := projectIn(d); ok {
			f, err := judge(file, d, t)
			if err != nil {
				return sel, err
			}
			switch {
			case sel.Project.File != "":
				if f.Err == nil && f.State == Allowed {
					sel.Enclosing = f
					return sel, nil
				}
			case f.Err == nil && f.State == Allowed:
				return Selection{Project: f, Skipped: seen}, nil
			case f.Err == nil && f.State == Changed:
				sel = Selection{Project: f, Skipped: seen}
			default:
				seen = append(seen, f)
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if sel.Project.File == "" && len(seen) > 0 {
		sel.Project = seen[0]
	}
	return sel, nil
}

// Status is the file's trust state, or "unreadable".
func (f Found) Status() string {
	if f.Err != nil {
		return "unreadable"
	}
	return f.State.String()
}

// judge reads a project file once and checks its trust.
func judge(file, root string, t Trust) (Found, error) {
	f := Found{File: file, Root: root}
	if f.Snap, f.Err = ReadProject(file); f.Err != nil {
		return f, nil
	}
	var err error
	f.State, err = t.Check(f.Snap)
	return f, err
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
