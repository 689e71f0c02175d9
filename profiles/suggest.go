package profiles

// Suggest returns the option closest to word by edit distance (insertions,
// deletions, replacements and swaps of adjacent runes), or "" when no
// option is close enough to be a plausible typo: at most two edits, or a
// third of the word's length for long words. Ties go to the option that sorts
// first, so the answer does not depend on the order of options. The config
// package uses it for key names as well as profile names.
func Suggest(word string, options []string) string {
	n := len([]rune(word))
	limit := max(2, n/3)
	best, bestDist := "", limit+1
	for _, o := range options {
		if diff := n - len([]rune(o)); diff > limit || -diff > limit {
			continue // the distance is at least the difference in length
		}
		d := distance(word, o)
		if d < bestDist || d == bestDist && o < best {
			best, bestDist = o, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b, counted
// in runes: the edits are inserting, deleting or replacing one rune and
// swapping two adjacent ones, the usual typos.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
