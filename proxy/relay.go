package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
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

// handleTransparent decides a redirected connection by the name its
// original destination stands for: a synthetic address's name, or
// localhost for the sandbox's loopback (only the ports the allowlist names
// for localhost are redirected there, SetupCapture); anything else is a raw
// IP connection.
func (s *session) handleTransparent(c *net.TCPConn, orig netip.AddrPort) {
	port := int(orig.Port())
	name, ok := s.names.nameOf(orig.Addr())
	if orig.Addr().Unmap().IsLoopback() {
		name, ok = "localhost", true
	}
	if !ok {
		s.decide(c.RemoteAddr(), false, "tcp", "", port, orig.String(), "raw IP connection: the address was not handed out by pent's DNS for an allowed name")
		return
	}
	addrs, err := s.admit(c.RemoteAddr(), "tcp", name, port, orig.String())
	if err != nil {
		return
	}
	s.relayChecked(c, bufio.NewReaderSize(c, relayBufferSize), addrs, "tcp", name, port)
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
		s.decide(c.RemoteAddr(), false, "socks5", t.name, t.port, "", "bad SOCKS5 request: "+err.Error())
		return
	}
	name, err := s.bindName(t.name, t.addr)
	if err != nil {
		socksReply(c, socksNotAllowed)
		s.decide(c.RemoteAddr(), false, "socks5", "", t.port, t.addr.String()+t.name, err.Error())
		return
	}
	addrs, err := s.admit(c.RemoteAddr(), "socks5", name, t.port, "")
	if err != nil {
		code := byte(socksHostUnreach)
		if isDenial(err) {
			code = socksNotAllowed
		}
		socksReply(c, code)
		return
	}
	socksReply(c, socksSucceeded)
	s.relayChecked(c, br, addrs, "socks5", name, t.port)
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
	if name, ok := s.names.nameOf(addr); ok {
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
		return deny("port %d is not allowed for %s — %s", port, name, allowFix(name+":"+strconv.Itoa(port)))
	default:
		return deny("%s is not allowed — %s", name, allowFix(name))
	}
}

// allowFix is the fix for a refused allowlist entry: the flag of a one-off
// run and the config key of a project.
func allowFix(entry string) string {
	return fmt.Sprintf("allow it with `pent run --allow %s` or add %q to [proxy] domain_allowlist", entry, entry)
}

// admit checks name and port and resolves name to the addresses the policy
// lets it reach, logging a refusal. Nothing is dialled yet.
func (s *session) admit(from net.Addr, kind, name string, port int, orig string) ([]netip.Addr, error) {
	err := s.checkName(name, port)
	var addrs []netip.Addr
	if err == nil {
		addrs, err = s.resolveAllowed(context.Background(), name, port)
	}
	if err != nil {
		s.decideErr(from, kind, name, port, orig, err)
	}
	return addrs, err
}

// decideErr logs a refused connection: a denial with its reason, anything
// else as an upstream failure.
func (s *session) decideErr(from net.Addr, kind, name string, port int, addr string, err error) {
	reason := err.Error()
	if !isDenial(err) {
		reason = "upstream failed: " + reason
	}
	s.decide(from, false, kind, name, port, addr, reason)
}

func isDenial(err error) bool {
	var d *denial
	return errors.As(err, &d)
}

// dialName resolves name on the host side and dials the first address the
// policy lets it reach.
func (s *session) dialName(ctx context.Context, name string, port int) (net.Conn, error) {
	addrs, err := s.resolveAllowed(ctx, name, port)
	if err != nil {
		return nil, err
	}
	return dialFirst(ctx, addrs, port)
}

// resolveAllowed resolves name on the host side and returns the addresses
// the policy lets it reach on port: not a refused range or one of the
// host's own addresses unless [proxy] destinations lists it, loopback only
// for a host-local name (or a range destinations marks upstream:), never
// one of the proxy's own listeners. None is a denial.
func (s *session) resolveAllowed(ctx context.Context, name string, port int) ([]netip.Addr, error) {
	addrs, _, err := s.lookup(ctx, name)
	if errors.Is(err, errNXDomain) {
		return nil, fmt.Errorf("%s does not resolve (NXDOMAIN from the upstream DNS server)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("resolving %s upstream: %w", name, err)
	}
	own, err := s.p.hostAddrs()
	if err != nil {
		return nil, err
	}
	pol := s.p.Policy()
	_, hostLocal := pol.Local[name]
	var allowed []netip.Addr
	var refused, loopback, loops []string
	for _, a := range addrs {
		switch {
		case s.p.isListener(netip.AddrPortFrom(a, uint16(port)), own):
			loops = append(loops, a.String())
		case pol.DestinationAllowed(a, own, hostLocal):
			allowed = append(allowed, a)
		case !hostLocal && pol.DestinationAllowed(a, own, true):
			loopback = append(loopback, a.String())
		default:
			refused = append(refused, a.String())
		}
	}
	switch {
	case len(allowed) > 0:
		return allowed, nil
	case len(loops) > 0:
		return nil, deny("%s:%d is pent's own proxy listener", name, port)
	case len(loopback) > 0:
		return nil, deny("%s resolves upstream to %s, this host's loopback, which only host-local names reach (allow localhost:%d, or a name of /etc/hosts with its port)", name, strings.Join(loopback, ", "), port)
	case len(refused) == 0:
		return nil, fmt.Errorf("%s has no address upstream", name)
	}
	return nil, deny("%s resolves to %s, a refused destination range or this host's own address (list it in [proxy] destinations)", name, strings.Join(refused, ", "))
}

// lookup resolves name: a host-local name the policy lists (Policy.Local)
// from the host's own table, never upstream; any other name upstream.
func (s *session) lookup(ctx context.Context, name string) ([]netip.Addr, uint32, error) {
	if addrs, ok := s.p.Policy().Local[name]; ok {
		return addrs, maxClientTTL, nil
	}
	return s.p.res.lookupAddrs(ctx, name)
}

// dialFirst connects to the first of addrs that answers.
func dialFirst(ctx context.Context, addrs []netip.Addr, port int) (net.Conn, error) {
	var errs []error
	d := net.Dialer{Timeout: dialTimeout}
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// firstBytesWait is how long the relay waits for a client to speak before it
// connects upstream without having seen its first bytes: clients of
// server-speaks-first protocols (SMTP, MySQL, FTP) send nothing until the
// server greets them. A client that speaks within it (TLS, HTTP, SSH) has its
// first bytes decided before anything is dialled; a later first byte is
// still decided before it is forwarded.
const firstBytesWait = 300 * time.Millisecond

// clientProto is what a client's first bytes turned out to be.
type clientProto int

const (
	protoSilent clientProto = iota // nothing yet
	protoTLS                       // a TLS ClientHello whose SNI (if any) matches
	protoHTTP                      // an HTTP/1 request: every request is checked
	protoOther                     // another protocol: bound by name only
	protoToken                     // only token bytes so far: a word, or part of an HTTP method
)

// relayChecked decides the client's first bytes (TLS SNI, HTTP Host), then
// dials one of addrs and relays. Upstream data flows at once (banner-first
// protocols work); nothing of the client's reaches upstream before it is
// decided, and a plain-HTTP stream has every request decided.
func (s *session) relayChecked(client *net.TCPConn, br *bufio.Reader, addrs []netip.Addr, kind, name string, port int) {
	proto, err := sniffClient(client, br, name, port, firstBytesWait)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.decideErr(client.RemoteAddr(), kind, name, port, "", err)
		}
		return
	}
	up, err := dialFirst(context.Background(), addrs, port)
	if err != nil {
		s.decideErr(client.RemoteAddr(), kind, name, port, "", err)
		return
	}
	defer up.Close()
	s.decide(client.RemoteAddr(), true, kind, name, port, up.RemoteAddr().String(), "allowed name")
	down := make(chan struct{})
	go func() {
		copyHalf(client, up)
		close(down)
	}()
	if proto == protoSilent {
		proto, err = sniffClient(client, br, name, port, 0)
	}
	if err == nil && proto == protoToken {
		proto, err = relayTokens(br, up)
	}
	if err == nil {
		err = relayClient(client, br, up, proto, name, port)
	}
	if err != nil {
		if isDenial(err) {
			s.decide(client.RemoteAddr(), false, kind, name, port, up.RemoteAddr().String(), err.Error())
		}
		client.Close()
		up.Close()
	}
	<-down
}

// relayTokens serves a client whose first bytes are only token characters:
// a word it may wait to have answered, or the start of an HTTP method. Each
// part is forwarded as it comes, as long as everything sent so far plus the
// new bytes could still become a request line; once they cannot, the
// stream is protoOther. If they do form an HTTP request line, its head
// would reach upstream in parts and cannot be decided as one: that
// connection is refused before the line is complete upstream. (HTTP clients
// write a request head at once; none splits its method.)
func relayTokens(br *bufio.Reader, up net.Conn) (clientProto, error) {
	var sent []byte
	for {
		b, _ := br.Peek(br.Buffered())
		switch err := sniffRequestLine(append(slices.Clone(sent), b...)); {
		case errors.Is(err, errNotHTTP):
			return protoOther, nil
		case err == nil:
			return protoOther, deny("refused: an HTTP request line that arrived in parts after its method was forwarded")
		case !errors.Is(err, errIncomplete):
			return protoOther, deny("refused: %v", err)
		}
		if _, err := up.Write(b); err != nil {
			return protoOther, err
		}
		sent = append(sent, b...)
		_, _ = br.Discard(len(b))
		if _, err := br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return protoOther, nil // the raw relay passes the half-close on
			}
			return protoOther, err
		}
	}
}

// relayClient forwards the client's side once its first bytes are decided.
func relayClient(client *net.TCPConn, br *bufio.Reader, up net.Conn, proto clientProto, name string, port int) error {
	if proto == protoHTTP {
		if err := relayHTTPRequests(br, up, name, port); err != nil {
			return err
		}
		if cw, ok := up.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		return nil
	}
	if n := br.Buffered(); n > 0 {
		head, _ := br.Peek(n)
		if _, err := up.Write(head); err != nil {
			return err
		}
		_, _ = br.Discard(n)
	}
	copyHalf(up, client) // the rest straight from the connection, past the emptied bufio.Reader
	return nil
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

// sniffClient waits for the client's first bytes and decides the name they
// carry, if any, against the bound name. With wait > 0 a client that sends
// nothing within wait is protoSilent; with wait 0 it waits as long as the
// client stays connected. A client that closes before sending anything
// returns io.EOF; one that closes in the middle of a header is refused.
func sniffClient(c *net.TCPConn, br *bufio.Reader, name string, port int, wait time.Duration) (clientProto, error) {
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	if wait > 0 {
		_ = c.SetReadDeadline(time.Now().Add(wait))
	} else {
		_ = c.SetReadDeadline(time.Time{})
	}
	if _, err := br.Peek(1); err != nil {
		if isTimeoutErr(err) {
			return protoSilent, nil
		}
		return protoSilent, err
	}
	_ = c.SetReadDeadline(time.Now().Add(headTimeout))
	proto, claimed, what := protoOther, "", ""
	err := peekParse(br, func(b []byte) error {
		if b[0] == 0x16 {
			proto, what = protoTLS, "TLS SNI"
			sni, err := parseClientHello(b)
			claimed = sni
			return err
		}
		switch err := sniffRequestLine(b); {
		case errors.Is(err, errNotHTTP):
			proto = protoOther
			return nil
		case errors.Is(err, errIncomplete) && !bytes.ContainsAny(b, " \t\v\f"):
			// A word that may wait for its answer (an echo, a prompt):
			// relayTokens forwards it and keeps watching.
			proto = protoToken
			return nil
		case err != nil:
			return err
		}
		proto, what = protoHTTP, "HTTP Host"
		h, err := parseRequestHead(b, port)
		claimed = h.host
		return err
	})
	if err != nil {
		return proto, deny("refused: %v", err)
	}
	if claimed != "" && claimed != name {
		return proto, deny("%s %q does not match %s, the name this connection was resolved for", what, claimed, name)
	}
	return proto, nil
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
