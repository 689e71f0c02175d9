package keep

import (
	"fmt"
	"strings"

	"github.com/pent-sandbox/pent/termtext"
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
	var out strings.Builder
	for _, e := range termtext.LineEdits(a, b) {
		switch e.Op {
		case '-':
			fmt.Fprintf(&out, "-%d: %s\n", e.Old, e.Text)
		case '+':
			fmt.Fprintf(&out, "+%d: %s\n", e.New, e.Text)
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
