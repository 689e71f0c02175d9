// Package proxy is pent's network containment: a domain allowlist, a DNS server
// that answers only allowed names (with synthetic addresses that bind later
// connections to a name), a TCP relay that decides every connection by name
// (synthetic address, TLS SNI, HTTP Host, CONNECT, SOCKS5), the per-project
// daemon that serves sandbox sessions over a UNIX socket, and, on Linux, the
// in-netns capture that sends every TCP connection and DNS query to it.
package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Allowlist decides whether a domain name and port may be reached. The zero
// value allows nothing. Build one with ParseAllowlist.
//
// Port semantics: an entry without a port allows every port of the names it
// matches; an entry with ":PORT" allows only that port. Several entries for the
// same pattern add up ("github.com:22" plus "github.com:443" allows both), and a
// port-less entry for a pattern makes any port entry for it redundant. The port
// is a restriction you opt into (§6: "ports may be restricted per entry"), so a
// plain domain keeps working for clients on non-standard ports (local test
// servers, registries on 8443); the name, not the port, is the boundary.
type Allowlist struct {
	rules []rule
}

type matchKind int

const (
	matchExact matchKind = iota // registry.npmjs.org
	matchOne                    // *.npmjs.org: exactly one extra label
	matchAny                    // **.example.com: one or more extra labels
)

type rule struct {
	kind   matchKind
	suffix string // the name without the wildcard, lower-case, no trailing dot
	port   int    // 0: any port
	entry  string // the entry as written, for String
}

// ParseAllowlist compiles entries of the form NAME, *.NAME, **.NAME, each with
// an optional :PORT. Names are case-insensitive, a trailing dot is ignored, and
// only ASCII (punycode "xn--" labels for internationalised names) is accepted.
// IP addresses are not names: an entry that is one is an error.
func ParseAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, e := range entries {
		r, err := parseRule(e)
		if err != nil {
			return nil, fmt.Errorf("proxy: allowlist entry %q: %w", e, err)
		}
		a.rules = append(a.rules, r)
	}
	return a, nil
}

func parseRule(entry string) (rule, error) {
	r := rule{entry: entry}
	host := strings.TrimSpace(entry)
	if host != entry || host == "" {
		return r, fmt.Errorf("empty or padded with spaces")
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		p, err := strconv.Atoi(host[i+1:])
		if err != nil || p < 1 || p > 65535 || host[i+1] == '+' || host[i+1] == '0' {
			return r, fmt.Errorf("port must be a number from 1 to 65535")
		}
		r.port = p
		host = host[:i]
	}
	switch {
	case strings.HasPrefix(host, "**."):
		r.kind, host = matchAny, host[3:]
	case strings.HasPrefix(host, "*."):
		r.kind, host = matchOne, host[2:]
	}
	name, err := CanonicalName(host)
	if err != nil {
		return r, err
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return r, fmt.Errorf("is an IP address; list domain names (use [proxy] destinations for address ranges)")
	}
	r.suffix = name
	return r, nil
}

// CanonicalName validates a DNS name and returns it lower-case without a
// trailing dot. Labels are 1–63 characters of letters, digits, '-' and '_';
// the whole name is at most 253 characters. Non-ASCII names are rejected: use
// their punycode (xn--) form.
func CanonicalName(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", fmt.Errorf("empty name")
	}
	if len(name) > 253 {
		return "", fmt.Errorf("name longer than 253 characters")
	}
	b := []byte(name)
	labelLen := 0
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if labelLen == 0 {
				return "", fmt.Errorf("empty label in %q", name)
			}
			labelLen = 0
			continue
		case c >= 0x80:
			return "", fmt.Errorf("non-ASCII name %q: write it in punycode (xn--…)", name)
		default:
			return "", fmt.Errorf("invalid character %q in name", c)
		}
		labelLen++
		if labelLen > 63 {
			return "", fmt.Errorf("label longer than 63 characters in %q", name)
		}
	}
	if labelLen == 0 {
		return "", fmt.Errorf("empty label in %q", name)
	}
	return string(b), nil
}

// Allows reports whether name may be reached on port. A name that is not a
// valid DNS name (or is an IP address) is never allowed.
func (a *Allowlist) Allows(name string, port int) bool {
	if a == nil || port < 1 || port > 65535 {
		return false
	}
	n, err := CanonicalName(name)
	if err != nil {
		return false
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return false
	}
	for _, r := range a.rules {
		if (r.port == 0 || r.port == port) && r.matches(n) {
			return true
		}
	}
	return false
}

// AllowsName reports whether name is allowed on at least one port; the DNS
// server answers such names.
func (a *Allowlist) AllowsName(name string) bool {
	if a == nil {
		return false
	}
	n, err := CanonicalName(name)
	if err != nil {
		return false
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return false
	}
	for _, r := range a.rules {
		if r.matches(n) {
			return true
		}
	}
	return false
}

func (r rule) matches(name string) bool {
	if r.kind == matchExact {
		return name == r.suffix
	}
	prefix, ok := strings.CutSuffix(name, "."+r.suffix)
	if !ok || prefix == "" {
		return false
	}
	return r.kind == matchAny || !strings.Contains(prefix, ".")
}

// Entries returns the entries the allowlist was built from, in order.
func (a *Allowlist) Entries() []string {
	if a == nil {
		return nil
	}
	out := make([]string, len(a.rules))
	for i, r := range a.rules {
		out[i] = r.entry
	}
	return out
}
