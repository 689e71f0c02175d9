package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/pent-sandbox/pent/profiles"
)

// Parse checks data, the content of the config file at path, against the
// schema for its kind and returns its values. Every problem is an *Error with
// the line and column of the offending key or value. In a Global file,
// profile names are checked against the built-in and the file's own user
// profiles; in other kinds that waits for Resolve, which knows the global
// file's user profiles.
func Parse(path string, data []byte, kind Kind) (*File, error) {
	// go-toml's decoder catches everything that is not valid TOML (syntax,
	// duplicate keys, redefined tables) with an exact position; the schema
	// walk below can then assume a well-formed document.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, tomlError(path, err)
	}
	ps := &parser{
		kind:      kind,
		f:         &File{Path: path, refs: map[string]Pos{}},
		user:      map[string]*profiles.Profile{},
		lineStart: lineStarts(data),
	}
	if err := ps.walk(data); err != nil {
		return nil, err
	}
	if len(ps.user) > 0 {
		ps.f.UserProfiles = map[string]profiles.Profile{}
		for name, p := range ps.user {
			ps.f.UserProfiles[name] = *p
		}
	}
	if kind == Global {
		refs := append(profileRefs(ps.f), ps.userRefs...)
		if err := checkRefs(path, refs, ps.f.UserProfiles); err != nil {
			return nil, err
		}
	}
	return ps.f, nil
}

// tomlError turns a go-toml error into an *Error.
func tomlError(path string, err error) *Error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &Error{File: path, Msg: err.Error()}
	}
	line, col := de.Position()
	return &Error{
		File: path, Line: line, Col: col,
		Key: strings.Join(de.Key(), "."),
		Msg: strings.TrimPrefix(de.Error(), "toml: "),
	}
}

// parser is the state of one schema walk.
type parser struct {
	kind      Kind
	f         *File
	user      map[string]*profiles.Profile // [profile.NAME] tables by canonical name
	userRefs  []ref                        // profile names in requires lists
	lineStart []int                        // byte offset of each line's start
	toml      unstable.Parser
}

// ref is a profile name written somewhere in the file.
type ref struct {
	name, key string
	pos       Pos
}

// seg is one part of a dotted key, with where it was written.
type seg struct {
	name string
	pos  Pos
}

// strVal is a string value with where it was written.
type strVal struct {
	s   string
	pos Pos
}

// walk visits every top-level expression of the document.
func (ps *parser) walk(data []byte) error {
	ps.toml.Reset(data)
	var table []seg
	for ps.toml.NextExpression() {
		e := ps.toml.Expression()
		switch e.Kind {
		case unstable.Table:
			table = ps.keySegs(e.Key())
			if err := ps.enterTable(table); err != nil {
				return err
			}
		case unstable.ArrayTable:
			segs := ps.keySegs(e.Key())
			return ps.errorAt(segs[0].pos, joinKey(segs), "arrays of tables ([[…]]) are not part of the config")
		case unstable.KeyValue:
			if err := ps.assign(slices.Concat(table, ps.keySegs(e.Key())), e.Value()); err != nil {
				return err
			}
		}
	}
	if err := ps.toml.Error(); err != nil {
		return &Error{File: ps.f.Path, Msg: err.Error()}
	}
	return nil
}

// enterTable checks a [table] header.
func (ps *parser) enterTable(path []seg) error {
	fld, err := ps.lookup(path)
	if err != nil {
		return err
	}
	if !fld.isTable() {
		last := path[len(path)-1]
		return ps.errorAt(last.pos, joinKey(path), fmt.Sprintf("is %s, not a table", fld.want()))
	}
	return nil
}

// assign checks and stores the value v written for the key path.
func (ps *parser) assign(path []seg, v *unstable.Node) error {
	fld, err := ps.lookup(path)
	if err != nil {
		return err
	}
	key, keyPos := joinKey(path), path[len(path)-1].pos
	if v.Kind == unstable.InlineTable {
		if !fld.isTable() {
			return ps.errorAt(ps.nodePos(v, keyPos), key, fmt.Sprintf("expected %s, got a table", fld.want()))
		}
		it := v.Children()
		for it.Next() {
			kv := it.Node()
			if kv.Kind != unstable.KeyValue {
				continue
			}
			if err := ps.assign(slices.Concat(path, ps.keySegs(kv.Key())), kv.Value()); err != nil {
				return err
			}
		}
		return nil
	}
	if fld.set == nil {
		return ps.errorAt(ps.nodePos(v, keyPos), key, fmt.Sprintf("expected a table, got %s", kindName(v.Kind)))
	}
	vals, err := ps.stringValues(fld, key, keyPos, v)
	if err != nil {
		return err
	}
	return fld.set(ps, path, vals)
}

// stringValues returns the string or strings of v, as fld wants them.
func (ps *parser) stringValues(fld *field, key string, keyPos Pos, v *unstable.Node) ([]strVal, error) {
	if !fld.list {
		if v.Kind != unstable.String {
			return nil, ps.errorAt(ps.nodePos(v, keyPos), key, "expected a string, got "+kindName(v.Kind))
		}
		return []strVal{{string(v.Data), ps.nodePos(v, keyPos)}}, nil
	}
	if v.Kind != unstable.Array {
		return nil, ps.errorAt(ps.nodePos(v, keyPos), key, "expected a list of strings, got "+kindName(v.Kind))
	}
	var vals []strVal
	it := v.Children()
	for it.Next() {
		el := it.Node()
		switch el.Kind {
		case unstable.Comment:
		case unstable.String:
			vals = append(vals, strVal{string(el.Data), ps.nodePos(el, keyPos)})
		default:
			return nil, ps.errorAt(ps.nodePos(el, keyPos), key, "expected a list of strings, found "+kindName(el.Kind))
		}
	}
	return vals, nil
}

// lookup walks the schema along path and returns the field it names, calling
// the open hooks of the fields it passes.
func (ps *parser) lookup(path []seg) (*field, error) {
	fld := root
	for i, s := range path {
		if !fld.isTable() {
			return nil, ps.errorAt(s.pos, joinKey(path[:i+1]),
				fmt.Sprintf("%s is %s, not a table", joinKey(path[:i]), fld.want()))
		}
		next := fld.child(s.name)
		if next == nil {
			e := ps.errorAt(s.pos, joinKey(path[:i+1]), "unknown key")
			if full := findKey(root, s.name, ""); full != "" {
				e.Msg = "not a key here; " + belongs(full)
			} else {
				e.Hint = suggestKey(fld, s.name)
			}
			return nil, e
		}
		if next.open != nil {
			if err := next.open(ps, path[:i+1]); err != nil {
				return nil, err
			}
		}
		fld = next
	}
	return fld, nil
}

// checkRefs checks profile references: first that every name exists, then
// that each expands without a requirement cycle, so that an unknown name is
// reported where it is written.
func checkRefs(file string, refs []ref, user map[string]profiles.Profile) error {
	for _, r := range refs {
		if _, err := profiles.Find(r.name, user); err != nil {
			e := at(file, r.pos, r.key, err)
			var ue *profiles.UnknownError
			if errors.As(err, &ue) {
				e.Msg, e.Hint = "unknown profile "+strconv.Quote(ue.Name), ue.Suggestion
			}
			return e
		}
	}
	for _, r := range refs {
		if _, err := profiles.Expand([]string{r.name}, user); err != nil {
			return at(file, r.pos, r.key, err)
		}
	}
	return nil
}

// profileRefs returns the profile names f lists, with where it lists them
// when f was parsed.
func profileRefs(f *File) []ref {
	refs := make([]ref, len(f.Profiles))
	for i, name := range f.Profiles {
		refs[i] = ref{name: name, key: "profiles", pos: f.refs[name]}
	}
	return refs
}

// keySegs returns the parts of a (possibly dotted) key.
func (ps *parser) keySegs(it unstable.Iterator) []seg {
	var segs []seg
	for it.Next() {
		k := it.Node()
		segs = append(segs, seg{name: string(k.Data), pos: ps.offsetPos(int(k.Raw.Offset))})
	}
	return segs
}

// nodePos is where node v starts; for a node without bytes of its own (an
// empty array) it is fallback.
func (ps *parser) nodePos(v *unstable.Node, fallback Pos) Pos {
	if v.Raw.Length > 0 {
		return ps.offsetPos(int(v.Raw.Offset))
	}
	if c := v.Child(); c != nil {
		return ps.nodePos(c, fallback)
	}
	return fallback
}

// lineStarts returns the byte offset at which each line of data starts.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offsetPos converts a byte offset to a line and column.
func (ps *parser) offsetPos(off int) Pos {
	line := sort.SearchInts(ps.lineStart, off+1) - 1
	return Pos{Line: line + 1, Col: off - ps.lineStart[line] + 1}
}

// errorAt builds an *Error in this file.
func (ps *parser) errorAt(pos Pos, key, msg string) *Error {
	return &Error{File: ps.f.Path, Line: pos.Line, Col: pos.Col, Key: key, Msg: msg}
}

// check builds an *Error from a value problem at v.
func (ps *parser) check(key string, v strVal, err error) error {
	if err == nil {
		return nil
	}
	return at(ps.f.Path, v.pos, key, err)
}

// joinKey writes a key path as TOML would, quoting parts that are not bare keys.
func joinKey(path []seg) string {
	parts := make([]string, len(path))
	for i, s := range path {
		parts[i] = s.name
		if s.name == "" || strings.IndexFunc(s.name, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			parts[i] = strconv.Quote(s.name)
		}
	}
	return strings.Join(parts, ".")
}

// kindName names a TOML value kind for messages.
func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Array:
		return "a list"
	case unstable.InlineTable:
		return "a table"
	case unstable.Bool:
		return "a boolean"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a number"
	default:
		return "a date or time"
	}
}
