package proxy

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/pent-sandbox/pent/internal/testutil"
)

// fakeUpstream is the test's "internet" DNS: it answers *.test names with
// 127.0.0.1, alias.test with a CNAME chain, txt.test with a TXT record,
// private.test with 10.1.2.3, v6only.test with ::1 (AAAA only),
// ip-A-B-C-D.test with A.B.C.D, and NXDOMAIN for everything else. It records
// every question it sees.
type fakeUpstream struct {
	Addr string
	mu   sync.Mutex
	seen []string
}

func startUpstream(t testing.TB) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	l, pc := listenSamePort(t)
	u.Addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: u}, {Listener: l, Handler: u}} {
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return u
}

// listenSamePort opens a TCP listener and a UDP socket on one loopback port,
// retrying while the kernel's choice is taken for the other protocol.
func listenSamePort(t testing.TB) (net.Listener, net.PacketConn) {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp4", l.Addr().String())
		if err == nil {
			return l, pc
		}
		l.Close()
	}
	t.Fatal("no loopback port free for both TCP and UDP")
	return nil, nil
}

func (u *fakeUpstream) queries() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

func (u *fakeUpstream) sawName(sub string) bool {
	for _, q := range u.queries() {
		if strings.Contains(q, sub) {
			return true
		}
	}
	return false
}

func (u *fakeUpstream) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	u.mu.Lock()
	u.seen = append(u.seen, dns.TypeToString[q.Qtype]+" "+q.Name)
	u.mu.Unlock()
	resp := new(dns.Msg)
	resp.SetReply(req)
	name := strings.ToLower(q.Name)
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	switch {
	case name == "alias.test." && q.Qtype == dns.TypeA:
		resp.Answer = []dns.RR{rr("alias.test. 60 IN CNAME mid.test."), rr("mid.test. 30 IN CNAME outside.chain.")}
	case name == "outside.chain." && q.Qtype == dns.TypeA:
		resp.Answer = []dns.RR{rr("outside.chain. 20 IN A 127.0.0.1")}
	case name == "txt.test." && q.Qtype == dns.TypeTXT:
		resp.Answer = []dns.RR{rr(`txt.test. 3600 IN TXT "hello"`), rr("txt.test. 60 IN A 1.2.3.4")}
	case name == "big.test." && q.Qtype == dns.TypeTXT:
		for i := range 40 {
			resp.Answer = append(resp.Answer, rr(`big.test. 60 IN TXT "`+strings.Repeat("x", 100)+string(rune('a'+i%26))+`"`))
		}
		if w.LocalAddr().Network() == "udp" {
			resp.Answer, resp.Truncated = nil, true
		}
	case name == "private.test." && q.Qtype == dns.TypeA:
		resp.Answer = []dns.RR{rr("private.test. 60 IN A 10.1.2.3")}
	case strings.HasPrefix(name, "ip-") && q.Qtype == dns.TypeA:
		ip := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(name, "ip-"), ".test."), "-", ".")
		resp.Answer = []dns.RR{rr(q.Name + " 60 IN A " + ip)}
	case name == "v6only.test." && q.Qtype == dns.TypeA:
	case name == "v6only.test." && q.Qtype == dns.TypeAAAA:
		resp.Answer = []dns.RR{rr("v6only.test. 60 IN AAAA ::1")}
	case strings.HasSuffix(name, ".test.") && q.Qtype == dns.TypeA:
		resp.Answer = []dns.RR{rr(q.Name + " 60 IN A 127.0.0.1")}
	case strings.HasSuffix(name, ".test."):
	default:
		resp.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(resp)
}

// testProxy returns a Proxy allowing allow, resolving through u, allowed to
// reach loopback.
func testProxy(t testing.TB, u *fakeUpstream, allow ...string) *Proxy {
	t.Helper()
	pol, err := Compile(Settings{Allow: allow, UpstreamDNS: []string{u.Addr}, Destinations: []string{"upstream:127.0.0.0/8"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return New(pol, nil)
}

// captureLikeFiles opens loopback sockets shaped like CaptureFiles.
func captureLikeFiles(t testing.TB) (files []*os.File, proxyAddr, dnsUDP, dnsTCP string) {
	t.Helper()
	tl, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface {
		File() (*os.File, error)
		Close() error
	}{tl, pc, dl} {
		f, err := c.File()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		files = append(files, f)
	}
	return files, tl.Addr().String(), pc.LocalAddr().String(), dl.Addr().String()
}

// loopbackSession serves capture-like loopback sockets with p and returns
// the proxy listener and the UDP and TCP DNS addresses.
func loopbackSession(t testing.TB, p *Proxy) (proxyAddr, dnsUDP, dnsTCP string) {
	t.Helper()
	files, proxyAddr, dnsUDP, dnsTCP := captureLikeFiles(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.ServeSession(ctx, SessionInfo{ID: "test"}, files...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeSession: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ServeSession did not return")
		}
	})
	return proxyAddr, dnsUDP, dnsTCP
}

func query(t testing.TB, network, server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// countFDs counts this process's open descriptors, after letting the
// garbage collector close the pipes Go caches for splice(2).
func countFDs(t testing.TB) int {
	t.Helper()
	for range 3 {
		runtime.GC()
	}
	time.Sleep(10 * time.Millisecond)
	return testutil.FDs(t, 0, nil)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
