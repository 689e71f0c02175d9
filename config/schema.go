package config

import (
	"fmt"
	"strings"

	"github.com/pent-sandbox/pent/profiles"
)

// field is a node of the config schema. A table has children (and, for
// [profile.NAME], any, which matches every other key); a leaf has set. One
// field, sandbox.network, is both: a string or the seed's table with mode.
type field struct {
	name     string
	children []*field
	any      *field
	// open runs whenever a key path passes through the field.
	open func(ps *parser, path []seg) error
	// list says whether the leaf takes a list of strings or one string.
	list bool
	// set checks and stores the leaf's value(s) written at path.
	set func(ps *parser, path []seg, vals []strVal) error
}

func (f *field) isTable() bool { return f.children != nil || f.any != nil }

// child returns the field for key name, or nil.
func (f *field) child(name string) *field {
	for _, c := range f.children {
		if c.name == name {
			return c
		}
	}
	return f.any
}

// want describes the value the field takes.
func (f *field) want() string {
	switch {
	case f.set == nil:
		return "a table"
	case f.list:
		return "a list of strings"
	default:
		return "a string"
	}
}

// root is the schema of a config file (SPEC §3).
var root = table("",
	list("profiles", setProfiles),
	list("wrap", setWrap),
	table("sandbox",
		withTable(str("network", setNetwork), str("mode", setNetwork)),
		list("env", appendChecked(checkEnv, inFile(func(f *File) *[]string { return &f.Env }))),
		list("protect", appendChecked(checkProtect, inFile(func(f *File) *[]string { return &f.Protect }))),
		table("paths",
			pathField("traversal", func(p *Paths) *[]string { return &p.Traversal }),
			pathField("read", func(p *Paths) *[]string { return &p.Read }),
			pathField("execute", func(p *Paths) *[]string { return &p.Execute }),
			pathField("read_write", func(p *Paths) *[]string { return &p.ReadWrite }),
			// write is the seed's name for read_write.
			pathField("write", func(p *Paths) *[]string { return &p.ReadWrite }),
		),
	),
	table("proxy",
		list("domain_allowlist", appendChecked(discard(NormalizeDomain), inFile(func(f *File) *[]string { return &f.DomainAllowlist }))),
		list("upstream_dns", appendChecked(discard(NormalizeUpstream), inFile(func(f *File) *[]string { return &f.UpstreamDNS }))),
		list("destinations", appendChecked(discard(NormalizeDestination), inFile(func(f *File) *[]string { return &f.Destinations }))),
	),
	&field{name: "profile", any: &field{
		open: openProfile,
		children: []*field{
			str("summary", func(ps *parser, path []seg, v []strVal) error {
				ps.userProfile(path).Summary = v[0].s
				return nil
			}),
			list("requires", setRequires),
			list("domains", appendChecked(discard(NormalizeDomain), inProfile(func(p *profiles.Profile) *[]string { return &p.Domains }))),
			list("read", appendChecked(checkAbsPath, inProfile(func(p *profiles.Profile) *[]string { return &p.Read }))),
			list("execute", appendChecked(checkAbsPath, inProfile(func(p *profiles.Profile) *[]string { return &p.Execute }))),
			list("read_write", appendChecked(checkAbsPath, inProfile(func(p *profiles.Profile) *[]string { return &p.ReadWrite }))),
			list("traversal", appendChecked(checkAbsPath, inProfile(func(p *profiles.Profile) *[]string { return &p.Traversal }))),
			list("env", appendChecked(checkEnv, inProfile(func(p *profiles.Profile) *[]string { return &p.Env }))),
		},
	}},
)

func table(name string, children ...*field) *field {
	return &field{name: name, children: children}
}

func list(name string, set func(*parser, []seg, []strVal) error) *field {
	return &field{name: name, list: true, set: set}
}

func str(name string, set func(*parser, []seg, []strVal) error) *field {
	return &field{name: name, set: set}
}

// withTable makes leaf f also a table with the given children.
func withTable(f *field, children ...*field) *field {
	f.children = children
	return f
}

// discard adapts a normalizing check to a plain check: the file keeps values
// as written and Resolve normalizes them.
func discard(normalize func(string) (string, error)) func(string) error {
	return func(s string) error {
		_, err := normalize(s)
		return err
	}
}

func checkRelPath(p string) error { return checkPath(p, true) }
func checkAbsPath(p string) error { return checkPath(p, false) }

// target selects the list a setter appends to, given the key path.
type target func(ps *parser, path []seg) *[]string

// inFile targets a list of the File.
func inFile(sel func(*File) *[]string) target {
	return func(ps *parser, _ []seg) *[]string { return sel(ps.f) }
}

// inProfile targets a list of the user profile whose table holds the key.
func inProfile(sel func(*profiles.Profile) *[]string) target {
	return func(ps *parser, path []seg) *[]string { return sel(ps.userProfile(path)) }
}

// appendChecked returns a setter that checks each value and appends it to the
// list dst selects.
func appendChecked(check func(string) error, dst target) func(*parser, []seg, []strVal) error {
	return func(ps *parser, path []seg, vals []strVal) error {
		list := dst(ps, path)
		for _, v := range vals {
			if err := ps.check(joinKey(path), v, check(v.s)); err != nil {
				return err
			}
			*list = append(*list, v.s)
		}
		return nil
	}
}

// pathField is a [sandbox.paths] list field.
func pathField(name string, sel func(*Paths) *[]string) *field {
	return list(name, appendChecked(checkRelPath, inFile(func(f *File) *[]string { return sel(&f.Paths) })))
}

func setProfiles(ps *parser, path []seg, vals []strVal) error {
	for _, v := range vals {
		name, err := profileName(v.s)
		if err != nil {
			return ps.check(joinKey(path), v, err)
		}
		if _, dup := ps.f.refs[name]; dup {
			continue
		}
		ps.f.refs[name] = v.pos
		ps.f.Profiles = append(ps.f.Profiles, name)
	}
	return nil
}

func setWrap(ps *parser, path []seg, vals []strVal) error {
	if ps.kind != Project {
		return ps.errorAt(path[len(path)-1].pos, joinKey(path), "only a project's .pent.toml may wrap commands, not the "+ps.kind.String())
	}
	return appendChecked(checkCommand, inFile(func(f *File) *[]string { return &f.Wrap }))(ps, path, vals)
}

func setNetwork(ps *parser, path []seg, vals []strVal) error {
	n, err := ParseNetwork(vals[0].s)
	if err != nil {
		return ps.check(joinKey(path), vals[0], err)
	}
	ps.f.Network = string(n)
	return nil
}

func setRequires(ps *parser, path []seg, vals []strVal) error {
	p := ps.userProfile(path)
	for _, v := range vals {
		name, err := profileName(v.s)
		if err != nil {
			return ps.check(joinKey(path), v, err)
		}
		p.Requires = append(p.Requires, name)
		ps.userRefs = append(ps.userRefs, ref{name: name, key: joinKey(path), pos: v.pos})
	}
	return nil
}

// openProfile starts (or continues) a [profile.NAME] table.
func openProfile(ps *parser, path []seg) error {
	s := path[len(path)-1]
	key := joinKey(path)
	if ps.kind != Global {
		return ps.errorAt(s.pos, key, "user profiles may only be defined in the global config, not the "+ps.kind.String())
	}
	name, err := profileName(s.name)
	if err != nil {
		return at(ps.f.Path, s.pos, key, err)
	}
	if _, builtin := profiles.Lookup(name); builtin {
		return ps.errorAt(s.pos, key, name+" is a built-in profile; give yours another name")
	}
	if ps.user[name] == nil {
		ps.user[name] = &profiles.Profile{Name: name}
	}
	return nil
}

// userProfile returns the profile whose table path is in (profile.NAME.…);
// openProfile has created it.
func (ps *parser) userProfile(path []seg) *profiles.Profile {
	name, _ := profiles.Normalize(path[1].name)
	return ps.user[name]
}

// profileName canonicalizes a profile name, suggesting a valid spelling.
func profileName(s string) (string, error) {
	name, err := profiles.Normalize(s)
	if err != nil {
		lower := "@" + strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "@")
		return "", &problem{msg: err.Error(), hint: profiles.Suggest(lower, profiles.Names())}
	}
	return name, nil
}

// suggestKey proposes a key for an unknown key name in table t: a close
// sibling. (A key that exists elsewhere is told where it belongs instead.)
func suggestKey(t *field, name string) string {
	names := make([]string, len(t.children))
	for i, c := range t.children {
		names[i] = c.name
	}
	return profiles.Suggest(name, names)
}

// belongs says where the key at dotted path full is written.
func belongs(full string) string {
	i := strings.LastIndexByte(full, '.')
	if i < 0 {
		return "it belongs at the top level of the file, before any [table]"
	}
	return fmt.Sprintf("it belongs in the [%s] table", full[:i])
}

// findKey returns the dotted path of the first field called name under t.
func findKey(t *field, name, prefix string) string {
	for _, c := range t.children {
		full := strings.TrimPrefix(prefix+"."+c.name, ".")
		if c.name == name {
			return full
		}
		if found := findKey(c, name, full); found != "" {
			return found
		}
	}
	return ""
}
