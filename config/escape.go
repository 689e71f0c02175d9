package config

import (
	"path/filepath"

	"github.com/pent-sandbox/pent/termtext"
)

// Escape returns s with every character a terminal could act on escaped
// (termtext.Escape). Every string that comes from a configuration or
// project file, or from a file name, goes through Escape before pent prints
// it.
func Escape(s string) string { return termtext.Escape(s) }

// Tilde shortens a path under home to ~/… for messages.
func Tilde(path, home string) string {
	if rel, err := filepath.Rel(home, path); err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != "../") {
		if rel == "." {
			return "~"
		}
		return "~/" + rel
	}
	return path
}
