package trace

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/termtext"
)

// Suggestion is the merged fixes of a log: values to add, by config key,
// each list de-duplicated in order of first appearance.
type Suggestion struct {
	// Keys are dotted keys ("profiles", "sandbox.paths.read") in output
	// order.
	Keys   []string
	Values map[string][]string
	// Notes say, one line each, how a path was generalised.
	Notes []string
	// Skipped are the fixes of the log that are not proposed, and why.
	Skipped []Skip
}

// suggestionOrder is the order keys are written in: the top-level key
// before any table.
var suggestionOrder = []string{
	KeyProfiles, TablePaths + ".read", TablePaths + ".execute", TablePaths + ".read_write", TableProxy + "." + KeyAllow,
}

// Suggest merges the fixes of entries, each checked again as a new one is
// made (a log may come from an older pent): secrets, host-executed
// locations and wholesale grants are skipped, host-specific paths
// generalised, paths a built-in profile grants replaced by the profile.
func (h Hinter) Suggest(entries []Entry) Suggestion {
	s := Suggestion{Values: map[string][]string{}}
	for _, e := range entries {
		var fix *Fix
		var note string
		var skip Skip
		switch {
		case e.Fix != nil:
			fix, note, skip = h.vet(*e.Fix)
		case e.Skip != nil:
			skip = *e.Skip
		default:
			continue
		}
		if fix == nil {
			if !slices.Contains(s.Skipped, skip) {
				s.Skipped = append(s.Skipped, skip)
			}
			continue
		}
		if note != "" && !slices.Contains(s.Notes, note) {
			s.Notes = append(s.Notes, note)
		}
		k := fix.dottedKey()
		if !slices.Contains(s.Values[k], fix.Value) {
			s.Values[k] = append(s.Values[k], fix.Value)
		}
	}
	for _, k := range suggestionOrder {
		if len(s.Values[k]) > 0 {
			s.Keys = append(s.Keys, k)
		}
	}
	return s
}

// Empty reports whether there is nothing to add.
func (s Suggestion) Empty() bool { return len(s.Keys) == 0 }

// TOML renders the suggestion as a snippet to paste into a config file.
func (s Suggestion) TOML() string {
	var b strings.Builder
	table := ""
	for _, k := range s.Keys {
		t, key := "", k
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			t, key = k[:i], k[i+1:]
		}
		if t != table {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "[%s]\n", t)
			table = t
		}
		fmt.Fprintf(&b, "%s = %s\n", key, config.TOMLList(s.Values[k]))
	}
	return b.String()
}

// Apply returns data (a TOML config file) with the suggestion's values
// added: to the existing arrays where the file has the keys, as new lines
// under an existing [table] header, or as new tables at the end. Every other
// byte, comments included, stays. The result is checked: it must be valid
// TOML holding every suggested value; a file whose shape Apply cannot edit
// (an inline table, dotted keys defining the table) is an error, and the
// caller can print the snippet instead.
func Apply(data []byte, s Suggestion) ([]byte, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the file is not valid TOML: %w", err)
	}
	out := slices.Clone(data)
	for _, k := range s.Keys {
		var err error
		if out, err = config.AddToArray(out, k, s.Values[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Diff shows what Apply changed: the lines of before that are gone ("- "),
// the lines of after that are new ("+ "), and one unchanged line of context
// on each side ("  "); "…" stands for the unchanged lines left out. Each
// line is escaped for the terminal.
func Diff(before, after []byte) string {
	a, b := strings.SplitAfter(string(before), "\n"), strings.SplitAfter(string(after), "\n")
	// Config files are short: no bound on LineEdits.
	type line struct {
		mark string
		text string
	}
	marks := map[byte]string{' ': "  ", '-': "- ", '+': "+ "}
	var lines []line
	for _, e := range termtext.LineEdits(a, b) {
		lines = append(lines, line{marks[e.Op], e.Text})
	}
	changed := func(k int) bool { return k >= 0 && k < len(lines) && lines[k].mark != "  " }
	var out strings.Builder
	gap := false
	for k, l := range lines {
		if l.text == "" {
			continue // the empty piece after a final newline
		}
		if !changed(k) && !changed(k-1) && !changed(k+1) {
			if !gap {
				out.WriteString("  …\n")
				gap = true
			}
			continue
		}
		gap = false
		out.WriteString(l.mark + config.Escape(strings.TrimSuffix(l.text, "\n")) + "\n")
	}
	return out.String()
}
