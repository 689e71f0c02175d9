package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Relay timeouts. There is no cap on a relayed connection's lifetime: TCP
// keep-alives (on by default on both sides) find dead peers.
const (
	headTimeout     = 30 * time.Second // proxy-aware clients must send their request by then
	dialTimeout     = 10 * time.Second
	httpIdleTimeout = 2 * time.Minute // between requests on a plain-HTTP proxy connection
	relayBufferSize = maxHeadSize + 1024
)

// denial is a policy refusal; its text is the logged reason.
type denial struct{ reason string }

func (d *denial) Error() string { return d.reason }

func deny(format string, args ...any) error { return &denial{reason: fmt.Sprintf(format, args...)} }

// handle decides and relays one accepted connection. A connection whose
// original destination is the listener itself came from a proxy-aware
// client (HTTP proxy, CONNECT, SOCKS5); any other was redirected by the
// sandbox's NAT rules and is bound to a name by its synthetic address. An
// authenticated loopback listener has no NAT rules: it serves proxy-aware
// clients only.
func (s *session) handle(c *net.TCPConn) {
	if s.token != nil {
		s.handleProxyAware(c)
		return
	}
	orig, err := originalDst(c)
	local, lerr := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil || lerr != nil || orig == local {
		s.handleProxyAware(c)
		return
	}
	s.handleTransparent(c, orig)
}

func (s *session) handleTransparent(c *net.TCPConn, orig netip.AddrPort) {
	port := int(orig.Port())
	name, ok := s.p.names.nameOf(orig.Addr())
	if !ok {
		s.decide(false, "tcp", "", port, orig.String(), "raw IP connection: the address was not handed out by pent's DNS for an allowed name")
		return
	}
	up, err := s.connect("tcp", name, port, orig.String())
	if err != nil {
		return
	}
	s.relayChecked(c, bufio.NewReaderSize(c, relayBufferSize), up, "tcp", name, port)
}

func (s *session) handleProxyAware(c *net.TCPConn) {
	_ = c.SetReadDeadline(time.Now().Add(headTimeout))
	br := bufio.NewReaderSize(c, relayBufferSize)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	if first[0] == 5 {
		s.handleSOCKS(c, br)
		return
	}
	s.handleHTTPProxy(c, br)
}

func (s *session) handleSOCKS(c *net.TCPConn, br *bufio.Reader) {
	t, err := readSOCKS5(br, c, s.token)
	if err != nil {
		s.decide(false, "socks5", t.name, t.port, "", "bad SOCKS5 request: "+err.Error())
		return
	}
	name, err := s.bindName(t.name, t.addr)
	if err != nil {
		socksReply(c, socksNotAllowed)
		s.decide(false, "socks5", "", t.port, t.addr.String()+t.name, err.Error())
		return
	}
	up, err := s.connect("socks5", name, t.port, "")
	if err != nil {
		code := byte(socksHostUnreach)
		if isDenial(err) {
			code = socksNotAllowed
		}
		socksReply(c, code)
		return
	}
	socksReply(c, socksSucceeded)
	_ = c.SetReadDeadline(time.Time{})
	s.relayChecked(c, br, up, "socks5", name, t.port)
}

// bindName turns a requested host (name or IP literal) into the name the
// connection is bound to. An address is accepted only if it is a synthetic
// address pent's DNS handed out; any other is a raw IP connection.
func (s *session) bindName(host string, addr netip.Addr) (string, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		addr = a.Unmap()
	}
	if !addr.IsValid() {
		return host, nil
	}
	if name, ok := s.p.names.nameOf(addr); ok {
		return name, nil
	}
	return "", deny("raw IP connection to %s: connect by name", addr)
}

// checkName applies the allowlist to name and port.
func (s *session) checkName(name string, port int) error {
	allow := s.p.Policy().Allow
	switch {
	case allow.Allows(name, port):
		return nil
	case allow.AllowsName(name):
		return deny("port %d is not allowed for %s (add \"%s:%d\" to [proxy] domain_allowlist)", port, name, name, port)
	default:
		return deny("%s is not allowed (add \"%s\" to [proxy] domain_allowlist)", name, name)
	}
}

// connect checks name and port, dials upstream and logs the decision.
func (s *session) connect(kind, name string, port int, orig string) (net.Conn, error) {
	err := s.checkName(name, port)
	var up net.Conn
	if err == nil {
		up, err = s.dialName(context.Background(), name, port)
	}
	switch {
	case err == nil:
		s.decide(true, kind, name, port, up.RemoteAddr().String(), "allowed name")
	case isDenial(err):
		s.decide(false, kind, name, port, orig, err.Error())
	default:
		s.decide(false, kind, name, port, orig, "upstream failed: "+err.Error())
	}
	return up, err
}

func isDenial(err error) bool {
	var d *denial
	return errors.As(err, &d)
}

// dialName resolves name on the host side and dials the first address the
// policy lets it reach.
func (s *session) dialName(ctx context.Context, name string, port int) (net.Conn, error) {
	addrs, _, err := s.p.res.lookupA(ctx, name)
	if errors.Is(err, errNXDomain) {
		return nil, deny("%s does not exist upstream", name)
	}
	if err != nil {
		return nil, err
	}
	pol := s.p.Policy()
	var refused []string
	var errs []error
	d := net.Dialer{Timeout: dialTimeout}
	for _, a := range addrs {
		if !pol.DestinationAllowed(a) {
			refused = append(refused, a.String())
			continue
		}
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if len(refused) == 0 {
			return nil, deny("%s has no IPv4 address", name)
		}
		return nil, deny("%s resolves to %s, a refused destination range (list it in [proxy] destinations)", name, strings.Join(refused, ", "))
	}
	return nil, errors.Join(errs...)
}

// relayChecked relays between client and upstream. Upstream data flows at
// once (banner-first protocols work); the client's first bytes are inspected
// before anything is forwarded: a TLS ClientHello's SNI or an HTTP request's
// Host must name the connection's bound name.
func (s *session) relayChecked(client *net.TCPConn, br *bufio.Reader, up net.Conn, kind, name string, port int) {
	defer up.Close()
	down := make(chan struct{})
	go func() {
		copyHalf(client, up)
		close(down)
	}()
	if err := inspectFirstBytes(br, name, port); err != nil {
		s.decide(false, kind, name, port, up.RemoteAddr().String(), err.Error())
		client.Close()
		up.Close()
		<-down
		return
	}
	if n := br.Buffered(); n > 0 {
		head, _ := br.Peek(n)
		if _, err := up.Write(head); err != nil {
			up.Close()
		}
		_, _ = br.Discard(n)
	}
	copyHalf(up, client) // the rest straight from the connection, past the emptied bufio.Reader
	<-down
}

// copyHalf copies src to dst, then half-closes dst; on an error it closes
// both so that the other direction ends too.
func copyHalf(dst, src net.Conn) {
	_, err := copyConn(dst, src)
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// inspectFirstBytes waits for the client's first bytes and checks the name
// they carry, if any, against the bound name. A client that closes without
// sending anything passes (nothing reaches upstream); one that
// closes in the middle of a header does not.
func inspectFirstBytes(br *bufio.Reader, name string, port int) error {
	var claimed, what string
	err := peekParse(br, func(b []byte) error {
		switch {
		case b[0] == 0x16:
			what = "TLS SNI"
			sni, err := parseClientHello(b)
			claimed = sni
			return err
		case looksLikeHTTP(b):
			what = "HTTP Host"
			req, err := parseHTTPHead(b)
			if err != nil {
				return err
			}
			if req.Host != "" {
				claimed, _, err = splitHostPort(req.Host, port)
			}
			return err
		case len(b) < 17 && allUpper(b):
			return errIncomplete // could still become an HTTP request line
		}
		return nil // some other protocol: bound by name only
	})
	if errors.Is(err, io.EOF) && br.Buffered() == 0 {
		return nil
	}
	if err != nil {
		return deny("refused: %v", err)
	}
	if claimed != "" && claimed != name {
		return deny("%s %q does not match %s, the name this connection was resolved for", what, claimed, name)
	}
	return nil
}

// peekParse peeks ever more buffered bytes until parse stops returning
// errIncomplete. The bytes stay buffered for relaying.
func peekParse(br *bufio.Reader, parse func([]byte) error) error {
	for n := 1; ; {
		if _, err := br.Peek(n); err != nil {
			return err
		}
		b, _ := br.Peek(br.Buffered())
		err := parse(b)
		if !errors.Is(err, errIncomplete) {
			return err
		}
		if len(b) >= br.Size() {
			return fmt.Errorf("no complete header in the first %d bytes", len(b))
		}
		n = len(b) + 1
	}
}
