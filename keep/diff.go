package keep

import (
	"fmt"
	"strings"
)

// maxDiffCells bounds the work of Diff (lines of old × lines of new).
const maxDiffCells = 4 << 20

// Diff returns the lines that differ between old and new, each "-" (only
// in old) or "+" (only in new) and its line number in that text, one per
// line; "" when they are equal. Texts too long to compare are summarised
// in one line.
func Diff(old, new string) string {
	a, b := lines(old), lines(new)
	if len(a)*len(b) > maxDiffCells {
		return fmt.Sprintf("(%d lines replaced by %d lines; too long to compare)\n", len(a), len(b))
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "-%d: %s\n", i+1, a[i])
			i++
		default:
			fmt.Fprintf(&out, "+%d: %s\n", j+1, b[j])
			j++
		}
	}
	return out.String()
}

// lines splits text into lines without their newlines.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}
