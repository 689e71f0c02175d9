package proxy

import (
	"fmt"
	"io"
	"net/netip"
)

// SOCKS5 reply codes (RFC 1928).
const (
	socksSucceeded      = 0x00
	socksNotAllowed     = 0x02
	socksHostUnreach    = 0x04
	socksCmdUnsupported = 0x07
	socksAddrUnsupport  = 0x08
)

// socksTarget is what a SOCKS5 CONNECT asks for: a name, or an address when
// the client resolved the name itself.
type socksTarget struct {
	name string
	addr netip.Addr
	port int
}

// readSOCKS5 runs the server side of the SOCKS5 greeting and request
// (CONNECT only) and returns the requested target. With a nil token the
// client must not authenticate; otherwise it must send the token (see
// socksAuthenticate). On a protocol error it has already sent the matching
// failure reply.
func readSOCKS5(r io.Reader, w io.Writer, token []byte) (socksTarget, error) {
	var t socksTarget
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return t, fmt.Errorf("socks5 greeting: %w", err)
	}
	if hdr[0] != 5 {
		return t, fmt.Errorf("socks version %d is not 5", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return t, fmt.Errorf("socks5 methods: %w", err)
	}
	if err := socksAuthenticate(r, w, methods, token); err != nil {
		return t, err
	}
	req := make([]byte, 4)
	if _, err := io.ReadFull(r, req); err != nil {
		return t, fmt.Errorf("socks5 request: %w", err)
	}
	if req[0] != 5 {
		return t, fmt.Errorf("socks5 request version %d", req[0])
	}
	if req[1] != 1 {
		socksReply(w, socksCmdUnsupported)
		return t, fmt.Errorf("socks5 command %d is not CONNECT", req[1])
	}
	var err error
	switch req[3] {
	case 1:
		t.addr, err = readAddr(r, 4)
	case 4:
		t.addr, err = readAddr(r, 16)
	case 3:
		t.name, err = readSOCKSName(r)
	default:
		socksReply(w, socksAddrUnsupport)
		return t, fmt.Errorf("socks5 address type %d", req[3])
	}
	if err != nil {
		socksReply(w, socksAddrUnsupport)
		return t, err
	}
	port := make([]byte, 2)
	if _, err := io.ReadFull(r, port); err != nil {
		return t, fmt.Errorf("socks5 port: %w", err)
	}
	t.port = int(port[0])<<8 | int(port[1])
	if t.port == 0 {
		socksReply(w, socksNotAllowed)
		return t, fmt.Errorf("socks5 port 0")
	}
	return t, nil
}

func readAddr(r io.Reader, n int) (netip.Addr, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return netip.Addr{}, fmt.Errorf("socks5 address: %w", err)
	}
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap(), nil
}

func readSOCKSName(r io.Reader) (string, error) {
	b, err := readLengthPrefixed(r)
	if err != nil {
		return "", fmt.Errorf("socks5 name: %w", err)
	}
	if a, err := netip.ParseAddr(string(b)); err == nil {
		return a.Unmap().String(), nil
	}
	name, err := CanonicalName(string(b))
	if err != nil {
		return "", fmt.Errorf("socks5 name: %w", err)
	}
	return name, nil
}

// socksReply sends a reply with the given code and an all-zero bound address.
func socksReply(w io.Writer, code byte) {
	_, _ = w.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
}
