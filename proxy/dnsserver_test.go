package proxy

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestDNSServer(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "*.test", "alias.test", "txt.test", "big.test", "xfr.test")
	_, dnsAddr, dnsTCP := loopbackSession(t, p)

	for network, server := range map[string]string{"udp": dnsAddr, "tcp": dnsTCP} {
		r := query(t, network, server, "www.test", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("%s: A www.test: %v", network, r)
		}
		a := r.Answer[0].(*dns.A)
		addr, _ := netip.AddrFromSlice(a.A.To4())
		if !syntheticNet.Contains(addr) || a.Hdr.Ttl > maxClientTTL {
			t.Fatalf("answer %v is not synthetic or TTL too long", a)
		}
		if ptr := query(t, network, server, mustReverse(t, addr), dns.TypePTR); len(ptr.Answer) != 1 || ptr.Answer[0].(*dns.PTR).Ptr != "www.test." {
			t.Fatalf("synthetic %s is not bound to www.test: %v", addr, ptr)
		}
		// Same name, same address; another name, another address.
		if r2 := query(t, network, server, "WWW.test.", dns.TypeA); r2.Answer[0].(*dns.A).A.String() != a.A.String() {
			t.Fatal("same name got a different synthetic address")
		}
		if r3 := query(t, network, server, "other.test", dns.TypeA); r3.Answer[0].(*dns.A).A.String() == a.A.String() {
			t.Fatal("two names share one synthetic address")
		}
	}

	tests := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
	}{
		{"secret.data.exfil.example", dns.TypeA, dns.RcodeNameError, 0},
		{"secret.exfil.example", dns.TypeTXT, dns.RcodeNameError, 0},
		{"secret.exfil.example", dns.TypeNULL, dns.RcodeNameError, 0},
		{"secret.exfil.example", dns.TypeMX, dns.RcodeNameError, 0},
		{"a.b.test", dns.TypeA, dns.RcodeNameError, 0}, // *.test is one label only
		{"www.test", dns.TypeAAAA, dns.RcodeSuccess, 0},
		{"www.test", dns.TypeHTTPS, dns.RcodeSuccess, 0},
		{"alias.test", dns.TypeA, dns.RcodeSuccess, 1}, // CNAME chain leaving the answer is followed
		{"txt.test", dns.TypeTXT, dns.RcodeSuccess, 1}, // forwarded, address records stripped
		{"big.test", dns.TypeTXT, dns.RcodeSuccess, 40},
		{"xfr.test", dns.TypeAXFR, dns.RcodeRefused, 0},
		{"missing.nx", dns.TypeA, dns.RcodeNameError, 0},
	}
	for _, tc := range tests {
		r := query(t, "tcp", dnsTCP, tc.name, tc.qtype)
		if r.Rcode != tc.rcode || len(r.Answer) != tc.answers {
			t.Errorf("%s %s: rcode %s, %d answers; want %s, %d", dns.TypeToString[tc.qtype], tc.name,
				dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tc.rcode], tc.answers)
		}
		for _, rr := range r.Answer {
			if rr.Header().Ttl > maxClientTTL {
				t.Errorf("%s: TTL %d not capped", tc.name, rr.Header().Ttl)
			}
		}
	}
	// Over UDP a large answer is truncated so the client retries over TCP.
	if r := query(t, "udp", dnsAddr, "big.test", dns.TypeTXT); !r.Truncated {
		t.Error("large UDP answer not truncated")
	}
	if u.sawName("exfil") || u.sawName("a.b.test") || u.sawName("missing") || u.sawName("xfr") {
		t.Errorf("denied names reached upstream: %v", u.queries())
	}
	if !u.sawName("outside.chain.") {
		t.Errorf("CNAME chain not followed upstream: %v", u.queries())
	}
	// Reverse lookup of a synthetic address gives its name.
	r := query(t, "udp", dnsAddr, "www.test", dns.TypeA)
	rev, _ := dns.ReverseAddr(r.Answer[0].(*dns.A).A.String())
	if pr := query(t, "udp", dnsAddr, rev, dns.TypePTR); len(pr.Answer) != 1 || pr.Answer[0].(*dns.PTR).Ptr != "www.test." {
		t.Errorf("PTR %s: %v", rev, pr)
	}
	if !strings.Contains(string(p.Logs(100)), `"action":"deny","kind":"dns","name":"secret.data.exfil.example"`) {
		t.Errorf("denial not logged:\n%s", p.Logs(100))
	}
}

func TestDNSConcurrent(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "*.test")
	_, dnsAddr, _ := loopbackSession(t, p)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 100 {
		wg.Go(func() {
			name := "n" + string(rune('a'+i%26)) + ".test"
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(name), dns.TypeA)
			r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, dnsAddr)
			if err != nil || len(r.Answer) != 1 {
				errs <- name
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent query %s failed", e)
	}
}

// TestUpstreamValidation sends the proxy's upstream query to a server that
// first answers with a wrong ID and a wrong question, then correctly: only
// the valid answer is accepted.
func TestUpstreamValidation(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ids := make(chan uint16, 4)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil {
				continue
			}
			ids <- req.Id
			bad := new(dns.Msg)
			bad.SetReply(req)
			bad.Id = req.Id + 1
			bad.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 9}, A: net.IPv4(6, 6, 6, 6)}}
			wrongQ := bad.Copy()
			wrongQ.Id = req.Id
			wrongQ.Question[0].Name = "evil.test."
			good := new(dns.Msg)
			good.SetReply(req)
			good.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 9}, A: net.IPv4(1, 2, 3, 4)}}
			for _, m := range []*dns.Msg{bad, wrongQ} {
				b, _ := m.Pack()
				_, _ = pc.WriteTo(b, from)
			}
			_, _ = pc.WriteTo([]byte("garbage"), from)
			b, _ := good.Pack()
			_, _ = pc.WriteTo(b, from)
		}
	}()
	r := newResolver(dnsClient{upstreams: func() []string { return []string{pc.LocalAddr().String()} }}, time.Now)
	for range 2 {
		r.cache = map[string]cachedA{}
		addrs, ttl, err := r.lookupAddrs(context.Background(), "x.test")
		if err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddr("1.2.3.4") || ttl != 9 {
			t.Fatalf("lookupAddrs = %v %d %v", addrs, ttl, err)
		}
	}
	if a, b := <-ids, <-ids; a == b {
		t.Errorf("two queries used the same ID %d", a)
	}
}

func FuzzDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"www.test.", dns.TypeA}, {"x.evil.", dns.TypeTXT}, {"a.test.", dns.TypeNULL}, {"1.0.19.198.in-addr.arpa.", dns.TypePTR}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(4096, true)
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0})
	p := New(&Policy{Allow: mustAllow(f, "*.test")}, nil)
	ex := &recordingExchanger{}
	p.res = newResolver(ex, time.Now)
	s := p.newSession(SessionInfo{ID: "fuzz"})
	f.Fuzz(func(t *testing.T, b []byte) {
		req := new(dns.Msg)
		if req.Unpack(b) != nil {
			return
		}
		resp := s.answerDNS(context.Background(), nil, req)
		if resp == nil || resp.Id != req.Id || !resp.Response {
			t.Fatalf("bad response %v", resp)
		}
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("response does not pack: %v", err)
		}
		for _, q := range ex.take() {
			if !p.Policy().Allow.AllowsName(q) {
				t.Fatalf("denied name %q sent upstream", q)
			}
		}
	})
}

// recordingExchanger answers every question with one A record and records
// the names asked.
type recordingExchanger struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordingExchanger) Exchange(_ context.Context, q dns.Question) (*dns.Msg, error) {
	r.mu.Lock()
	r.seen = append(r.seen, q.Name)
	r.mu.Unlock()
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Qtype)
	m.Response = true
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.IPv4(1, 2, 3, 4)}}
	return m, nil
}

func (r *recordingExchanger) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

func mustAllow(t testing.TB, entries ...string) *Allowlist {
	a, err := ParseAllowlist(entries)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustReverse(t testing.TB, a netip.Addr) string {
	t.Helper()
	r, err := dns.ReverseAddr(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSessionsDoNotEvictEachOther: one sandbox that looks up more names than
// the synthetic pool holds (a **.x rule makes that easy) recycles only its
// own addresses; another session's names stay bound. The daemon used to
// share one table between all its sessions.
func TestSessionsDoNotEvictEachOther(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "**.test")
	p.namesPerSession = 8
	flood := 3 * p.namesPerSession
	_, victimDNS, _ := loopbackSession(t, p)
	_, floodDNS, _ := loopbackSession(t, p)
	r := query(t, "udp", victimDNS, "victim.test", dns.TypeA)
	if len(r.Answer) != 1 {
		t.Fatalf("A victim.test: %v", r)
	}
	victim, _ := netip.AddrFromSlice(r.Answer[0].(*dns.A).A.To4())
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	for i := range flood {
		m := new(dns.Msg)
		m.SetQuestion("n"+strconv.Itoa(i)+".flood.test.", dns.TypeA)
		if _, _, err := c.Exchange(m, floodDNS); err != nil {
			t.Fatal(err)
		}
	}
	if ptr := query(t, "udp", victimDNS, mustReverse(t, victim), dns.TypePTR); len(ptr.Answer) != 1 || ptr.Answer[0].(*dns.PTR).Ptr != "victim.test." {
		t.Fatalf("after another session looked up %d names, %s is no longer bound to victim.test: %v", flood, victim, ptr)
	}
	if again := query(t, "udp", victimDNS, "victim.test", dns.TypeA); again.Answer[0].(*dns.A).A.String() != victim.String() {
		t.Fatalf("victim.test moved from %s to %s", victim, again.Answer[0].(*dns.A).A)
	}
}
