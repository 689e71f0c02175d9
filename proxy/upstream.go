package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Upstream query limits.
const (
	upstreamTimeout = 3 * time.Second
	maxCNAMEHops    = 8
	minCacheTTL     = 5 * time.Second
	maxCacheTTL     = time.Hour
)

// errNXDomain reports that upstream says the name does not exist.
var errNXDomain = errors.New("name does not exist")

// exchanger sends one question upstream and returns a validated answer.
type exchanger interface {
	Exchange(ctx context.Context, q dns.Question) (*dns.Msg, error)
}

// dnsClient is the real exchanger: it asks the policy's upstream servers in
// order with a random query ID and accepts only an answer that comes from the
// server asked (connected sockets), carries the same ID and echoes the
// question. Truncated UDP answers are retried over TCP.
type dnsClient struct {
	upstreams func() []string
}

// Exchange implements exchanger.
func (c dnsClient) Exchange(ctx context.Context, q dns.Question) (*dns.Msg, error) {
	servers := c.upstreams()
	if len(servers) == 0 {
		return nil, fmt.Errorf("no upstream DNS server configured")
	}
	var errs []error
	for _, s := range servers {
		m, err := exchangeWith(ctx, s, q)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func exchangeWith(ctx context.Context, server string, q dns.Question) (*dns.Msg, error) {
	m, err := exchangeNet(ctx, "udp", server, q)
	if err == nil && m.Truncated {
		m, err = exchangeNet(ctx, "tcp", server, q)
	}
	if err != nil {
		return nil, fmt.Errorf("dns %s %s via %s: %w", dns.TypeToString[q.Qtype], q.Name, server, err)
	}
	return m, nil
}

func exchangeNet(ctx context.Context, network, server string, q dns.Question) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	req := new(dns.Msg)
	req.SetQuestion(q.Name, q.Qtype)
	req.Id = dns.Id() // crypto/rand
	req.SetEdns0(1232, false)
	co := &dns.Conn{Conn: conn, UDPSize: 1232}
	if err := co.WriteMsg(req); err != nil {
		return nil, err
	}
	for {
		resp, err := co.ReadMsg()
		switch {
		case err != nil && network == "udp" && !isNetError(err):
			continue // an unparsable datagram: keep waiting for the real answer
		case err != nil:
			return nil, err
		case validAnswer(req, resp):
			return resp, nil
		case network == "tcp":
			return nil, fmt.Errorf("answer does not match the query")
		}
	}
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func validAnswer(req, resp *dns.Msg) bool {
	if resp == nil || !resp.Response || resp.Id != req.Id || len(resp.Question) != 1 {
		return false
	}
	a, b := resp.Question[0], req.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// resolver looks up the addresses of allowed names upstream (IPv4, or IPv6
// for a name without any), follows CNAME chains and caches results for their TTL (bounded to [minCacheTTL, maxCacheTTL]).
type resolver struct {
	ex  exchanger
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedA
}

type cachedA struct {
	addrs   []netip.Addr
	ttl     uint32
	expires time.Time
}

func newResolver(ex exchanger, now func() time.Time) *resolver {
	return &resolver{ex: ex, now: now, cache: map[string]cachedA{}}
}

// lookupAddrs returns the addresses of name (canonical, no trailing dot) and
// the smallest TTL along the chain: its IPv4 addresses, or its IPv6 ones when
// it has none (the sandbox reaches either through a synthetic IPv4 address).
// It returns errNXDomain when upstream says the name does not exist; no
// addresses with a nil error means NODATA.
func (r *resolver) lookupAddrs(ctx context.Context, name string) ([]netip.Addr, uint32, error) {
	r.mu.Lock()
	c, ok := r.cache[name]
	r.mu.Unlock()
	if ok && r.now().Before(c.expires) {
		left := uint32(c.expires.Sub(r.now()) / time.Second)
		return c.addrs, min(c.ttl, max(left, 1)), nil
	}
	addrs, ttl, err := r.resolveChain(ctx, name, dns.TypeA)
	if err == nil && len(addrs) == 0 {
		addrs, ttl, err = r.resolveChain(ctx, name, dns.TypeAAAA)
	}
	if err != nil {
		return nil, 0, err
	}
	keep := min(max(time.Duration(ttl)*time.Second, minCacheTTL), maxCacheTTL)
	r.mu.Lock()
	if len(r.cache) > 4096 {
		clear(r.cache)
	}
	r.cache[name] = cachedA{addrs: addrs, ttl: ttl, expires: r.now().Add(keep)}
	r.mu.Unlock()
	return addrs, ttl, nil
}

// resolveChain asks for qtype (A or AAAA) records of name, following CNAMEs.
func (r *resolver) resolveChain(ctx context.Context, name string, qtype uint16) ([]netip.Addr, uint32, error) {
	cur := dns.Fqdn(name)
	ttl := uint32(maxCacheTTL / time.Second)
	for range maxCNAMEHops {
		m, err := r.ex.Exchange(ctx, dns.Question{Name: cur, Qtype: qtype, Qclass: dns.ClassINET})
		if err != nil {
			return nil, 0, err
		}
		switch m.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			return nil, 0, errNXDomain
		default:
			return nil, 0, fmt.Errorf("upstream answered %s for %s", dns.RcodeToString[m.Rcode], cur)
		}
		addrs, next, chainTTL := walkAnswer(m.Answer, cur, qtype)
		ttl = min(ttl, chainTTL)
		if len(addrs) > 0 || next == "" {
			return addrs, ttl, nil
		}
		cur = next // the chain left the answer: ask for its end
	}
	return nil, 0, fmt.Errorf("CNAME chain of %s longer than %d", name, maxCNAMEHops)
}

// walkAnswer follows CNAMEs from owner within one answer section. It returns
// the addresses of the qtype (A or AAAA) records at the end of the chain, or the name the chain points at when
// the answer holds no records for it (next == "" when the chain simply ends).
func walkAnswer(answer []dns.RR, owner string, qtype uint16) (addrs []netip.Addr, next string, ttl uint32) {
	ttl = uint32(maxCacheTTL / time.Second)
	cur := owner
	for range maxCNAMEHops + 1 {
		var target string
		for _, rr := range answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) || h.Class != dns.ClassINET {
				continue
			}
			switch v := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok && qtype == dns.TypeA {
					addrs = append(addrs, a)
					ttl = min(ttl, h.Ttl)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA.To16()); ok && qtype == dns.TypeAAAA {
					addrs = append(addrs, a)
					ttl = min(ttl, h.Ttl)
				}
			case *dns.CNAME:
				target = v.Target
				ttl = min(ttl, h.Ttl)
			}
		}
		if len(addrs) > 0 || target == "" {
			return addrs, "", ttl
		}
		if !answerHasOwner(answer, target) {
			return nil, target, ttl
		}
		cur = target
	}
	return nil, "", ttl
}

func answerHasOwner(answer []dns.RR, name string) bool {
	for _, rr := range answer {
		if strings.EqualFold(rr.Header().Name, name) {
			return true
		}
	}
	return false
}
