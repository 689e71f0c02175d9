package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// Proxy holds what all sessions of one project share: the current policy,
// the upstream resolver cache and the decision log. Each session has its own
// synthetic name table, so that no sandbox can evict another's names.
type Proxy struct {
	policy atomic.Pointer[Policy]
	res    *resolver
	// namesPerSession is the size of each session's synthetic address pool.
	namesPerSession int
	log             *decisionLog
	now             func() time.Time
	// hostAddrs lists the host's own addresses (every interface); an
	// allowed name resolving to one is refused unless Destinations lists it.
	hostAddrs func() ([]netip.Addr, error)
	// ownerScan bounds the time of one refusal's process lookup (Linux).
	ownerScan time.Duration

	listenMu  sync.Mutex
	listeners map[netip.AddrPort]struct{} // the proxy's own TCP listeners on the host

	started      time.Time
	sessions     atomic.Int64
	conns        atomic.Int64
	lastActivity atomic.Int64 // unix nanoseconds
	sessionSeq   atomic.Int64
}

// maxOwnerScan is how long one refusal's process lookup may take
// (Proxy.ownerScan): a sandbox cannot make an answer wait longer by holding
// many descriptors.
const maxOwnerScan = 100 * time.Millisecond

// New returns a Proxy enforcing pol and writing one JSON line per decision to
// logw (which may be nil).
func New(pol *Policy, logw io.Writer) *Proxy {
	p := &Proxy{log: newDecisionLog(logw), now: time.Now, hostAddrs: interfaceAddrs, ownerScan: maxOwnerScan, listeners: map[netip.AddrPort]struct{}{}}
	p.policy.Store(pol)
	p.namesPerSession = syntheticPoolSize
	p.res = newResolver(dnsClient{upstreams: func() []string { return p.policy.Load().Upstreams }}, p.now)
	p.started = p.now()
	p.touch()
	return p
}

// SetPolicy replaces the policy; connections already relayed keep running,
// every later DNS query and connection is decided by pol.
func (p *Proxy) SetPolicy(pol *Policy) { p.policy.Store(pol) }

// Policy returns the policy in force.
func (p *Proxy) Policy() *Policy { return p.policy.Load() }

// Stats is a snapshot for `pent proxy status`.
type Stats struct {
	Sessions    int64
	Connections int64
	Uptime      time.Duration
	Idle        time.Duration
}

// Stats returns current counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Sessions:    p.sessions.Load(),
		Connections: p.conns.Load(),
		Uptime:      p.now().Sub(p.started),
		Idle:        p.now().Sub(time.Unix(0, p.lastActivity.Load())),
	}
}

// Logs returns up to n recent decision lines (JSON, oldest first).
func (p *Proxy) Logs(n int) []byte { return p.log.tail(n) }

// interfaceAddrs returns the addresses of every interface of the host.
func interfaceAddrs() ([]netip.Addr, error) {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing the host's addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range ifAddrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if addr, ok := netip.AddrFromSlice(ipn.IP); ok {
				out = append(out, addr.Unmap())
			}
		}
	}
	return out, nil
}

// addListener records one of the proxy's own listeners on the host until
// the returned function is called: the proxy never dials it.
func (p *Proxy) addListener(ap netip.AddrPort) (remove func()) {
	p.listenMu.Lock()
	p.listeners[ap] = struct{}{}
	p.listenMu.Unlock()
	return func() {
		p.listenMu.Lock()
		delete(p.listeners, ap)
		p.listenMu.Unlock()
	}
}

// isListener reports whether dialling ap could reach one of the proxy's own
// listeners: its exact address, or any address of this host (loopback,
// unspecified, or one of own) on a listener's port, since a listener on a
// wildcard address answers on all of them.
func (p *Proxy) isListener(ap netip.AddrPort, own []netip.Addr) bool {
	a := ap.Addr().Unmap()
	local := a.IsLoopback() || a.IsUnspecified() || slices.Contains(own, a)
	p.listenMu.Lock()
	defer p.listenMu.Unlock()
	for l := range p.listeners {
		if l.Port() == ap.Port() && (local || l.Addr() == a) {
			return true
		}
	}
	return false
}

func (p *Proxy) touch() { p.lastActivity.Store(p.now().UnixNano()) }

// SessionInfo labels a session's decisions.
type SessionInfo struct {
	// ID names the session in logs; empty means one is assigned.
	ID string
	// PID is the pent process that opened the session, if known.
	PID int
}

// ServeSession serves one sandbox's capture sockets until ctx is done:
// files are the TCP listener (transparent and proxy-aware traffic), the UDP
// DNS socket and the TCP DNS listener, in that order (CaptureFiles.Files).
// ServeSession owns the files: on return they, and every connection accepted
// from them, are closed, so nothing keeps the sandbox's netns alive.
func (p *Proxy) ServeSession(ctx context.Context, info SessionInfo, files ...*os.File) error {
	return p.serveSession(ctx, info, files, nil)
}

// StartSession serves a session like ServeSession, in a new goroutine, and
// returns once it serves (its sockets are validated and it has its ID), or
// with the error that ended it before it did. done then receives
// ServeSession's result once ctx is done.
func (p *Proxy) StartSession(ctx context.Context, info SessionInfo, files ...*os.File) (done <-chan error, err error) {
	result := make(chan error, 1)
	serving := make(chan struct{})
	go func() { result <- p.serveSession(ctx, info, files, func(string) { close(serving) }) }()
	select {
	case <-serving:
		return result, nil
	case err := <-result:
		if err == nil {
			err = errors.New("the session ended before it served")
		}
		return nil, err
	}
}

// serveSession is ServeSession with a callback run once the sockets are
// validated and the session has its ID.
func (p *Proxy) serveSession(ctx context.Context, info SessionInfo, files []*os.File, ready func(id string)) error {
	s, err := p.openSession(info, files)
	closeFiles(files) // the session holds its own duplicates
	if err != nil {
		return err
	}
	p.sessions.Add(1)
	defer func() {
		p.sessions.Add(-1)
		p.touch()
	}()
	return s.serve(ctx, func() {
		if ready != nil {
			ready(s.info.ID)
		}
	})
}

// session is one sandbox's sockets and the connections accepted from them.
type session struct {
	p     *Proxy
	info  SessionInfo
	names *nameTable // the synthetic addresses this session's DNS handed out
	// netns is the inode of the network namespace of a capture session's
	// sockets (the sandbox's), where refusals are attributed; 0 when
	// unknown.
	netns uint64

	tcp    *net.TCPListener
	dnsUDP net.PacketConn
	dnsTCP *net.TCPListener
	// token is what every request on an authenticated loopback listener
	// must carry (ServeLoopback); nil for a capture session.
	token []byte

	mu     sync.Mutex
	tr     *http.Transport // created on the first plain-HTTP proxy request
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	// attr is what the refusals' process lookups keep (see attribute).
	//lint:ignore U1000 only Linux attributes refusals (owner_linux.go)
	attr attribution
}

// newSession returns a session without sockets, with an ID.
func (p *Proxy) newSession(info SessionInfo) *session {
	if info.ID == "" {
		info.ID = "s" + strconv.FormatInt(p.sessionSeq.Add(1), 10)
	}
	return &session{p: p, info: info, names: newNameTable(p.now, p.namesPerSession), conns: map[net.Conn]struct{}{}}
}

func (p *Proxy) openSession(info SessionInfo, files []*os.File) (*session, error) {
	if len(files) != 3 {
		return nil, fmt.Errorf("proxy: session needs 3 sockets (tcp, dns udp, dns tcp), got %d", len(files))
	}
	s := p.newSession(info)
	var errs []error
	for i, want := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_STREAM} {
		if err := checkSocket(files[i], want); err != nil {
			errs = append(errs, fmt.Errorf("proxy: session socket %d: %w", i, err))
		}
	}
	if len(errs) == 0 {
		s.tcp, errs = fileTCPListener(files[0], errs)
		s.dnsUDP, errs = filePacketConn(files[1], errs)
		s.dnsTCP, errs = fileTCPListener(files[2], errs)
	}
	if err := errors.Join(errs...); err != nil {
		s.closeSockets()
		return nil, err
	}
	// Without the namespace refusals name the pent process alone; the
	// policy is the same.
	s.netns, _ = socketNetns(files[0])
	return s, nil
}

// checkSocket makes sure f is an IPv4/IPv6 socket of the wanted type; a
// stream socket must be listening.
func checkSocket(f *os.File, sockType int) error {
	fd := int(f.Fd())
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("not a socket: %w", err)
	}
	if typ != sockType {
		return fmt.Errorf("socket type %d, want %d", typ, sockType)
	}
	switch sa, err := unix.Getsockname(fd); sa.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6:
	default:
		return fmt.Errorf("not an IP socket (%v)", err)
	}
	if sockType == unix.SOCK_STREAM {
		acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		if err != nil || acc != 1 {
			return fmt.Errorf("stream socket is not listening")
		}
	}
	return nil
}

func fileTCPListener(f *os.File, errs []error) (*net.TCPListener, []error) {
	l, err := net.FileListener(f)
	if err != nil {
		return nil, append(errs, fmt.Errorf("proxy: session listener: %w", err))
	}
	return l.(*net.TCPListener), errs
}

func filePacketConn(f *os.File, errs []error) (net.PacketConn, []error) {
	c, err := net.FilePacketConn(f)
	if err != nil {
		return nil, append(errs, fmt.Errorf("proxy: session DNS socket: %w", err))
	}
	return c, errs
}

func (s *session) closeSockets() {
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.dnsUDP != nil {
		s.dnsUDP.Close()
	}
	if s.dnsTCP != nil {
		s.dnsTCP.Close()
	}
}

func (s *session) serve(ctx context.Context, ready func()) error {
	udpSrv := &dns.Server{PacketConn: s.dnsUDP, Handler: s.dnsHandler()}
	tcpSrv := &dns.Server{Listener: s.dnsTCP, Handler: s.dnsHandler()}
	errc := make(chan error, 3)
	for _, srv := range []*dns.Server{udpSrv, tcpSrv} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			s.shutdown(udpSrv, tcpSrv)
			return fmt.Errorf("proxy: DNS server: %w", err)
		}
	}
	go func() { errc <- s.acceptLoop() }()
	ready()
	select {
	case <-ctx.Done():
	case err := <-errc:
		s.shutdown(udpSrv, tcpSrv)
		return fmt.Errorf("proxy: session %s stopped: %w", s.info.ID, err)
	}
	s.shutdown(udpSrv, tcpSrv)
	return nil
}

// shutdown closes the sockets and every connection of the session and waits
// for their goroutines.
func (s *session) shutdown(servers ...*dns.Server) {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	for _, srv := range servers {
		_ = srv.Shutdown() // closes its socket and its TCP connections; "not started" is fine
	}
	s.closeSockets()
	s.wg.Wait()
	if s.tr != nil {
		s.tr.CloseIdleConnections()
	}
}

func (s *session) acceptLoop() error {
	var delay time.Duration
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				delay = min(max(delay*2, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.track(c) {
			c.Close()
			return net.ErrClosed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

// track registers c so that shutdown closes it; false once shut down.
func (s *session) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.p.conns.Add(1)
	s.p.touch()
	return true
}

func (s *session) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
	s.p.conns.Add(-1)
	s.p.touch()
}

// decide logs one decision about a flow from the client address from and
// returns allowed for convenient use. A refusal names the sandbox's process
// that made it where the proxy can find it.
func (s *session) decide(from net.Addr, allowed bool, kind, name string, port int, addr, reason string) bool {
	action := "deny"
	if allowed {
		action = "allow"
	}
	d := Decision{
		Time: s.p.now().UTC(), Action: action, Kind: kind, Name: name, Port: port,
		Addr: addr, Reason: reason, Session: s.info.ID, PID: s.info.PID,
	}
	s.attribute(&d, from)
	s.p.log.record(d)
	return allowed
}
