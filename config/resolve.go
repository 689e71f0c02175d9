package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/scope"
)

// Expand holds what paths expand against: ~ and $HOME become Home; relative
// paths are joined to ProjectRoot, or to Cwd when there is no project. All
// three are absolute or "".
type Expand struct {
	Home, ProjectRoot, Cwd string
}

// Effective is the policy that the layers add up to. Every value is checked
// and canonical: paths absolute and clean, domains lower case, ranges and
// resolvers in canonical form; every list is de-duplicated and keeps the
// order in which the layers (profiles first) gave it.
//
// It holds only what configuration grants. The base policy of SPEC §4
// (system paths, the project root, /dev nodes, a private /tmp) is added by
// whoever builds the sandbox.Policy.
type Effective struct {
	// Network is the network mode.
	Network scope.Network
	// NetworkSource names the layer that set Network, or "default".
	NetworkSource string
	// Profiles are the profile names the layers list, canonical, not expanded.
	Profiles []string
	// Expanded are Profiles with everything they require, requirements first.
	Expanded []string
	// Domains is the proxy allowlist: the profiles' domains, then the layers'.
	Domains []string
	// Paths are the profiles' paths, then the layers'.
	Paths Paths
	// Env are KEY or KEY=VALUE entries, one per KEY; a later one replaces an
	// earlier one in place.
	Env []string
	// Wrap lists the commands the shell hook wraps.
	Wrap []string
	// Protect are the project entries protected beside the built-in ones,
	// relative to the project root and clean.
	Protect []string
	// UpstreamDNS are IP:port resolvers; empty means the host's.
	UpstreamDNS []string
	// Destinations are the private or loopback ranges allowed names may
	// resolve to.
	Destinations []string
	// Own is what the layers grant themselves, without their profiles: what
	// `pent config show` prints beside the profile names.
	Own Grant
}

// Grant is a set of domains, paths and environment entries.
type Grant struct {
	Domains []string
	Paths   Paths
	Env     []string
}

// Resolve layers the files over pent's built-in defaults, in order; nil
// layers are skipped. Lists merge and de-duplicate, and a scalar set by a
// later layer wins. When no layer sets the network, it is proxy if the
// allowlist is not empty and blocked otherwise. User profiles from every
// layer are known to every layer. Every value is checked again, so layers
// built in code (flags) get the same checks as parsed files.
func Resolve(layers []*File, x Expand) (*Effective, error) {
	user := map[string]profiles.Profile{}
	for _, l := range layers {
		if l != nil {
			maps.Copy(user, l.UserProfiles)
		}
	}
	e := &Effective{NetworkSource: "default"}
	for _, l := range layers {
		if l == nil {
			continue
		}
		if err := e.addLayer(l, user, x); err != nil {
			return nil, err
		}
	}
	expanded, err := profiles.Expand(e.Profiles, user)
	if err != nil {
		return nil, &Error{Key: "profiles", Msg: err.Error()}
	}
	var fromProfiles Grant
	for _, p := range expanded {
		e.Expanded = append(e.Expanded, p.Name)
		src := source{file: "profile " + p.Name, domains: "domains", env: "env"}
		g := Grant{Domains: p.Domains, Env: p.Env, Paths: Paths{
			Traversal: p.Traversal, Read: p.Read, Execute: p.Execute, ReadWrite: p.ReadWrite,
		}}
		if err := fromProfiles.add(g, src, x, false); err != nil {
			return nil, err
		}
	}
	all := fromProfiles
	if err := all.add(e.Own, source{}, Expand{}, false); err != nil {
		return nil, err
	}
	e.Domains, e.Paths, e.Env = all.Domains, all.Paths, all.Env
	if e.NetworkSource == "default" {
		e.Network = scope.NetBlocked
		if len(e.Domains) > 0 {
			e.Network = scope.NetProxy
		}
	}
	return e, nil
}

// addLayer merges one layer into e.
func (e *Effective) addLayer(l *File, user map[string]profiles.Profile, x Expand) error {
	if err := checkRefs(l.Path, profileRefs(l), user); err != nil {
		return err
	}
	for _, name := range l.Profiles {
		canon, _ := profiles.Normalize(name) // checkRefs accepted it
		e.Profiles = appendNew(e.Profiles, canon)
	}
	if l.Network != "" {
		n, err := ParseNetwork(l.Network)
		if err != nil {
			return at(l.Path, Pos{}, "sandbox.network", err)
		}
		e.Network, e.NetworkSource = n, l.Path
	}
	checkCmd := func(s string) (string, error) { return s, checkCommand(s) }
	src := source{file: l.Path, domains: "proxy.domain_allowlist", paths: "sandbox.paths.", env: "sandbox.env"}
	for _, list := range []struct {
		dst  *[]string
		vals []string
		norm func(string) (string, error)
		key  string
	}{
		{&e.Wrap, l.Wrap, checkCmd, "wrap"},
		{&e.Protect, l.Protect, NormalizeProtect, "sandbox.protect"},
		{&e.UpstreamDNS, l.UpstreamDNS, NormalizeUpstream, "proxy.upstream_dns"},
		{&e.Destinations, l.Destinations, NormalizeDestination, "proxy.destinations"},
	} {
		if err := addNormalized(list.dst, list.vals, list.norm, l.Path, list.key); err != nil {
			return err
		}
	}
	g := Grant{Domains: l.DomainAllowlist, Paths: l.Paths, Env: l.Env}
	return e.Own.add(g, src, x, true)
}

// source says where a Grant came from, for messages: the layer or profile
// and the keys its parts are written under.
type source struct {
	file, domains, paths, env string
}

// add checks, normalizes and merges g into the receiver. Paths are expanded
// with x; relative ones only where relativeOK.
func (dst *Grant) add(g Grant, src source, x Expand, relativeOK bool) error {
	if err := addNormalized(&dst.Domains, g.Domains, NormalizeDomain, src.file, src.domains); err != nil {
		return err
	}
	expand := func(p string) (string, error) { return expandPath(p, x, relativeOK) }
	for _, l := range pathLists(&dst.Paths, g.Paths) {
		if err := addNormalized(l.dst, l.src, expand, src.file, src.paths+l.key); err != nil {
			return err
		}
	}
	for _, entry := range g.Env {
		if err := checkEnv(entry); err != nil {
			return at(src.file, Pos{}, src.env, err)
		}
		dst.Env = setEnv(dst.Env, entry)
	}
	return nil
}

// pathList pairs a list of paths in dst with the same list in src.
type pathList struct {
	key       string
	dst       *[]string
	src       []string
	coveredBy []*[]string
}

// pathLists pairs the lists of dst and src by access level. coveredBy names
// the lists of dst whose paths grant this list's access to themselves and
// everything under them (traversal is not recursive, so it covers nothing
// beyond its own entries).
func pathLists(dst *Paths, src Paths) []pathList {
	return []pathList{
		{"traversal", &dst.Traversal, src.Traversal, []*[]string{&dst.Read, &dst.Execute, &dst.ReadWrite}},
		{"read", &dst.Read, src.Read, []*[]string{&dst.Read, &dst.Execute, &dst.ReadWrite}},
		{"execute", &dst.Execute, src.Execute, []*[]string{&dst.Execute}},
		{"read_write", &dst.ReadWrite, src.ReadWrite, []*[]string{&dst.ReadWrite}},
	}
}

// addNormalized normalizes each value and appends those not yet in dst.
func addNormalized(dst *[]string, vals []string, norm func(string) (string, error), file, key string) error {
	for _, v := range vals {
		n, err := norm(v)
		if err != nil {
			return at(file, Pos{}, key, err)
		}
		*dst = appendNew(*dst, n)
	}
	return nil
}

// appendNew appends the values of vals that list does not hold yet.
func appendNew(list []string, vals ...string) []string {
	for _, v := range vals {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// setEnv adds entry to env, replacing an entry for the same key in place.
func setEnv(env []string, entry string) []string {
	key := envKey(entry)
	for i, old := range env {
		if envKey(old) == key {
			env[i] = entry
			return env
		}
	}
	return append(env, entry)
}

func envKey(entry string) string {
	key, _, _ := strings.Cut(entry, "=")
	return key
}
