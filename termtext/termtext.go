// Package termtext makes text that pent prints safe for a terminal: strings
// that come from files, configurations or the sandboxed program are written
// with every character a terminal could act on escaped. It is a leaf: any
// pent package may import it.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Escape returns s with every character a terminal could act on written as a
// Go-style escape: C0 and C1 control characters, DEL, Unicode format
// characters (bidirectional overrides, zero-width joiners), the line and
// paragraph separators U+2028 and U+2029, and invalid UTF-8
// bytes. A backslash is doubled so that an escape cannot be forged.
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

// JSON returns the JSON text data (as encoding/json writes it: valid UTF-8,
// C0 controls already escaped) with every other rune a terminal could act
// on — C1 controls, DEL, format characters, U+2028/2029 — written as a JSON
// \uXXXX escape (a surrogate pair beyond the BMP), so that printing it is
// safe and decoding it gives the same value. Outside strings JSON text is
// ASCII, so the rewrite never changes its structure. Invalid UTF-8 bytes,
// which encoding/json never writes, become \ufffd.
func JSON(data []byte) []byte {
	if !jsonNeedsEscape(data) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1, r >= 0x7f && unprintable(r):
			out = appendJSONRune(out, r)
		default:
			out = append(out, data[i:i+size]...)
		}
		i += size
	}
	return out
}

// jsonNeedsEscape says whether JSON would change data.
func jsonNeedsEscape(data []byte) bool {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size == 1) || (r >= 0x7f && unprintable(r)) {
			return true
		}
		i += size
	}
	return false
}

// appendJSONRune appends r as a JSON \u escape.
func appendJSONRune(out []byte, r rune) []byte {
	if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
		return fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
	}
	return fmt.Appendf(out, `\u%04x`, r)
}
