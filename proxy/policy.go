package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/pent-sandbox/pent/scope"
)

// Settings is the proxy part of pent's configuration ([proxy] in pent.toml).
type Settings struct {
	// Allow is domain_allowlist: NAME, *.NAME, **.NAME with optional :PORT.
	Allow []string
	// UpstreamDNS lists resolvers as host:port (a bare address means port 53).
	// Empty means the host's resolvers (HostResolvers).
	UpstreamDNS []string
	// Destinations lists CIDRs of otherwise refused ranges (loopback, private,
	// link-local, …) that allowed names may resolve to. A loopback address
	// is for host-local names only (Policy.Local) unless the entry is
	// written scope.UpstreamLoopbackPrefix+CIDR.
	Destinations []string
	// HostNames are the names the host resolves itself (ParseHosts of its
	// hosts file), read by the caller.
	HostNames map[string][]netip.Addr
}

// Policy is compiled Settings. It is immutable; the proxy swaps whole
// policies on reload.
type Policy struct {
	// Allow is the compiled domain_allowlist.
	Allow *Allowlist
	// Upstreams are the resolvers asked for allowed names, as IP:port.
	Upstreams []string
	// Destinations are the ranges let through despite refusedRanges.
	Destinations []netip.Prefix
	// UpstreamLoopback are the loopback ranges (also in Destinations)
	// that names resolved upstream may reach: destinations entries written
	// "upstream:CIDR". Any other loopback address is reached only by the
	// host-local names of Local, so that an allowed name whose DNS an
	// attacker controls cannot open the host's loopback services.
	UpstreamLoopback []netip.Prefix
	// Local maps the host-local names the allowlist names exactly with a
	// port (localhost, names of the host's hosts file) to the addresses the
	// host gives them; they are never asked upstream. The destination check
	// still applies to those addresses.
	Local map[string][]netip.Addr
}

// Compile validates s and returns its Policy. hostResolvers is used when
// s.UpstreamDNS is empty; it must then be non-empty.
func Compile(s Settings, hostResolvers []string) (*Policy, error) {
	allow, err := ParseAllowlist(s.Allow)
	if err != nil {
		return nil, err
	}
	p := &Policy{Allow: allow, Local: localNames(allow, s.HostNames)}
	ups := s.UpstreamDNS
	if len(ups) == 0 {
		ups = hostResolvers
	}
	for _, u := range ups {
		hp, err := normalizeHostPort(u)
		if err != nil {
			return nil, fmt.Errorf("proxy: upstream_dns %q: %w", u, err)
		}
		p.Upstreams = append(p.Upstreams, hp)
	}
	if len(p.Upstreams) == 0 && len(s.Allow) > 0 {
		return nil, fmt.Errorf("proxy: no upstream DNS server: set [proxy] upstream_dns")
	}
	for _, d := range s.Destinations {
		pfx, upstream, err := scope.ParseDestination(d)
		if err != nil {
			return nil, fmt.Errorf("proxy: destinations %q: %w", d, err)
		}
		p.Destinations = append(p.Destinations, pfx)
		if upstream {
			p.UpstreamLoopback = append(p.UpstreamLoopback, pfx)
		}
	}
	return p, nil
}

// localhostAddrs are what localhost always means (RFC 6761).
var localhostAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

// LocalhostPorts lists the ports the allowlist names localhost with,
// exactly: the sandbox sends its own 127.0.0.1 on those ports to the proxy
// (sandbox.Policy.ProxyLoopbackPorts).
func (p *Policy) LocalhostPorts() []int {
	var ports []int
	for _, r := range p.Allow.rules {
		if r.kind == matchExact && r.port != 0 && r.suffix == "localhost" && !slices.Contains(ports, r.port) {
			ports = append(ports, r.port)
		}
	}
	slices.Sort(ports)
	return ports
}

// localNames picks the host-local names allow names exactly with a port:
// localhost, and names of the host's hosts file.
func localNames(allow *Allowlist, hosts map[string][]netip.Addr) map[string][]netip.Addr {
	local := map[string][]netip.Addr{}
	for _, r := range allow.rules {
		if r.kind != matchExact || r.port == 0 {
			continue
		}
		switch addrs, ok := hosts[r.suffix]; {
		case ok:
			local[r.suffix] = addrs
		case r.suffix == "localhost":
			local[r.suffix] = localhostAddrs
		}
	}
	return local
}

// ParseHosts reads a hosts file (/etc/hosts): each line an address and its
// names. Names are canonical; lines or names that are not valid are skipped.
func ParseHosts(r io.Reader) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			continue
		}
		for _, n := range f[1:] {
			if name, err := CanonicalName(n); err == nil && !slices.Contains(out[name], a.Unmap()) {
				out[name] = append(out[name], a.Unmap())
			}
		}
	}
	return out
}

func normalizeHostPort(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", fmt.Errorf("want IP or IP:port: %w", err)
	}
	return ap.String(), nil
}

// HostResolvers parses resolv.conf content and returns its nameservers as
// IP:53. The host's resolvers are read by the caller and passed in.
func HostResolvers(resolvConf io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(resolvConf)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			a, err := netip.ParseAddr(strings.Split(f[1], "%")[0])
			if err == nil {
				out = append(out, net.JoinHostPort(a.String(), "53"))
			}
		}
	}
	return out
}

// refusedRanges are destinations an allowed name may not resolve to unless
// Destinations lists them: loopback, link-local (cloud metadata), private,
// carrier-grade NAT, benchmark/synthetic, multicast, reserved, unspecified,
// and IPv6 ranges that carry an IPv4 address pent cannot read out
// (local-use NAT64, Teredo).
var refusedRanges = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
	"240.0.0.0/4", "::/128", "::1/128", "fe80::/10", "fc00::/7", "ff00::/8",
	"64:ff9b:1::/48", "2001::/32",
)

// embeddingRanges are IPv6 ranges whose addresses carry an IPv4 address at
// a known offset (NAT64 RFC 6052, 6to4, IPv4-compatible): such an address is
// judged by the IPv4 address it leads to.
var embeddingRanges = []struct {
	prefix netip.Prefix
	offset int // byte offset of the IPv4 address
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12},
	{netip.MustParsePrefix("2002::/16"), 2},
	{netip.MustParsePrefix("::/96"), 12},
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// DestinationAllowed reports whether the proxy may dial addr for a name,
// host-local (a name of Local) or not: public addresses always; the
// refused ranges and the host's own addresses (hostAddrs, every interface)
// only when a Destinations prefix holds addr, and a loopback address for a
// name that is not host-local only when an UpstreamLoopback prefix holds
// it; an unspecified address (which reaches this host) never. An IPv6
// address that embeds an IPv4 address must pass as that IPv4 address too.
func (p *Policy) DestinationAllowed(addr netip.Addr, hostAddrs []netip.Addr, hostLocal bool) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsUnspecified() {
		return false
	}
	if v4, ok := embeddedIPv4(addr); ok && !p.DestinationAllowed(v4, hostAddrs, hostLocal) {
		return false
	}
	if addr.IsLoopback() && !hostLocal {
		return slices.ContainsFunc(p.UpstreamLoopback, func(d netip.Prefix) bool { return d.Contains(addr) })
	}
	for _, d := range p.Destinations {
		if d.Contains(addr) {
			return true
		}
	}
	if slices.Contains(hostAddrs, addr) {
		return false
	}
	for _, r := range refusedRanges {
		if r.Contains(addr) {
			return false
		}
	}
	return true
}

// embeddedIPv4 returns the IPv4 address an IPv6 address of embeddingRanges
// carries (::1 is loopback, not IPv4-compatible).
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	for _, r := range embeddingRanges {
		if addr.Is6() && !addr.IsLoopback() && r.prefix.Contains(addr) {
			b := addr.As16()
			return netip.AddrFrom4([4]byte(b[r.offset : r.offset+4])), true
		}
	}
	return netip.Addr{}, false
}

// Summary is a one-line description of the policy for `pent proxy status`.
func (p *Policy) Summary() string {
	return fmt.Sprintf("allow [%s]; upstream [%s]; destinations %v",
		strings.Join(p.Allow.Entries(), " "), strings.Join(p.Upstreams, " "), p.Destinations)
}
