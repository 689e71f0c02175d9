package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// errIncomplete means the parser needs more bytes than it was given.
var errIncomplete = errors.New("incomplete")

// maxHeadSize bounds what the relay buffers while looking for a name: a TLS
// ClientHello (possibly split over several records) or an HTTP request head.
const maxHeadSize = 64 << 10

// parseClientHello extracts the server name (SNI) from the TLS handshake
// records at the start of b. It returns errIncomplete when b holds only part
// of the ClientHello, and "" with a nil error for a ClientHello without SNI.
// With Encrypted Client Hello this is the outer SNI, the only name a relay
// can see; it is the one decided. A repeated extension or more than one
// host name is refused, so that no server can read a different name.
func parseClientHello(b []byte) (string, error) {
	hs, err := handshakeBytes(b)
	if err != nil {
		return "", err
	}
	if hs[0] != 1 {
		return "", fmt.Errorf("TLS handshake is not a ClientHello")
	}
	body := hs[4:]
	s := cursor{b: body}
	s.skip(2 + 32)  // legacy_version, random
	s.skip(s.u8())  // legacy_session_id
	s.skip(s.u16()) // cipher_suites
	s.skip(s.u8())  // legacy_compression_methods
	if s.err != nil {
		return "", fmt.Errorf("malformed ClientHello: %w", s.err)
	}
	if len(s.b) == 0 {
		return "", nil // no extensions at all
	}
	exts := cursor{b: s.bytes(s.u16())}
	seen := map[int]bool{}
	var sni []byte
	for exts.err == nil && len(exts.b) > 0 {
		typ, data := exts.u16(), exts.bytes(exts.u16())
		if seen[typ] {
			return "", fmt.Errorf("ClientHello repeats extension %d", typ)
		}
		seen[typ] = true
		if typ == 0 {
			sni = data
		}
	}
	if exts.err != nil || s.err != nil {
		return "", fmt.Errorf("malformed ClientHello extensions")
	}
	if !seen[0] {
		return "", nil
	}
	return parseSNIExtension(sni)
}

// handshakeBytes reassembles the first handshake message from consecutive
// handshake records.
func handshakeBytes(b []byte) ([]byte, error) {
	var hs []byte
	for {
		if len(b) < 5 {
			return nil, errIncomplete
		}
		if b[0] != 0x16 || b[1] != 3 {
			return nil, fmt.Errorf("not a TLS handshake record")
		}
		n := int(b[3])<<8 | int(b[4])
		if n == 0 || n > 1<<14+2048 {
			return nil, fmt.Errorf("bad TLS record length %d", n)
		}
		if len(b) < 5+n {
			return nil, errIncomplete
		}
		hs = append(hs, b[5:5+n]...)
		b = b[5+n:]
		if len(hs) >= 4 {
			want := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
			if want > maxHeadSize {
				return nil, fmt.Errorf("ClientHello of %d bytes is too large", want)
			}
			if len(hs) >= want {
				return hs[:want], nil
			}
		}
	}
}

func parseSNIExtension(data []byte) (string, error) {
	c := cursor{b: data}
	list := cursor{b: c.bytes(c.u16())}
	var names []string
	for list.err == nil && len(list.b) > 0 {
		typ, name := list.u8(), list.bytes(list.u16())
		if typ != 0 && list.err == nil {
			return "", fmt.Errorf("SNI entry of type %d, only host_name (0) is relayed", typ)
		}
		names = append(names, string(name))
	}
	switch {
	case c.err != nil || list.err != nil || len(c.b) > 0:
		return "", fmt.Errorf("malformed SNI extension")
	case len(names) != 1:
		return "", fmt.Errorf("SNI extension with %d host names, want one", len(names))
	}
	n, err := CanonicalName(names[0])
	if err != nil {
		return "", fmt.Errorf("bad SNI: %w", err)
	}
	return n, nil
}

// cursor reads big-endian fields; after the first short read it stays in the
// error state and returns zeros.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) bytes(n int) []byte {
	if c.err != nil || n > len(c.b) {
		c.err = errors.New("truncated")
		return nil
	}
	out := c.b[:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) skip(n int) { c.bytes(n) }

func (c *cursor) u8() int {
	if b := c.bytes(1); b != nil {
		return int(b[0])
	}
	return 0
}

func (c *cursor) u16() int {
	if b := c.bytes(2); b != nil {
		return int(b[0])<<8 | int(b[1])
	}
	return 0
}

// splitHostPort splits an authority (host, host:port, [v6]:port) and applies
// defaultPort when there is no port. The host is canonical: a lower-case name
// or an IP address.
func splitHostPort(authority string, defaultPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(authority)
	if err != nil {
		host, portStr = strings.TrimSuffix(strings.TrimPrefix(authority, "["), "]"), ""
	}
	port := defaultPort
	if portStr != "" {
		port, err = strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("bad port in %q", authority)
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String(), port, nil
	}
	name, err := CanonicalName(host)
	if err != nil {
		return "", 0, fmt.Errorf("bad host in %q: %w", authority, err)
	}
	return name, port, nil
}
