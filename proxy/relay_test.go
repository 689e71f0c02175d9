package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/pent-sandbox/pent/internal/testutil"
)

// testServers are local HTTP and TLS servers; the TLS one records the SNI
// names it saw.
type testServers struct {
	HTTP, TLS *httptest.Server
	mu        sync.Mutex
	snis      []string
}

func startServers(t testing.TB) *testServers {
	t.Helper()
	ts := &testServers{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s path=%s", r.Host, r.URL.Path)
	})
	ts.HTTP = httptest.NewServer(handler)
	ts.TLS = httptest.NewUnstartedServer(handler)
	ts.TLS.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		ts.mu.Lock()
		ts.snis = append(ts.snis, h.ServerName)
		ts.mu.Unlock()
		return nil, nil
	}}
	ts.TLS.StartTLS()
	t.Cleanup(ts.HTTP.Close)
	t.Cleanup(ts.TLS.Close)
	return ts
}

func (ts *testServers) port(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

func (ts *testServers) sawSNI(name string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, s := range ts.snis {
		if s == name {
			return true
		}
	}
	return false
}

func proxyClient(proxyURL string, sni string) *http.Client {
	u, _ := url.Parse(proxyURL)
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:           http.ProxyURL(u),
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: sni},
		},
	}
}

func get(c *http.Client, u string) (int, string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestProxyAwareClients(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	p := testProxy(t, u, "www.test", "other.test", "private.test", "ported.test:1")
	proxyAddr, _, _ := loopbackSession(t, p)
	hp, tp := ts.port(ts.HTTP), ts.port(ts.TLS)

	tests := []struct {
		name, proxy, sni, url string
		wantOK                bool
		wantBody              string
	}{
		{"plain http", "http://" + proxyAddr, "", "http://www.test:" + hp + "/a", true, "host=www.test:" + hp + " path=/a"},
		{"plain http denied", "http://" + proxyAddr, "", "http://denied.example:" + hp + "/", false, ""},
		{"plain http raw ip", "http://" + proxyAddr, "", "http://127.0.0.1:" + hp + "/", false, ""},
		{"plain http private destination", "http://" + proxyAddr, "", "http://private.test:" + hp + "/", false, ""},
		{"plain http port not listed", "http://" + proxyAddr, "", "http://ported.test:" + hp + "/", false, ""},
		{"connect", "http://" + proxyAddr, "www.test", "https://www.test:" + tp + "/b", true, "host=www.test:" + tp + " path=/b"},
		{"connect denied", "http://" + proxyAddr, "denied.example", "https://denied.example:" + tp + "/", false, ""},
		{"connect raw ip", "http://" + proxyAddr, "www.test", "https://127.0.0.1:" + tp + "/", false, ""},
		{"connect sni of another name", "http://" + proxyAddr, "denied.example", "https://www.test:" + tp + "/", false, ""},
		{"connect sni of another allowed name", "http://" + proxyAddr, "other.test", "https://www.test:" + tp + "/", false, ""},
		{"socks5h", "socks5://" + proxyAddr, "www.test", "https://www.test:" + tp + "/c", true, "host=www.test:" + tp + " path=/c"},
		{"socks5 denied", "socks5://" + proxyAddr, "x", "http://denied.example:" + hp + "/", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := get(proxyClient(tc.proxy, tc.sni), tc.url)
			ok := err == nil && code == 200
			if ok != tc.wantOK || (tc.wantOK && body != tc.wantBody) {
				t.Fatalf("GET %s via %s: code %d body %q err %v; want ok=%v body %q", tc.url, tc.proxy, code, body, err, tc.wantOK, tc.wantBody)
			}
		})
	}
	if ts.sawSNI("denied.example") {
		t.Error("a ClientHello naming a denied name reached the server")
	}
	logs := string(p.Logs(1000))
	for _, want := range []string{`"action":"allow","kind":"http","name":"www.test"`, `"action":"deny","kind":"connect","name":"www.test"`,
		`refused destination`, `"action":"deny","kind":"socks5","name":"denied.example"`, `raw IP connection to 127.0.0.1`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// TestPlainHTTPKeepAlive checks that every request on one keep-alive proxy
// connection is decided on its own.
func TestPlainHTTPKeepAlive(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	p := testProxy(t, u, "www.test")
	proxyAddr, _, _ := loopbackSession(t, p)
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	hp := ts.port(ts.HTTP)
	fmt.Fprintf(c, "GET http://www.test:%s/one HTTP/1.1\r\nHost: www.test:%s\r\n\r\n", hp, hp)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(c, "GET http://denied.example:%s/two HTTP/1.1\r\nHost: www.test\r\n\r\n", hp)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second request to a denied host: %v %v", resp, err)
	}
}

func TestNoDestinationsRefusesLoopback(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	pol, err := Compile(Settings{Allow: []string{"www.test"}, UpstreamDNS: []string{u.Addr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	proxyAddr, _, _ := loopbackSession(t, New(pol, nil))
	code, _, err := get(proxyClient("http://"+proxyAddr, ""), "http://www.test:"+ts.port(ts.HTTP)+"/")
	if err == nil && code == 200 {
		t.Fatal("reached a loopback destination without [proxy] destinations")
	}
}

func TestMalformedProxyInput(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "www.test")
	proxyAddr, _, _ := loopbackSession(t, p)
	for _, in := range []string{"\x05\x01\x00\x05\x09\x00\x01", "\x05\xff", "CONNECT\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x00\x05hello", "GARBAGE GARBAGE\r\n\r\n", "\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50"} {
		c, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(in))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, _ := io.ReadAll(c)
		c.Close()
		if strings.HasPrefix(string(out), "HTTP/1.1 200") || strings.Contains(string(out), "host=") {
			t.Errorf("input %q got %q", in, out)
		}
	}
}

// countingServer accepts TCP connections, counts them and records what each
// sent until it closed.
type countingServer struct {
	addr     net.Addr
	mu       sync.Mutex
	accepted int
	received []string
	fences   int // fence requests sent
}

func startCountingServer(t testing.TB) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.addr = testutil.AcceptLoop(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		cs.mu.Lock()
		cs.accepted++
		cs.mu.Unlock()
		go func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			cs.mu.Lock()
			cs.received = append(cs.received, string(b))
			cs.mu.Unlock()
		}()
	})
	return cs
}

func (cs *countingServer) port() string {
	return strconv.Itoa(cs.addr.(*net.TCPAddr).Port)
}

// fenceRequest is the allowed request fence sends.
const fenceRequest = "GET /fence HTTP/1.1\r\nHost: www.test\r\n\r\n"

// fence sends one allowed request to cs through a new tunnel of the proxy
// at proxyAddr and waits until cs has read it and every other connection
// it accepted to the end. The server accepts connections in the order they
// were made, so by then whatever an earlier tunnel sent upstream has
// arrived: an absence checked after fence is real. It returns how
// many connections other than fences' it accepted and what they sent, joined with |.
func (cs *countingServer) fence(t *testing.T, proxyAddr string) (int, string) {
	t.Helper()
	tunnel(t, proxyAddr, "www.test:"+cs.port(), []byte(fenceRequest))
	cs.mu.Lock()
	cs.fences++
	cs.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		cs.mu.Lock()
		rest := slices.DeleteFunc(slices.Clone(cs.received), func(r string) bool { return r == fenceRequest })
		if len(cs.received)-len(rest) == cs.fences && len(cs.received) == cs.accepted {
			cs.mu.Unlock()
			return len(rest), strings.Join(rest, "|")
		}
		cs.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the fence request did not reach the server within 10 s")
		}
	}
}

// tunnel opens a CONNECT tunnel to target through proxyAddr and sends
// payload in it, then reads until the proxy closes the connection.
func tunnel(t *testing.T, proxyAddr, target string, payload ...[]byte) string {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", target, resp, err)
	}
	for _, p := range payload {
		if _, err := c.Write(p); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // separate segments
	}
	_ = c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(br)
	return string(out)
}

// TestDeniedSNIConnectsNothing: a ClientHello whose SNI is not the tunnel's
// name is decided before the upstream connect, so the server never sees a
// TCP connection (the relay used to dial first).
func TestDeniedSNIConnectsNothing(t *testing.T) {
	u := startUpstream(t)
	cs := startCountingServer(t)
	p := testProxy(t, u, "www.test")
	proxyAddr, _, _ := loopbackSession(t, p)
	hello := clientHello(t, "evil.test")
	tunnel(t, proxyAddr, "www.test:"+cs.port(), hello[:3], hello[3:40], splitRecords(hello, 64)[40:])
	tunnel(t, proxyAddr, "www.test:"+cs.port(), splitRecords(hello, 64))
	nul := clientHello(t, "www.test0.evil.test")
	i := bytes.Index(nul, []byte("www.test0"))
	nul[i+len("www.test")] = 0 // a NUL-truncation attempt: "www.test\x00.evil.test"
	tunnel(t, proxyAddr, "www.test:"+cs.port(), nul)
	if n, got := cs.fence(t, proxyAddr); n != 0 {
		t.Fatalf("denied ClientHellos caused %d upstream connects (received %q)", n, got)
	}
	tunnel(t, proxyAddr, "www.test:"+cs.port(), clientHello(t, "www.test"))
	if n, _ := cs.fence(t, proxyAddr); n != 1 {
		t.Fatalf("the allowed ClientHello made %d connects, want 1", n)
	}
	if !strings.Contains(string(p.Logs(100)), `TLS SNI \"evil.test\" does not match www.test`) {
		t.Errorf("denial not logged:\n%s", p.Logs(100))
	}
}

// TestECHDecidedByOuterSNI: a ClientHello with Encrypted Client Hello is
// decided by its outer SNI, the only name the proxy can read: a denied
// outer name connects nothing whatever the inner one, an allowed outer name
// is relayed (the inner name is the server's business: the README says so).
func TestECHDecidedByOuterSNI(t *testing.T) {
	u := startUpstream(t)
	cs := startCountingServer(t)
	p := testProxy(t, u, "www.test")
	proxyAddr, _, _ := loopbackSession(t, p)
	tunnel(t, proxyAddr, "www.test:"+cs.port(), echClientHello(t, "www.test", "evil.test"))
	if n, got := cs.fence(t, proxyAddr); n != 0 {
		t.Fatalf("an ECH hello with a denied outer SNI caused %d upstream connects (received %q)", n, got)
	}
	if !strings.Contains(string(p.Logs(100)), `TLS SNI \"evil.test\" does not match www.test`) {
		t.Errorf("denial not logged:\n%s", p.Logs(100))
	}
	tunnel(t, proxyAddr, "www.test:"+cs.port(), echClientHello(t, "evil.test", "www.test"))
	if n, _ := cs.fence(t, proxyAddr); n != 1 {
		t.Fatalf("an ECH hello with the allowed outer SNI made %d connects, want 1", n)
	}
}

// TestTunnelEveryHTTPRequestChecked: plain HTTP in a tunnel bound to
// www.test has every request's Host checked before any byte of it goes
// upstream — keep-alive, pipelined, lower-case, split, after a body.
func TestTunnelEveryHTTPRequestChecked(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "www.test")
	proxyAddr, _, _ := loopbackSession(t, p)
	ok := "GET /ok HTTP/1.1\r\nHost: www.test\r\n\r\n"
	evil := "GET /evil HTTP/1.1\r\nHost: evil.test\r\n\r\n"
	tests := []struct {
		name    string
		payload []string
	}{
		{"keep-alive second request", []string{ok, evil}},
		{"pipelined in one segment", []string{ok + evil}},
		{"lower-case method", []string{ok, "get /evil HTTP/1.1\r\nHost: evil.test\r\n\r\n"}},
		{"first request lower-case", []string{"get /evil HTTP/1.1\r\nHost: evil.test\r\n\r\n"}},
		{"absolute-form", []string{ok, "GET http://evil.test/evil HTTP/1.1\r\nHost: www.test\r\n\r\n"}},
		{"duplicate Host", []string{ok, "GET /evil HTTP/1.1\r\nHost: www.test\r\nHost: evil.test\r\n\r\n"}},
		{"obs-fold", []string{ok, "GET /evil HTTP/1.1\r\nX: a\r\n Host: evil.test\r\nHost: www.test\r\n\r\n"}},
		{"split across segments", []string{ok, "GET /evil HT", "TP/1.1\r\nHo", "st: evil.test\r\n\r\n"}},
		{"after a body", []string{"POST /ok HTTP/1.1\r\nHost: www.test\r\nContent-Length: 2\r\n\r\nab" + evil}},
		{"after a chunked body", []string{"POST /ok HTTP/1.1\r\nHost: www.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", evil}},
		{"unframeable body", []string{"POST /ok HTTP/1.1\r\nHost: www.test\r\nTransfer-Encoding: gzip\r\n\r\n" + evil}},
		{"h2c upgrade", []string{"GET /evil HTTP/1.1\r\nHost: www.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"}},
		{"NUL in Host", []string{"GET /evil HTTP/1.1\r\nHost: www.test\x00.evil.test\r\n\r\n"}},
		{"empty line first", []string{"\r\n" + evil}},
		{"bare LF first", []string{"\n" + evil}},
		{"long method", []string{strings.Repeat("A", 40) + " /ok HTTP/1.1\r\nHost: www.test\r\n\r\n" + evil}},
		{"long method in parts", []string{strings.Repeat("A", 40), " /ok HTTP/1.1\r\nHost: www.test\r\n\r\n" + evil}},
		{"bare LF line ends", []string{"GET /evil HTTP/1.1\nHost: evil.test\n\n"}},
		{"HTTP/0.9", []string{"GET /evil\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := startCountingServer(t)
			var payload [][]byte
			for _, s := range tt.payload {
				payload = append(payload, []byte(s))
			}
			tunnel(t, proxyAddr, "www.test:"+cs.port(), payload...)
			if _, got := cs.fence(t, proxyAddr); strings.Contains(got, "/evil") || strings.Contains(got, "evil.test") {
				t.Fatalf("upstream received %q", got)
			}
		})
	}
	cs := startCountingServer(t)
	tunnel(t, proxyAddr, "www.test:"+cs.port(), []byte(ok+ok), []byte("POST /ok HTTP/1.1\r\nHost: www.test\r\nContent-Length: 3\r\n\r\nabc"))
	if _, got := cs.fence(t, proxyAddr); got != ok+ok+"POST /ok HTTP/1.1\r\nHost: www.test\r\nContent-Length: 3\r\n\r\nabc" {
		t.Fatalf("allowed requests: upstream received %q", got)
	}
}

// TestNamesOutsideTheAlphabetRefused: a name with a NUL (or another byte a
// hostname cannot hold) is refused in DNS, SOCKS5, CONNECT, a proxy request
// and a Host header, even where a truncating reader would see an allowed
// name; none is asked upstream.
func TestNamesOutsideTheAlphabetRefused(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	p := testProxy(t, u, "**.www.test", "www.test")
	proxyAddr, dnsUDP, _ := loopbackSession(t, p)
	for _, name := range []string{`www.test\000.evil.test`, `a\000.www.test`, `a\.b.www.test`, `a\032b.www.test`, `a\255.www.test`} {
		if r := query(t, "udp", dnsUDP, name, dns.TypeA); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
			t.Errorf("DNS %s: rcode %s, %d answers", name, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
	for _, q := range u.queries() {
		if strings.Contains(q, `\`) {
			t.Errorf("a bad name was asked upstream: %s", q)
		}
	}
	hp := ts.port(ts.HTTP)
	nul := "www.test\x00.evil.test"
	socks := []byte("\x05\x01\x00\x05\x01\x00\x03" + string(rune(len(nul))) + nul)
	socks = append(socks, byte(mustAtoi(t, hp)>>8), byte(mustAtoi(t, hp)))
	for name, in := range map[string][]byte{
		"socks5":   socks,
		"connect":  []byte("CONNECT " + nul + ":" + hp + " HTTP/1.1\r\nHost: " + nul + ":" + hp + "\r\n\r\n"),
		"http":     []byte("GET http://" + nul + ":" + hp + "/ HTTP/1.1\r\nHost: www.test\r\n\r\n"),
		"http %00": []byte("GET http://www.test%00.evil.test:" + hp + "/ HTTP/1.1\r\nHost: www.test\r\n\r\n"),
	} {
		c, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(in)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, _ := io.ReadAll(c)
		c.Close()
		if strings.Contains(string(out), "host=") || strings.Contains(string(out), " 200 ") || bytes.HasPrefix(out, []byte{5, 0, 5, 0}) {
			t.Errorf("%s with a NUL in the name got %q", name, out)
		}
	}
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostOwnAddressesRefused: an allowed name that resolves to one of the
// host's own (non-private) addresses, or to the proxy's own listener, is
// refused unless [proxy] destinations lists it; the relay used to know only
// the private ranges.
func TestHostOwnAddressesRefused(t *testing.T) {
	u := startUpstream(t)
	own, err := interfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var hostIP netip.Addr
	for _, a := range own {
		if a.Is4() && !a.IsLoopback() {
			hostIP = a
			break
		}
	}
	if !hostIP.IsValid() {
		t.Fatal("this host has no non-loopback IPv4 address to test with")
	}
	l, err := net.Listen("tcp4", netip.AddrPortFrom(hostIP, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "host service") })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	name := "ip-" + strings.ReplaceAll(hostIP.String(), ".", "-") + ".test"
	target := "http://" + name + ":" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + "/"
	for _, tc := range []struct {
		destinations []string
		wantOK       bool
	}{{nil, false}, {[]string{"127.0.0.0/8"}, false}, {[]string{hostIP.String() + "/32"}, true}} {
		pol, err := Compile(Settings{Allow: []string{name}, UpstreamDNS: []string{u.Addr}, Destinations: tc.destinations}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := New(pol, nil)
		proxyAddr, _, _ := loopbackSession(t, p)
		code, body, err := get(proxyClient("http://"+proxyAddr, ""), target)
		if ok := err == nil && code == 200 && body == "host service"; ok != tc.wantOK {
			t.Errorf("destinations %v: GET %s = %d %q %v, want ok=%v", tc.destinations, target, code, body, err, tc.wantOK)
		}
		if !tc.wantOK && !strings.Contains(string(p.Logs(10)), "this host's own address") {
			t.Errorf("destinations %v: the denial does not name the host's own address:\n%s", tc.destinations, p.Logs(10))
		}
	}
	// The proxy's own loopback listener is never dialled, even with
	// 127.0.0.0/8 allowed.
	p := testProxy(t, u, "www.test")
	lb := serveLoopback(t, p)
	code, _, err := get(proxyClient(lb.url("http", lb.Token), ""), "http://www.test:"+strconv.Itoa(lb.Port)+"/")
	if err == nil && code == 200 || !strings.Contains(string(p.Logs(10)), "pent's own proxy listener") {
		t.Errorf("a request for the proxy's own listener: %d %v\n%s", code, err, p.Logs(10))
	}
}

// TestIPv6OnlyUpstream: a name with only AAAA records upstream is reached
// over IPv6, while the sandbox side keeps its synthetic IPv4 address.
func TestIPv6OnlyUpstream(t *testing.T) {
	u := startUpstream(t)
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback to test with: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "v6 host=%s", r.Host) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	pol, err := Compile(Settings{Allow: []string{"v6only.test"}, UpstreamDNS: []string{u.Addr}, Destinations: []string{"upstream:::1/128"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	proxyAddr, dnsUDP, _ := loopbackSession(t, New(pol, nil))
	r := query(t, "udp", dnsUDP, "v6only.test", dns.TypeA)
	if len(r.Answer) != 1 || !syntheticNet.Contains(netip.MustParseAddr(r.Answer[0].(*dns.A).A.String())) {
		t.Fatalf("A query for an AAAA-only name: %v", r)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	for _, scheme := range []string{"http", "socks5"} {
		code, body, err := get(proxyClient(scheme+"://"+proxyAddr, ""), "http://v6only.test:"+port+"/")
		if err != nil || code != 200 || body != "v6 host=v6only.test:"+port {
			t.Errorf("via %s: %d %q %v", scheme, code, body, err)
		}
	}
}

// TestHostLocalNames: localhost and names of the host's hosts file, listed
// with a port, reach the host's own addresses when destinations permits
// them, and are never asked upstream; without destinations they are refused.
func TestHostLocalNames(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	hp := ts.port(ts.HTTP)
	hosts := map[string][]netip.Addr{"db.hosts": {mustAddr("127.0.0.1")}}
	for _, tc := range []struct {
		destinations []string
		wantOK       bool
	}{{[]string{"127.0.0.0/8"}, true}, {nil, false}} {
		pol, err := Compile(Settings{Allow: []string{"localhost:" + hp, "db.hosts:" + hp}, HostNames: hosts,
			UpstreamDNS: []string{u.Addr}, Destinations: tc.destinations}, nil)
		if err != nil {
			t.Fatal(err)
		}
		proxyAddr, dnsUDP, _ := loopbackSession(t, New(pol, nil))
		for _, name := range []string{"localhost", "db.hosts"} {
			for _, scheme := range []string{"http", "socks5"} {
				code, body, err := get(proxyClient(scheme+"://"+proxyAddr, ""), "http://"+name+":"+hp+"/")
				if ok := err == nil && code == 200 && body == "host="+name+":"+hp+" path=/"; ok != tc.wantOK {
					t.Errorf("destinations %v, %s via %s: %d %q %v", tc.destinations, name, scheme, code, body, err)
				}
			}
			if r := query(t, "udp", dnsUDP, name, dns.TypeA); len(r.Answer) != 1 {
				t.Errorf("A %s: %v", name, r)
			}
		}
	}
	if u.sawName("localhost") || u.sawName("db.hosts") {
		t.Errorf("a host-local name was asked upstream: %v", u.queries())
	}
}

// TestTunnelWordsAndSplitMethods: a client that sends a short word and waits
// for its answer (an echo) is relayed at once; an HTTP request whose method
// arrives in parts is refused before its request line is complete upstream.
func TestTunnelWordsAndSplitMethods(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "www.test")
	proxyAddr, _, _ := loopbackSession(t, p)
	var mu sync.Mutex
	var received []string
	echo := testutil.AcceptLoop(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		go func() {
			defer c.Close()
			var all []byte
			buf := make([]byte, 1024)
			for {
				n, err := c.Read(buf)
				all = append(all, buf[:n]...)
				c.Write(buf[:n])
				if err != nil {
					break
				}
			}
			mu.Lock()
			received = append(received, string(all))
			mu.Unlock()
		}()
	})
	target := "www.test:" + strconv.Itoa(echo.(*net.TCPAddr).Port)
	open := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(c)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		return c, br
	}
	c, br := open()
	start := time.Now()
	for _, word := range []string{"x", "y", "PING"} {
		c.Write([]byte(word))
		got := make([]byte, len(word))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != word {
			t.Fatalf("echo of %q: %q %v", word, got, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("three echoed words took %v", d)
	}
	c.Close()
	c, br = open()
	c.Write([]byte("GE"))
	if got, err := br.ReadByte(); err != nil || got != 'G' {
		t.Fatalf("the first part of the method was not relayed: %q %v", got, err)
	}
	c.Write([]byte("T / HTTP/1.1\r\nHost: evil.test\r\n\r\n"))
	io.ReadAll(br)
	c.Close()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range received {
		if strings.Contains(r, "HTTP/1.1") || strings.Contains(r, "evil") {
			t.Errorf("upstream received %q", r)
		}
	}
}

// TestListenerOnAnyLocalAddress: a listener answers on every local address
// when bound to a wildcard, so the proxy refuses its listeners' ports on any
// loopback, unspecified or own address, not only on the exact address.
func TestListenerOnAnyLocalAddress(t *testing.T) {
	p := New(&Policy{}, nil)
	defer p.addListener(netip.MustParseAddrPort("127.0.0.1:4567"))()
	own := []netip.Addr{mustAddr("192.0.2.2")}
	for ap, want := range map[string]bool{
		"127.0.0.1:4567": true, "127.0.0.2:4567": true, "0.0.0.0:4567": true, "[::]:4567": true,
		"[::1]:4567": true, "[::ffff:127.0.0.1]:4567": true, "192.0.2.2:4567": true,
		"93.184.216.34:4567": false, "127.0.0.1:4568": false,
	} {
		if got := p.isListener(netip.MustParseAddrPort(ap), own); got != want {
			t.Errorf("isListener(%s) = %v, want %v", ap, got, want)
		}
	}
}

// TestLoopbackOnlyForHostLocalNames: destinations = ["127.0.0.0/8"] lets
// the host-local name localhost:PORT reach the host's loopback, but not an
// allowed name whose upstream DNS answers 127.0.0.1 (attacker-controlled
// DNS, rebinding) on any port, nor a name answering an IPv6 form of
// loopback; "upstream:127.0.0.0/8" is the explicit opt-in for those.
func TestLoopbackOnlyForHostLocalNames(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	hp := ts.port(ts.HTTP)
	for _, tc := range []struct {
		destinations []string
		upstreamOK   bool
	}{{[]string{"127.0.0.0/8", "::/0"}, false}, {[]string{"upstream:127.0.0.0/8"}, true}} {
		pol, err := Compile(Settings{Allow: []string{"localhost:" + hp, "ip-127-0-0-1.test", "v6only.test"},
			UpstreamDNS: []string{u.Addr}, Destinations: tc.destinations}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := New(pol, nil)
		proxyAddr, _, _ := loopbackSession(t, p)
		for _, tt := range []struct {
			name string
			ok   bool
		}{{"localhost", true}, {"ip-127-0-0-1.test", tc.upstreamOK}, {"v6only.test", false}} {
			code, _, err := get(proxyClient("http://"+proxyAddr, ""), "http://"+tt.name+":"+hp+"/")
			if ok := err == nil && code == 200; ok != tt.ok {
				t.Errorf("destinations %v: %s:%s reached = %v (%d %v), want %v", tc.destinations, tt.name, hp, ok, code, err, tt.ok)
			}
		}
		if !tc.upstreamOK && !strings.Contains(string(p.Logs(10)), "only host-local names") {
			t.Errorf("destinations %v: the refusal does not say why:\n%s", tc.destinations, p.Logs(10))
		}
	}
}
