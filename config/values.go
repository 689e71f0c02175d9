package config

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/scope"
)

// networkNames maps every accepted spelling of a network mode to its value:
// pent's names and the seed's.
var networkNames = map[string]scope.Network{
	"unrestricted":   scope.NetUnrestricted,
	"localhost":      scope.NetLocalhost,
	"localhost_only": scope.NetLocalhost,
	"proxy":          scope.NetProxy,
	"proxy_only":     scope.NetProxy,
	"blocked":        scope.NetBlocked,
}

// ParseNetwork returns the network mode s names. It accepts pent's names
// (unrestricted, localhost, proxy, blocked) and the seed's proxy_only and
// localhost_only.
func ParseNetwork(s string) (scope.Network, error) {
	if n, ok := networkNames[s]; ok {
		return n, nil
	}
	valid := make([]string, len(scope.Networks))
	for i, n := range scope.Networks {
		valid[i] = string(n)
	}
	return "", &problem{
		msg:  "unknown network mode " + strconv.Quote(s) + ", want one of " + strings.Join(valid, ", "),
		hint: profiles.Suggest(strings.ToLower(s), valid),
	}
}

// NormalizeDomain checks an allowlist entry and returns its canonical form
// (lower case). Entries are an exact name ("example.com"), a one-label
// wildcard ("*.example.com"), an any-depth wildcard ("**.example.com"), each
// optionally followed by ":port". IP addresses, URLs, a bare "*", misplaced
// wildcards, empty labels and non-ASCII names are rejected with a message
// that says what to write instead.
func NormalizeDomain(entry string) (string, error) {
	if entry == "" {
		return "", problemf("empty domain")
	}
	if i := strings.Index(entry, "://"); i >= 0 {
		host, _, _ := strings.Cut(entry[i+3:], "/")
		return "", &problem{msg: "a domain, not a URL", hint: host}
	}
	if strings.ContainsAny(entry, "/ \t\r\n") {
		return "", problemf("%q is not a domain: no '/' or spaces", entry)
	}
	if isIP(entry) {
		return "", problemf("%q is an IP address; the allowlist takes names (address ranges go in [proxy] destinations)", entry)
	}
	host, port, err := splitPort(entry)
	if err != nil {
		return "", err
	}
	if !utf8.ValidString(host) || strings.IndexFunc(host, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0 {
		return "", problemf("%q is not ASCII: write the name in its punycode form (xn--…)", entry)
	}
	host = strings.ToLower(host)
	wildcard, name := "", host
	for _, w := range []string{"**.", "*."} {
		if strings.HasPrefix(host, w) {
			wildcard, name = w, host[len(w):]
			break
		}
	}
	if err := checkHostName(entry, wildcard, name); err != nil {
		return "", err
	}
	return wildcard + name + port, nil
}

// checkHostName checks the part of an allowlist entry after its wildcard.
func checkHostName(entry, wildcard, name string) error {
	switch {
	case wildcard == "" && (name == "*" || name == "**"):
		return problemf("%q would allow every domain; use network = \"unrestricted\" for that", entry)
	case strings.Contains(name, "*"):
		return problemf("%q: a wildcard may only be the first label, as *.example.com or **.example.com", entry)
	case strings.HasPrefix(name, "."):
		return &problem{msg: "empty label in " + strconv.Quote(entry), hint: "**" + name}
	case strings.HasSuffix(name, "."):
		return &problem{msg: "trailing dot in " + strconv.Quote(entry), hint: wildcard + strings.TrimSuffix(name, ".")}
	case len(name) > 253:
		return problemf("%q is longer than 253 characters", entry)
	case isIP(name):
		return problemf("%q: wildcards apply to names, not IP addresses", entry)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if err := checkLabel(entry, l); err != nil {
			return err
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return problemf("%q looks like an IP address: its last label is numeric; the allowlist takes names", entry)
	}
	return nil
}

// checkLabel checks one DNS label: 1-63 letters, digits, '-' or '_', not
// starting or ending with '-'.
func checkLabel(entry, l string) error {
	switch {
	case l == "":
		return problemf("empty label in %q", entry)
	case len(l) > 63:
		return problemf("label %q in %q is longer than 63 characters", l, entry)
	case l[0] == '-' || l[len(l)-1] == '-':
		return problemf("label %q in %q starts or ends with '-'", l, entry)
	}
	for _, c := range []byte(l) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return problemf("invalid character %q in %q", c, entry)
		}
	}
	return nil
}

// splitPort splits "host:port" and checks the port; the returned port keeps
// its ":" and is canonical ("" when there is none).
func splitPort(entry string) (host, port string, err error) {
	host, p, found := strings.Cut(entry, ":")
	if !found {
		return entry, "", nil
	}
	n, convErr := strconv.Atoi(p)
	if convErr != nil || n < 1 || n > 65535 || p[0] == '+' {
		return "", "", problemf("bad port %q in %q: want a number from 1 to 65535", p, entry)
	}
	if host == "" {
		return "", "", problemf("%q has a port but no name", entry)
	}
	return host, ":" + strconv.Itoa(n), nil
}

// isIP reports whether s is an IP address, bracketed or not, with or without
// a port.
func isIP(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	return strings.HasPrefix(s, "[")
}

// NormalizeDestination checks a [proxy] destinations entry, a CIDR range or a
// single address, optionally a loopback range marked "upstream:"
// (scope.ParseDestination), and returns it as a canonical prefix, marked
// the same. A range with host bits set is an error that suggests the range
// the user probably meant.
func NormalizeDestination(s string) (string, error) {
	if rest, upstream := strings.CutPrefix(s, scope.UpstreamLoopbackPrefix); upstream {
		norm, err := NormalizeDestination(rest)
		if err != nil {
			return "", err
		}
		if _, _, err := scope.ParseDestination(scope.UpstreamLoopbackPrefix + norm); err != nil {
			return "", problemf("%q: %v", s, err)
		}
		return scope.UpstreamLoopbackPrefix + norm, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, addrErr := netip.ParseAddr(s)
		if addrErr != nil || a.Zone() != "" {
			return "", problemf("%q is not a CIDR range such as 127.0.0.0/8 or fd00::/8", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if m := p.Masked(); m != p {
		return "", &problem{msg: "host bits set in " + strconv.Quote(s), hint: m.String()}
	}
	return p.String(), nil
}

// NormalizeUpstream checks an upstream_dns entry, IP or IP:port, and returns
// it as IP:port (port 53 when none is given). Names are rejected: resolving
// the resolver would need a resolver.
func NormalizeUpstream(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 && ap.Addr().Zone() == "" {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", problemf("%q is not an IP address with an optional port, such as 127.0.0.53:53 or [::1]:53", s)
}

// checkEnv checks an env entry: KEY or KEY=VALUE where KEY is letters,
// digits and '_', not starting with a digit, and VALUE has no NUL byte.
func checkEnv(entry string) error {
	key, value, _ := strings.Cut(entry, "=")
	if !validEnvName(key) {
		return problemf("%q is not KEY or KEY=VALUE with a valid variable name", entry)
	}
	if strings.ContainsRune(value, 0) {
		return problemf("value of %s contains a NUL byte", key)
	}
	return nil
}

func validEnvName(key string) bool {
	if key == "" || key[0] >= '0' && key[0] <= '9' {
		return false
	}
	for _, c := range []byte(key) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkCommand checks a wrap entry: a command name the shell hook can define
// a function for in bash, zsh and fish, without '/', spaces or shell syntax,
// and not a name the shells or the hook itself rely on (reservedCommand).
func checkCommand(name string) error {
	if name == "" || strings.IndexByte("-.+", name[0]) >= 0 {
		return problemf("%q is not a command name", Escape(name))
	}
	for _, c := range []byte(name) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_.+-", c) >= 0) {
			return problemf("%q is not a command name: use letters, digits, '_', '.', '+' and '-'", Escape(name))
		}
	}
	return reservedCommand(name)
}

// ValidWrapName reports whether name may be a wrap entry (see checkCommand).
func ValidWrapName(name string) bool { return checkCommand(name) == nil }

// homePrefix returns the rest of p after a leading ~ or $HOME (or ${HOME})
// and whether there was one. The rest is "" or starts with "/".
func homePrefix(p string) (rest string, ok bool) {
	for _, h := range []string{"~", "$HOME", "${HOME}"} {
		if r, found := strings.CutPrefix(p, h); found && (r == "" || r[0] == '/') {
			return r, true
		}
	}
	return "", false
}

// checkPath checks a path as written: not empty, no NUL, only ~ and $HOME
// expand, and relative only where relativeOK.
func checkPath(p string, relativeOK bool) error {
	switch {
	case p == "":
		return problemf("empty path")
	case strings.ContainsRune(p, 0):
		return problemf("path contains a NUL byte")
	}
	if rest, ok := homePrefix(p); ok && !strings.Contains(rest, "$") {
		return nil
	}
	switch {
	case strings.HasPrefix(p, "~") && !strings.HasPrefix(p, "~/") && p != "~":
		return problemf("only ~ and ~/… expand (not ~user): %q", p)
	case strings.Contains(p, "$"):
		return problemf("only ~ and $HOME expand in paths: %q", p)
	case !relativeOK && !filepath.IsAbs(p):
		return problemf("%q is relative; profile paths must be absolute or start with ~", p)
	}
	return nil
}

// expandPath makes p absolute and clean: ~ and $HOME become x.Home, relative
// paths are joined to the project root (or the working directory without a
// project).
func expandPath(p string, x Expand, relativeOK bool) (string, error) {
	if err := checkPath(p, relativeOK); err != nil {
		return "", err
	}
	if rest, ok := homePrefix(p); ok {
		if !filepath.IsAbs(x.Home) {
			return "", problemf("cannot expand %q: the home directory is unknown", p)
		}
		return filepath.Join(x.Home, rest), nil
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	base := x.ProjectRoot
	if base == "" {
		base = x.Cwd
	}
	if !filepath.IsAbs(base) {
		return "", problemf("cannot resolve relative path %q: no project root or working directory", p)
	}
	return filepath.Join(base, p), nil
}

// NormalizeProtect checks a [sandbox] protect entry, a path relative to the
// project root that stays in the project (no "..", not absolute), and
// returns it clean. Entries under .git are refused: pent guards .git by the
// allowlist of what git writes.
func NormalizeProtect(p string) (string, error) {
	clean := filepath.Clean(p)
	switch {
	case p == "" || clean == ".":
		return "", problemf("empty name; give a path relative to the project root, like \".github/workflows\"")
	case strings.ContainsFunc(p, unicode.IsControl):
		return "", problemf("%q contains a control character", p)
	case filepath.IsAbs(p) || strings.HasPrefix(p, "~") || strings.Contains(p, "$"):
		return "", problemf("%q is not relative; protect names are relative to the project root", p)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return "", problemf("%q leaves the project; protect names stay inside it", p)
	case clean == ".git" || strings.HasPrefix(clean, ".git/"):
		return "", problemf("%q is under .git, which pent already guards by what git writes", p)
	}
	return clean, nil
}

func checkProtect(p string) error { return discard(NormalizeProtect)(p) }
