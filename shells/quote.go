package shells

import "strings"

// PosixQuote quotes s as one word for bash and zsh: in single quotes, where
// every byte is literal (newlines included) except the single quote, which is
// written by closing the quotes, adding a backslash-escaped quote and
// reopening them.
func PosixQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FishQuote quotes s as one word for fish: single quotes, inside which only
// backslash and single quote are special and are escaped with a backslash.
func FishQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}
