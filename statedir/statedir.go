// Package statedir names pent's own per-project state below its state
// directory ($XDG_STATE_HOME/pent): what pent writes about a project
// (its trace log, its discarded writes) lives there, never in the project,
// where it would show in `git status` and where the sandboxed command could
// rewrite it. The sandbox cannot write the state directory: pent lists it
// among the host-executed locations it keeps read-only or hidden.
package statedir

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// projectsDir holds one directory per project.
const projectsDir = "projects"

// Hash is the first 16 hex digits of sha256(root): the part of a
// project's key that tells projects apart.
func Hash(root string) string {
	sum := sha256.Sum256([]byte(root))
	return hex.EncodeToString(sum[:8])
}

// Project is the state directory of the project at root:
// <stateDir>/projects/<base name of root>-<Hash(root)>. The base name is
// there for people; it is reduced to letters, digits, '.', '_' and '-'.
func Project(stateDir, root string) string {
	return filepath.Join(stateDir, projectsDir, readable(filepath.Base(root))+"-"+Hash(root))
}

// readable keeps the characters of name that are safe and plain in a file
// name, each other one becomes '_'; a name of dots only becomes "_".
func readable(name string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
	if strings.Trim(out, ".") == "" {
		return "_"
	}
	return out
}
