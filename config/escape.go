package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character a terminal could act on written as a
// Go-style escape: C0 and C1 control characters, DEL, Unicode format
// characters (bidirectional overrides, zero-width joiners), the line and
// paragraph separators U+2028 and U+2029, and invalid UTF-8
// bytes. A backslash is doubled so that an escape cannot be forged. Every
// string that comes from a configuration or project file, or from a file
// name, goes through Escape before pent prints it.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unprintable(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// needsEscape says whether Escape would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\\' || unprintable(r) {
			return true
		}
		i += size
	}
	return false
}

// unprintable says whether a terminal could act on r, or use it to reorder
// or break the line around it.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

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
