package trace

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/pent-sandbox/pent/config"
)

// Suggestion is the merged fixes of a log: values to add, by config key,
// each list de-duplicated in order of first appearance.
type Suggestion struct {
	// Keys are "table.key" (e.g. "sandbox.paths.read") in output order.
	Keys   []string
	Values map[string][]string
}

// suggestionOrder is the order keys are written in.
var suggestionOrder = []string{
	TablePaths + ".read", TablePaths + ".execute", TablePaths + ".read_write", TableProxy + "." + KeyAllow,
}

// Suggest merges the fixes of entries.
func Suggest(entries []Entry) Suggestion {
	s := Suggestion{Values: map[string][]string{}}
	for _, e := range entries {
		if e.Fix == nil || !validFix(*e.Fix) {
			continue
		}
		k := e.Fix.Table + "." + e.Fix.Key
		if !slices.Contains(s.Values[k], e.Fix.Value) {
			s.Values[k] = append(s.Values[k], e.Fix.Value)
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
		i := strings.LastIndexByte(k, '.')
		t, key := k[:i], k[i+1:]
		if t != table {
			if table != "" {
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
