package scope

import (
	"fmt"
	"net/netip"
	"strings"
)

// UpstreamLoopbackPrefix marks a destinations entry, a loopback range,
// that names resolved upstream may reach too.
const UpstreamLoopbackPrefix = "upstream:"

// ParseDestination parses a destinations entry: a CIDR range or a single
// address, optionally a loopback range marked UpstreamLoopbackPrefix
// (upstream is then true). The prefix is returned masked.
func ParseDestination(d string) (pfx netip.Prefix, upstream bool, err error) {
	d, upstream = strings.CutPrefix(d, UpstreamLoopbackPrefix)
	pfx, err = netip.ParsePrefix(d)
	if err != nil {
		a, aerr := netip.ParseAddr(d)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, false, fmt.Errorf("not a CIDR range such as 127.0.0.0/8 or fd00::/8: %w", err)
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	pfx = pfx.Masked()
	if upstream && !(pfx.Addr().IsLoopback() && (pfx.Bits() >= 8 && pfx.Addr().Is4() || pfx.Bits() == 128)) {
		return netip.Prefix{}, false, fmt.Errorf("%s marks loopback ranges only (within 127.0.0.0/8, or ::1/128), not %s", UpstreamLoopbackPrefix, pfx)
	}
	return pfx, upstream, nil
}
