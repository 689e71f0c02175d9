package shells

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// unquotePosix parses a word made of single-quoted strings and
// backslash-escaped characters, the only forms PosixQuote emits, the way bash
// and zsh read them. It fails on anything a shell would expand or split.
func unquotePosix(w string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(w); {
		switch w[i] {
		case '\'':
			end := strings.IndexByte(w[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(w[i+1 : i+1+end])
			i += end + 2
		case '\\':
			if i+1 >= len(w) {
				return "", errors.New("trailing backslash")
			}
			b.WriteByte(w[i+1])
			i += 2
		default:
			return "", errors.New("unquoted byte " + string(w[i]))
		}
	}
	return b.String(), nil
}

// unquoteFish parses a fish single-quoted word: inside, \\ and \' are
// escapes and every other byte (a lone backslash included) is literal.
func unquoteFish(w string) (string, error) {
	if len(w) < 2 || w[0] != '\'' || w[len(w)-1] != '\'' {
		return "", errors.New("not a single-quoted word")
	}
	var b strings.Builder
	in := w[1 : len(w)-1]
	for i := 0; i < len(in); i++ {
		switch {
		case in[i] == '\\' && i+1 < len(in) && (in[i+1] == '\\' || in[i+1] == '\''):
			b.WriteByte(in[i+1])
			i++
		case in[i] == '\'':
			return "", errors.New("unescaped quote inside the word")
		case in[i] == '\\' && i+1 == len(in):
			return "", errors.New("backslash escapes the closing quote")
		default:
			b.WriteByte(in[i])
		}
	}
	return b.String(), nil
}

var quoteSeeds = []string{
	"", "plain", "sp ace", "it's", `back\slash`, `\`, `\'`, "'", "''", "$HOME", "`id`", "$(id)",
	"new\nline", "tab\t", "ü€😀", "!event", "*?[a]", "~user", "a\\\\'b", "-n", "\x01\x7f",
}

func FuzzQuote(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			return // no shell word or environment value can hold NUL
		}
		if got, err := unquotePosix(PosixQuote(s)); err != nil || got != s {
			t.Errorf("posix: %q -> %q -> %q, %v", s, PosixQuote(s), got, err)
		}
		if got, err := unquoteFish(FishQuote(s)); err != nil || got != s {
			t.Errorf("fish: %q -> %q -> %q, %v", s, FishQuote(s), got, err)
		}
	})
}

// TestQuoteInRealShells checks the re-parsers against the shells themselves:
// each seed (and every byte 1-255 on its own) goes through the shell's
// printf and must come back unchanged.
func TestQuoteInRealShells(t *testing.T) {
	words := append([]string{}, quoteSeeds...)
	for c := 1; c < 256; c++ {
		if c < utf8.RuneSelf {
			words = append(words, string(rune(c)))
		} else {
			words = append(words, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			needShell(t, shell)
			dir := t.TempDir()
			q := PosixQuote
			if shell == "fish" {
				q = FishQuote
			}
			var script strings.Builder
			for _, w := range words {
				script.WriteString("printf '%s\\0' " + q(w) + "\n")
			}
			out := runScript(t, shell, dir, script.String())
			got := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
			if len(got) != len(words) {
				t.Fatalf("got %d words, want %d: %q", len(got), len(words), out)
			}
			for i, w := range words {
				if got[i] != w {
					t.Errorf("%s: %q came back as %q (quoted %s)", shell, w, got[i], q(w))
				}
			}
		})
	}
}
