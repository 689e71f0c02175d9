//go:build !linux

package proxy

import (
	"net"
	"net/netip"
)

// originalDst reports the listener's own address where there is no
// transparent capture: every client is a proxy-aware one.
func originalDst(c *net.TCPConn) (netip.AddrPort, error) {
	return netip.ParseAddrPort(c.LocalAddr().String())
}
