package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Loopback is an authenticated proxy listener on the host's 127.0.0.1 that
// serves one sandbox, where there is no network namespace to capture
// traffic in (macOS: the sandbox profile lets the command connect to this
// port alone). Any local process can connect to it, so every request must
// carry the session's token: HTTP requests and CONNECT in a Basic
// Proxy-Authorization header, SOCKS5 by user/password authentication
// (RFC 1929), the user being "pent" and the password the token. It speaks
// only the proxy-aware protocols; names are resolved by the proxy and
// decided by the same allowlist, destination and name-binding rules as a
// capture session.
type Loopback struct {
	// Port is the listener's TCP port on 127.0.0.1.
	Port int
	// Token is the session's secret (64 hex digits).
	Token string

	close func() error
}

// Close ends the session: the listener and every connection accepted from
// it are closed when Close returns. Later calls return what the first did.
func (l *Loopback) Close() error { return l.close() }

// ServeLoopback opens an authenticated listener on 127.0.0.1 with a fresh
// random token and serves it until ctx is done or the Loopback is closed.
func (p *Proxy) ServeLoopback(ctx context.Context, info SessionInfo) (*Loopback, error) {
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("proxy: loopback listener: %w", err)
	}
	s := p.newSession(info)
	s.tcp, s.token = ln, []byte(token)
	p.sessions.Add(1)
	unlist := p.addListener(ln.Addr().(*net.TCPAddr).AddrPort())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		err := s.serveLoopback(ctx)
		unlist()
		p.sessions.Add(-1)
		p.touch()
		done <- err
	}()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() {
			cancel()
			result = <-done
		})
		return result
	}
	return &Loopback{Port: ln.Addr().(*net.TCPAddr).Port, Token: token, close: stop}, nil
}

// serveLoopback accepts until ctx is done, then closes the listener and
// every connection. An error means the listener failed before that.
func (s *session) serveLoopback(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.acceptLoop() }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("proxy: loopback session %s stopped: %w", s.info.ID, err)
	}
	s.shutdown()
	return err
}

// SessionLoopback asks the daemon for an authenticated loopback listener
// serving one sandbox (see Loopback). The daemon serves it until the
// returned Loopback is closed, or this process exits.
func (c *Client) SessionLoopback() (*Loopback, error) {
	conn, r, err := c.openSession(request{Op: opSessionLoopback}, nil)
	if err != nil {
		return nil, err
	}
	if r.Port < 1 || r.Port > 65535 || !validToken(r.Token) {
		conn.Close()
		return nil, errors.New("proxy: the daemon's loopback session has no valid port and token")
	}
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() { result = sessionCloser{conn}.Close() })
		return result
	}
	return &Loopback{Port: r.Port, Token: r.Token, close: stop}, nil
}

// serveLoopback serves an authenticated loopback listener for the client
// on c until the client closes its connection or the daemon stops; the
// listener is closed before c is.
func (d *daemon) serveLoopback(c *net.UnixConn, pid int) {
	d.sessions.Add(1)
	defer d.sessions.Done()
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	lb, err := d.proxy.ServeLoopback(ctx, SessionInfo{PID: pid})
	if err != nil {
		_ = writeResponse(c, response{Error: err.Error()})
		return
	}
	defer lb.Close()
	if err := writeResponse(c, response{OK: true, Port: lb.Port, Token: lb.Token}); err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(io.Discard, c) // returns when the client goes away
		cancel()
	}()
	<-ctx.Done()
	if err := lb.Close(); err != nil {
		d.logf("%v", err)
	}
}
