// Package seatbelt turns a sandbox's policy into a macOS Seatbelt profile
// (SBPL, for /usr/bin/sandbox-exec) and reads the sandbox's reports in the
// unified log back into the file denials of a trace. Apart from the
// observer that runs `log stream` (observe_darwin.go) it is
// platform-neutral, so that its tests run on any OS; only macOS builds link
// it, as package sandbox imports it from its darwin files alone.
package seatbelt

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pent-sandbox/pent/scope"
)

// SandboxExec applies a Seatbelt profile to itself and then executes the
// command, which inherits the profile with every process it starts.
const SandboxExec = "/usr/bin/sandbox-exec"

// Profile is what the macOS profile is built from: the sandbox's policy
// paths and network mode, and the run's proxy port and private temporary
// directory. Every path is absolute.
type Profile struct {
	// Read, Execute and Write are subtrees readable, also executable, also
	// writable; Traverse are directories that may be listed, not their
	// contents.
	Read, Execute, Write, Traverse []string
	// Protected are paths that stay read-only under a writable grant.
	Protected []string
	// Hidden are paths that stay closed under a broader grant (the
	// policy's masked paths and its private /tmp directories).
	Hidden []string
	// Dir is the command's working directory; empty for none.
	Dir string
	// Network is the network mode.
	Network scope.Network
	// ProxyPort is the loopback TCP port of pent's proxy. Proxy mode needs
	// it (1-65535); every other network mode needs it to be 0.
	ProxyPort int
	// TmpDir is the run's private temporary directory (absolute), made
	// writable and passed to the command as TMPDIR; empty for none. Its
	// parent (the user's own temporary directory) and the Hidden
	// directories (the host's /tmp) stay hidden.
	TmpDir string
}

// SBPL returns the Seatbelt profile (Sandbox Profile Language, for
// /usr/bin/sandbox-exec) that allows exactly what p allows. It is a pure
// function of its inputs, so that the macOS translation is testable on any OS.
//
// The profile is deny-by-default. A later rule takes precedence over an
// earlier one, so the profile is built in layers: system services and
// operating-system files, the policy's grants, then denials for the hidden
// (Hidden) paths that lie under a broader grant followed by the
// grants beneath them again, stat access to the ancestors of every grant,
// the network rules, the denials that keep Protected paths read-only and
// the directories above protected and hidden paths in place, and last the
// operations no profile may allow (LaunchServices, Apple Events). Paths under /var, /tmp and /etc become their real /private/...
// paths, which is what Seatbelt matches. A path that cannot be written as an
// SBPL string exactly (a control character or invalid UTF-8) is an error,
// never dropped.
func SBPL(p Profile) (string, error) {
	c, err := canonicalSBPL(p)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(sbplBase)
	writeSystemFiles(&b)
	writeGrants(&b, c)
	writeHidden(&b, c)
	writeAncestors(&b, c)
	writeNetwork(&b, c)
	writeProtected(&b, c)
	b.WriteString(sbplNever)
	return b.String(), nil
}

// sbplPolicy is a Profile with every path canonical for Seatbelt.
type sbplPolicy struct {
	grants    []grant
	hidden    []string
	protected []string
	dir       string
	network   scope.Network
	proxyPort int
}

// grant is one allow rule: a set of operations on a path or a subtree.
type grant struct {
	ops  string
	path string
	// subtree is false for a rule on the path alone (a Traverse directory).
	subtree bool
}

// The operations each kind of policy path allows.
const (
	opsRead     = "file-read*"
	opsExecute  = "file-read* process-exec* file-map-executable"
	opsWrite    = "file-read* file-write* process-exec* file-map-executable"
	opsTraverse = "file-read*"
)

// canonicalSBPL checks the network settings and makes every path canonical.
func canonicalSBPL(p Profile) (sbplPolicy, error) {
	c := sbplPolicy{network: p.Network, proxyPort: p.ProxyPort}
	switch {
	case !slices.Contains(scope.Networks, p.Network):
		return c, fmt.Errorf("unknown network mode %q", p.Network)
	case p.Network == scope.NetProxy && (p.ProxyPort < 1 || p.ProxyPort > 65535):
		return c, fmt.Errorf("proxy mode needs the proxy's loopback port (1-65535), got %d", p.ProxyPort)
	case p.Network != scope.NetProxy && p.ProxyPort != 0:
		return c, fmt.Errorf("a proxy port was given for network mode %q", p.Network)
	}
	var errs []error
	canon := func(paths []string) []string {
		var out []string
		for _, path := range paths {
			cp, err := canonicalPath(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !slices.Contains(out, cp) {
				out = append(out, cp)
			}
		}
		return out
	}
	addGrants := func(paths []string, ops string, subtree bool) {
		for _, path := range canon(paths) {
			c.grants = append(c.grants, grant{ops: ops, path: path, subtree: subtree})
		}
	}
	addGrants(p.Read, opsRead, true)
	addGrants(p.Execute, opsExecute, true)
	addGrants(p.Write, opsWrite, true)
	if p.TmpDir != "" {
		addGrants([]string{p.TmpDir}, opsWrite, true)
	}
	addGrants(p.Traverse, opsTraverse, false)
	hidden := slices.Clone(p.Hidden)
	if p.TmpDir != "" && filepath.IsAbs(p.TmpDir) {
		// The user's temporary directory holds other programs' files.
		hidden = append(hidden, filepath.Dir(filepath.Clean(p.TmpDir)))
	}
	c.hidden = canon(hidden)
	c.protected = canon(p.Protected)
	if p.Dir != "" {
		if dirs := canon([]string{p.Dir}); len(dirs) == 1 {
			c.dir = dirs[0]
		}
	}
	return c, errors.Join(errs...)
}

// privateLinks are the top-level symlinks into /private; Seatbelt matches the
// resolved path, so rules must name the /private one.
var privateLinks = []string{"/var", "/tmp", "/etc"}

// canonicalPath is path cleaned, with /var, /tmp and /etc replaced by their
// /private targets, or an error when the path is relative or cannot be written
// as an SBPL string exactly.
func canonicalPath(path string) (string, error) {
	if err := sbplSafe(path); err != nil {
		return "", err
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("sandbox path %q is not absolute", path)
	}
	path = filepath.Clean(path)
	for _, link := range privateLinks {
		if scope.Within(path, link) {
			return "/private" + path, nil
		}
	}
	return path, nil
}

// sbplSafe rejects what an SBPL string cannot carry exactly: invalid UTF-8,
// NUL, newlines and every other control character.
func sbplSafe(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("path %q is not valid UTF-8: the macOS sandbox profile cannot express it", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("path %q contains a control character: the macOS sandbox profile cannot express it", s)
		}
	}
	return nil
}

// sbplString is s as an SBPL string literal: in double quotes, with
// backslashes and double quotes escaped. s must have passed sbplSafe.
func sbplString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// filter is the SBPL path filter of a grant.
func (g grant) filter() string {
	if g.subtree {
		return "(subpath " + sbplString(g.path) + ")"
	}
	return "(literal " + sbplString(g.path) + ")"
}

// writeGrants writes an allow rule per policy path.
func writeGrants(b *strings.Builder, c sbplPolicy) {
	b.WriteString("\n;; The policy's paths: read, execute, write, traverse (listing one directory).\n")
	if len(c.grants) == 0 {
		b.WriteString("; none\n")
	}
	for _, g := range c.grants {
		fmt.Fprintf(b, "(allow %s %s)\n", g.ops, g.filter())
	}
}

// writeHidden denies the hidden paths that some grant covers, then writes
// again the grants at or beneath them, which the denial would otherwise
// override: an allowed path above a hidden directory does not reveal it,
// allowed paths inside it stay allowed.
func writeHidden(b *strings.Builder, c sbplPolicy) {
	var masks []string
	for _, h := range c.hidden {
		if c.granted(h) {
			masks = append(masks, h)
		}
	}
	if len(masks) == 0 {
		return
	}
	b.WriteString("\n;; Hidden directories under a broader grant, then the grants inside them again.\n")
	for _, m := range masks {
		fmt.Fprintf(b, "(deny file-read* file-write* process-exec* file-map-executable%s)\n", filters("subpath", dataVolumeAliases(m)))
	}
	for _, g := range c.grants {
		if slices.ContainsFunc(masks, func(m string) bool { return scope.Within(g.path, m) }) {
			fmt.Fprintf(b, "(allow %s %s)\n", g.ops, g.filter())
		}
	}
}

// writeAncestors lets every directory above a grant, and the working
// directory, be stat'ed: realpath(3), getcwd(3) and Node's module loader
// walk them. Their contents stay unlisted.
func writeAncestors(b *strings.Builder, c sbplPolicy) {
	paths := append(slices.Clone(sbplSystemPaths), c.dir)
	for _, g := range c.grants {
		paths = append(paths, g.path)
	}
	var dirs []string
	for _, path := range paths {
		for _, a := range ancestors(path) {
			if !slices.Contains(dirs, a) {
				dirs = append(dirs, a)
			}
		}
	}
	if c.dir != "" && !slices.Contains(dirs, c.dir) && !c.granted(c.dir) {
		dirs = append(dirs, c.dir)
	}
	b.WriteString("\n;; Directories above the grants and the working directory: stat only.\n")
	b.WriteString("(allow file-read-metadata\n")
	for _, d := range dirs {
		fmt.Fprintf(b, "  (literal %s)\n", sbplString(d))
	}
	b.WriteString(")\n")
}

// ancestors are the directories strictly above path, outermost first,
// without "/" (which the base profile allows).
func ancestors(path string) []string {
	var out []string
	for dir := filepath.Dir(path); dir != "/" && dir != "." && dir != path; dir = filepath.Dir(dir) {
		out = append(out, dir)
		path = dir
	}
	slices.Reverse(out)
	return out
}

// writeNetwork writes the rules of the network mode.
func writeNetwork(b *strings.Builder, c sbplPolicy) {
	fmt.Fprintf(b, "\n;; Network: %s.\n", c.network)
	// Seatbelt checks connect(2) on a UNIX socket as network-outbound, not
	// as a file operation: a file rule does not close docker.sock or the
	// ssh-agent socket. Every mode denies them; the rules below name the
	// one socket a mode needs (mDNSResponder, unrestricted only).
	b.WriteString("; UNIX sockets: connect and bind are network operations, closed unless named below.\n")
	b.WriteString("(deny network-outbound (remote unix-socket))\n")
	b.WriteString("(deny network-bind (local unix-socket))\n")
	switch c.network {
	case scope.NetBlocked:
		b.WriteString("; No socket may connect, bind or accept; UNIX sockets are closed too.\n")
		return
	case scope.NetProxy:
		b.WriteString("; Only pent's proxy on loopback; it authenticates each session, and it alone\n")
		b.WriteString("; resolves names and decides by the domain allowlist.\n")
		fmt.Fprintf(b, "(allow network-outbound (remote tcp \"localhost:%d\"))\n", c.proxyPort)
	case scope.NetLocalhost:
		b.WriteString("; Loopback only (the host's loopback: macOS has no private one).\n")
		b.WriteString("(allow network-bind network-inbound (local ip \"localhost:*\"))\n")
		b.WriteString("(allow network-outbound (remote ip \"localhost:*\"))\n")
	case scope.NetUnrestricted:
		b.WriteString("; Every IP address; UNIX sockets of host daemons (docker, ssh-agent) stay closed.\n")
		b.WriteString("(allow network-bind network-inbound (local ip \"*:*\"))\n")
		b.WriteString("(allow network-outbound (remote ip \"*:*\"))\n")
		b.WriteString(sbplUnrestricted)
	}
	b.WriteString(sbplTLS)
}

// writeProtected keeps the protected paths read-only, and the writable
// directories above a protected or a hidden path, so that none can be
// renamed or removed: a rename of an ancestor would carry the path out from
// under the rule that names it (Seatbelt matches the path at the time of
// the operation), and a protected one could then be replaced. It comes
// after every grant so that none overrides it.
func writeProtected(b *strings.Builder, c sbplPolicy) {
	var dirs []string
	for _, p := range append(slices.Clone(c.protected), c.hidden...) {
		for _, a := range append(ancestors(p), "/") {
			if c.writable(a) && !slices.Contains(dirs, a) {
				dirs = append(dirs, a)
			}
		}
	}
	if len(c.protected) == 0 && len(dirs) == 0 {
		return
	}
	b.WriteString("\n;; Protected paths stay read-only, and the writable directories holding a\n")
	b.WriteString(";; protected or hidden path cannot be renamed or removed. After the grants, so\n")
	b.WriteString(";; that no grant overrides them.\n")
	for _, p := range c.protected {
		fmt.Fprintf(b, "(deny file-write*%s)\n", filters("subpath", dataVolumeAliases(p)))
	}
	for _, d := range dirs {
		fmt.Fprintf(b, "(deny file-write*%s)\n", filters("literal", dataVolumeAliases(d)))
	}
}

// sbplNever closes every profile: operations that would run code outside
// the sandbox, denied last so that no rule above can ever open them.
// LaunchServices (open(1), LSOpenCFURLRef) asks launchd to start an
// application, which is not a child of the sandboxed process and does not
// inherit its profile; Apple Events let a process drive another
// application (Terminal's "do script"); a launchd job runs outside too.
const sbplNever = `
;; Never: what would start code outside the sandbox. Last, so that nothing
;; above can open it.
(deny lsopen)
(deny appleevent-send)
(deny job-creation)
(deny mach-lookup (global-name "com.apple.coreservices.launchservicesd") (global-name "com.apple.coreservices.appleevents") (global-name "com.apple.lsd.mapdb"))
`

// granted reports whether a subtree grant covers path.
func (c sbplPolicy) granted(path string) bool {
	return slices.ContainsFunc(c.grants, func(g grant) bool { return g.subtree && scope.Within(path, g.path) })
}

// writable reports whether a write grant covers path.
func (c sbplPolicy) writable(path string) bool {
	return slices.ContainsFunc(c.grants, func(g grant) bool { return g.ops == opsWrite && scope.Within(path, g.path) })
}

// dataVolume is where the data volume is mounted; /Users, /private/var and
// the other firmlinked directories are reachable through it too.
const dataVolume = "/System/Volumes/Data"

// dataVolumeAliases is path and, for a denial, its spelling through the data
// volume, so that the other spelling cannot reach what path hides.
func dataVolumeAliases(path string) []string {
	if scope.Within(path, "/System") {
		return []string{path}
	}
	return []string{path, dataVolume + path}
}

// filters is " (kind "p1") (kind "p2")…".
func filters(kind string, paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		b.WriteString(" (" + kind + " " + sbplString(p) + ")")
	}
	return b.String()
}
