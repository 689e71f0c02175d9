package trace

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

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

// splitKey splits "sandbox.paths.read" into its table and key.
func splitKey(k string) (table, key string) {
	i := strings.LastIndexByte(k, '.')
	return k[:i], k[i+1:]
}

// TOML renders the suggestion as a snippet to paste into a config file.
func (s Suggestion) TOML() string {
	var b strings.Builder
	table := ""
	for _, k := range s.Keys {
		t, key := splitKey(k)
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
		if out, err = addValues(out, k, s.Values[k]); err != nil {
			return nil, err
		}
	}
	if err := checkApplied(out, s); err != nil {
		return nil, err
	}
	return out, nil
}

// addValues adds vals to the array at key k of data.
func addValues(data []byte, k string, vals []string) ([]byte, error) {
	table, key := splitKey(k)
	loc, err := locate(data, table, key)
	if err != nil {
		return nil, err
	}
	switch {
	case loc.array != nil:
		existing, err := arrayStrings(data, k)
		if err != nil {
			return nil, err
		}
		var add []string
		for _, v := range vals {
			if !slices.Contains(existing, v) {
				add = append(add, v)
			}
		}
		if len(add) == 0 {
			return data, nil
		}
		return insertIntoArray(data, *loc.array, add)
	case loc.headerEnd >= 0:
		line := []byte(key + " = " + config.TOMLList(vals) + newline(data))
		return slices.Concat(data[:loc.headerEnd], line, data[loc.headerEnd:]), nil
	}
	nl := newline(data)
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteString(nl)
	}
	if len(data) > 0 {
		b.WriteString(nl)
	}
	fmt.Fprintf(&b, "[%s]%s%s = %s%s", table, nl, key, config.TOMLList(vals), nl)
	return b.Bytes(), nil
}

// location is where a key is, or where it can go.
type location struct {
	array     *unstable.Range // the key's array value, when the file has the key
	headerEnd int             // the offset after the table's header line, -1 without one
}

// locate finds table.key in data: a key-value under [table] (also written
// with dotted keys, or as a dotted key at the top level or in a parent
// table).
func locate(data []byte, table, key string) (location, error) {
	loc := location{headerEnd: -1}
	want := strings.Split(table+"."+key, ".")
	var p unstable.Parser
	p.Reset(data)
	var current []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var end int
			current, end = keyParts(e.Key())
			if e.Kind == unstable.Table && strings.Join(current, ".") == table {
				loc.headerEnd = lineEnd(data, end)
			}
		case unstable.KeyValue:
			parts, end := keyParts(e.Key())
			if !slices.Equal(append(slices.Clone(current), parts...), want) {
				continue
			}
			if e.Value().Kind != unstable.Array {
				return loc, fmt.Errorf("%s is not an array in this file", table+"."+key)
			}
			// The key-value's text ends with the array; it starts at the
			// first bracket after the key.
			kvEnd := int(e.Raw.Offset + e.Raw.Length)
			open := bytes.IndexByte(data[end:kvEnd], '[')
			if open < 0 {
				return loc, fmt.Errorf("cannot find the array of %s", table+"."+key)
			}
			loc.array = &unstable.Range{Offset: uint32(end + open), Length: uint32(kvEnd - end - open)}
			return loc, nil
		}
	}
	if err := p.Error(); err != nil {
		return loc, fmt.Errorf("reading the file: %w", err)
	}
	return loc, nil
}

// keyParts are the parts of a (dotted) key and the offset just past its
// last part.
func keyParts(it unstable.Iterator) ([]string, int) {
	var parts []string
	end := 0
	for it.Next() {
		n := it.Node()
		parts = append(parts, string(n.Data))
		end = int(n.Raw.Offset + n.Raw.Length)
	}
	return parts, end
}

// lineEnd is the offset just past the end of the line holding off.
func lineEnd(data []byte, off int) int {
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(data)
}

// newline is the file's line ending.
func newline(data []byte) string {
	if bytes.Contains(data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// insertIntoArray adds vals before the closing bracket of the array at r,
// with a comma after the last element when it lacks one; comments inside
// the array stay where they are.
func insertIntoArray(data []byte, r unstable.Range, vals []string) ([]byte, error) {
	raw := data[r.Offset : r.Offset+r.Length]
	closing := bytes.LastIndexByte(raw, ']')
	if closing < 0 {
		return nil, fmt.Errorf("cannot find the end of an array")
	}
	last := lastSignificant(raw[:closing])
	items := strings.Join(quoteAll(vals), ", ")
	if last != '[' && last != ',' {
		items = ", " + items
	}
	at := int(r.Offset) + closing
	if bytes.IndexByte(raw[:closing], '\n') >= 0 {
		// A multi-line array: a line of its own before the bracket.
		lineStart := bytes.LastIndexByte(data[:at], '\n') + 1
		if len(bytes.TrimSpace(data[lineStart:at])) == 0 {
			at = lineStart
			items = "  " + strings.TrimPrefix(items, ", ") + ","
			if last != '[' && last != ',' {
				return nil, fmt.Errorf("cannot add to a multi-line array whose last element has no comma")
			}
			items += newline(data)
		}
	}
	return slices.Concat(data[:at], []byte(items), data[at:]), nil
}

func quoteAll(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = config.TOMLString(v)
	}
	return out
}

// lastSignificant is the last byte of an array's text that is not blank or
// in a comment (strings are skipped whole).
func lastSignificant(raw []byte) byte {
	var last byte
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '#':
			for i < len(raw) && raw[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			quote := c
			for i++; i < len(raw) && raw[i] != quote; i++ {
				if quote == '"' && raw[i] == '\\' {
					i++
				}
			}
			last = quote
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			last = c
		}
	}
	return last
}

// arrayStrings decodes the string array at dotted key k of data.
func arrayStrings(data []byte, k string) ([]string, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the file is not valid TOML: %w", err)
	}
	var cur any = doc
	for _, part := range strings.Split(k, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, nil
		}
		cur = m[part]
	}
	list, _ := cur.([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// checkApplied makes sure the edited file is valid TOML with every value.
func checkApplied(data []byte, s Suggestion) error {
	for _, k := range s.Keys {
		got, err := arrayStrings(data, k)
		if err != nil {
			return fmt.Errorf("cannot edit this file automatically: %w", err)
		}
		for _, v := range s.Values[k] {
			if !slices.Contains(got, v) {
				return fmt.Errorf("cannot edit this file automatically: %s would not hold %q", k, v)
			}
		}
	}
	return nil
}
