package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// This file is pent's one comment-preserving TOML editor: `pent config
// profiles` (SetProfiles) and `pent trace suggest --apply` (trace.Apply)
// change one array of a config file and keep every other byte.

// SetArray returns data with the value at the dotted key (e.g. "profiles",
// "sandbox.paths.read") replaced by the one-line array vals. Without the
// key, a top-level one is inserted at the top of the file, one in a table
// under the table's [header], or a new table is added at the end. data
// must be valid TOML; the caller checks the result's shape.
func SetArray(data []byte, key string, vals []string) ([]byte, error) {
	loc, err := locate(data, key)
	if err != nil {
		return nil, err
	}
	if loc.keyValue == nil {
		return insertKey(data, key, loc, vals), nil
	}
	line := []byte(strings.Join(loc.parts, ".") + " = " + TOMLList(vals))
	r := *loc.keyValue
	return slices.Concat(data[:r.Offset], line, data[r.Offset+r.Length:]), nil
}

// AddToArray returns data with the values of vals that the string array at
// the dotted key lacks added at its end (comments inside the array stay
// where they are), or with the key added as SetArray adds it. The result
// is checked: it must be valid TOML whose array holds every value; a file
// whose shape cannot be edited (an inline table, dotted keys defining the
// table) is an error.
func AddToArray(data []byte, key string, vals []string) ([]byte, error) {
	loc, err := locate(data, key)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch {
	case loc.keyValue == nil:
		out = insertKey(data, key, loc, vals)
	case loc.array == nil:
		return nil, fmt.Errorf("%s is not an array in this file", key)
	default:
		existing, err := arrayStrings(data, key)
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
		if out, err = insertIntoArray(data, *loc.array, add); err != nil {
			return nil, err
		}
	}
	got, err := arrayStrings(out, key)
	if err != nil {
		return nil, fmt.Errorf("cannot edit this file automatically: %w", err)
	}
	for _, v := range vals {
		if !slices.Contains(got, v) {
			return nil, fmt.Errorf("cannot edit this file automatically: %s would not hold %q", key, v)
		}
	}
	return out, nil
}

// insertKey adds `key = vals` where locate said it can go.
func insertKey(data []byte, key string, loc location, vals []string) []byte {
	table, name := splitKey(key)
	nl := newline(data)
	if loc.headerEnd >= 0 {
		line := []byte(name + " = " + TOMLList(vals) + nl)
		return slices.Concat(data[:loc.headerEnd], line, data[loc.headerEnd:])
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteString(nl)
	}
	if len(data) > 0 {
		b.WriteString(nl)
	}
	fmt.Fprintf(&b, "[%s]%s%s = %s%s", table, nl, name, TOMLList(vals), nl)
	return b.Bytes()
}

// splitKey splits "sandbox.paths.read" into its table and key; the table
// of a top-level key is "".
func splitKey(k string) (table, key string) {
	i := strings.LastIndexByte(k, '.')
	if i < 0 {
		return "", k
	}
	return k[:i], k[i+1:]
}

// location is where a key is, or where it can go.
type location struct {
	keyValue *unstable.Range // the whole key-value, when the file has the key
	parts    []string        // its key as written there (relative to its table)
	array    *unstable.Range // its array value, when the value is an array
	// headerEnd is the offset after the table's header line (0 for the top
	// level, where a new key goes first), -1 when the table has no header.
	headerEnd int
}

// locate finds the dotted key in data: a key-value under its table's
// header (also written with dotted keys, or as a dotted key at the top
// level or in a parent table).
func locate(data []byte, key string) (location, error) {
	table, _ := splitKey(key)
	loc := location{headerEnd: -1}
	if table == "" {
		loc.headerEnd = 0
	}
	want := strings.Split(key, ".")
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
			loc.keyValue, loc.parts = &e.Raw, parts
			if e.Value().Kind != unstable.Array {
				return loc, nil
			}
			// The key-value's text ends with the array; it starts at the
			// first bracket after the key.
			kvEnd := int(e.Raw.Offset + e.Raw.Length)
			open := bytes.IndexByte(data[end:kvEnd], '[')
			if open < 0 {
				return loc, fmt.Errorf("cannot find the array of %s", key)
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
	list := TOMLList(vals)
	items := list[1 : len(list)-1]
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
