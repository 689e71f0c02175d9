package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/termtext"
)

// shown is the document `pent config show` prints: the schema of SPEC §3 with
// the effective values, profiles by name.
type shown struct {
	Profiles []string     `toml:"profiles" json:"profiles"`
	Wrap     []string     `toml:"wrap,omitempty" json:"wrap,omitempty"`
	Sandbox  shownSandbox `toml:"sandbox" json:"sandbox"`
	Proxy    shownProxy   `toml:"proxy,omitempty" json:"proxy"`
}

type shownSandbox struct {
	Network string   `toml:"network" json:"network"`
	Env     []string `toml:"env,omitempty" json:"env,omitempty"`
	Protect []string `toml:"protect,omitempty" json:"protect,omitempty"`
	Paths   Paths    `toml:"paths,omitempty" json:"paths"`
}

type shownProxy struct {
	DomainAllowlist []string `toml:"domain_allowlist,omitempty" json:"domain_allowlist,omitempty"`
	UpstreamDNS     []string `toml:"upstream_dns,omitempty" json:"upstream_dns,omitempty"`
	Destinations    []string `toml:"destinations,omitempty" json:"destinations,omitempty"`
}

// Show renders e for `pent config show` as "toml" or "json": the profiles by
// name (not expanded), the effective network, and what the layers grant
// themselves, with paths expanded. The TOML form parses as a project file.
func Show(e *Effective, format string) ([]byte, error) {
	doc := shown{
		Profiles: e.Profiles,
		Wrap:     e.Wrap,
		Sandbox:  shownSandbox{Network: string(e.Network), Env: e.Own.Env, Protect: e.Protect, Paths: e.Own.Paths},
		Proxy: shownProxy{
			DomainAllowlist: e.Own.Domains, UpstreamDNS: e.UpstreamDNS, Destinations: e.Destinations,
		},
	}
	if doc.Profiles == nil {
		doc.Profiles = []string{}
	}
	switch format {
	case "toml":
		var b bytes.Buffer
		enc := toml.NewEncoder(&b)
		enc.SetArraysMultiline(false)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("encode config as TOML: %w", err)
		}
		return b.Bytes(), nil
	case "json":
		out, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode config as JSON: %w", err)
		}
		return append(termtext.JSON(out), '\n'), nil
	}
	return nil, fmt.Errorf("unknown format %q: want toml or json", format)
}

// Grants lists, one line each, what with grants beyond base: for `pent allow`,
// base is Resolve(global) and with is Resolve(global + project). A path or
// domain counts only when base does not already cover it (a path under a
// base path with at least the same access, a name a base pattern matches).
// Lines look like "read_write: /home/u/.npm" or "network: proxy (instead of
// blocked)". No lines means nothing beyond base. Against a nil base, Grants
// lists everything with grants (for `pent status`). A read_write path that is,
// or lies inside, one of the host-executed locations in hostExec is marked as
// a widening with the reason: what the sandbox writes there runs or is
// trusted outside it (SPEC §13). So is one above a location that does not
// exist yet, which the sandbox could create; existing ones beneath a grant
// stay read-only in the sandbox.
func Grants(base, with *Effective, hostExec []scope.HostExecuted) []string {
	if base == nil {
		base = &Effective{}
	}
	var lines []string
	add := func(label string, vals ...string) {
		for _, v := range vals {
			lines = append(lines, label+": "+v)
		}
	}
	switch {
	case base.Network == "":
		add("network", string(with.Network))
	case with.Network != base.Network:
		add("network", fmt.Sprintf("%s (instead of %s)", with.Network, base.Network))
	}
	add("profile", missing(with.Profiles, base.Profiles)...)
	for _, d := range with.Domains {
		if !slices.ContainsFunc(base.Domains, func(b string) bool { return domainCovers(b, d) }) {
			add("domain", d)
		}
	}
	basePaths := base.Paths
	for _, l := range pathLists(&basePaths, with.Paths) {
		for _, p := range l.src {
			if slices.Contains(*l.dst, p) || pathCovered(p, l.coveredBy) {
				continue
			}
			if l.key == "read_write" {
				p += hostExecWidening(p, hostExec)
			}
			add(l.key, p)
		}
	}
	add("env", missing(with.Env, base.Env)...)
	add("wrap", missing(with.Wrap, base.Wrap)...)
	add("upstream_dns", missing(with.UpstreamDNS, base.UpstreamDNS)...)
	add("destination", missing(with.Destinations, base.Destinations)...)
	return lines
}

// hostExecWidening is the note Grants adds to a read_write grant of path:
// empty unless the sandbox could write a host-executed location through it.
func hostExecWidening(path string, hostExec []scope.HostExecuted) string {
	if h, ok := scope.HostExecutedIn(path, hostExec); ok {
		return fmt.Sprintf(" — widening: what the sandbox writes to %s runs or is trusted on the host (%s)", h.Path, h.Why)
	}
	for _, h := range scope.HostExecutedBeneath(path, hostExec) {
		if _, err := os.Lstat(h.Path); err != nil {
			return fmt.Sprintf(" — widening: the sandbox could create %s, which does not exist yet (%s)", h.Path, h.Why)
		}
	}
	return ""
}

// GrantChanges compares two Grants lists (the version last trusted and the
// new one): added lines widen what the project grants, removed lines narrow
// it.
func GrantChanges(before, after []string) (added, removed []string) {
	return missing(after, before), missing(before, after)
}

// missing returns the values of vals that are not in base.
func missing(vals, base []string) []string {
	var out []string
	for _, v := range vals {
		if !slices.Contains(base, v) {
			out = append(out, v)
		}
	}
	return out
}

// pathCovered reports whether p is one of, or under one of, the paths in lists.
func pathCovered(p string, lists []*[]string) bool {
	for _, l := range lists {
		for _, q := range *l {
			if p == q || strings.HasPrefix(p, strings.TrimSuffix(q, "/")+"/") {
				return true
			}
		}
	}
	return false
}

// domainCovers reports whether every name and port allowlist entry p allows
// is also allowed by entry q. Both are canonical (NormalizeDomain). It
// answers false when unsure, so Grants may over-report but never hides a grant.
func domainCovers(q, p string) bool {
	qName, qPort, _ := strings.Cut(q, ":")
	pName, pPort, _ := strings.Cut(p, ":")
	if qPort != "" && qPort != pPort {
		return false
	}
	if qName == pName {
		return true
	}
	// pSuffix is what every name p allows ends with; pExact whether p is one name.
	pExact := !strings.HasPrefix(pName, "*")
	pSuffix := "." + strings.TrimLeft(pName, "*.")
	if pExact {
		pSuffix = pName
	}
	switch {
	case strings.HasPrefix(qName, "**."):
		return strings.HasSuffix(pSuffix, qName[2:])
	case strings.HasPrefix(qName, "*."):
		label, found := strings.CutSuffix(pName, qName[1:])
		return pExact && found && label != "" && !strings.Contains(label, ".")
	}
	return false
}
