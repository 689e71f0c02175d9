package termtext

// Edit is one line of a line diff: Op is ' ' (in both texts), '-' (only in
// the old one) or '+' (only in the new one); Old and New are its line
// numbers, from 1, in the text or texts that hold it (0 in the other).
type Edit struct {
	Op       byte
	Old, New int
	Text     string
}

// LineEdits is a shortest edit script from the lines a to the lines b, by a
// longest common subsequence: every line of a and of b once, in order,
// removals before additions where they alternate. It takes len(a)·len(b)
// steps and cells; callers bound the sizes.
func LineEdits(a, b []string) []Edit {
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
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
	var out []Edit
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, Edit{' ', i + 1, j + 1, a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, Edit{'-', i + 1, 0, a[i]})
			i++
		default:
			out = append(out, Edit{'+', 0, j + 1, b[j]})
			j++
		}
	}
	return out
}
