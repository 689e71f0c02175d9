package config

import "github.com/pent-sandbox/pent/termtext"

// Escape returns s with every character a terminal could act on escaped
// (termtext.Escape). Every string that comes from a configuration or
// project file, or from a file name, goes through Escape before pent prints
// it.
func Escape(s string) string { return termtext.Escape(s) }
