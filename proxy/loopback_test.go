package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveLoopback starts an authenticated loopback session of p and closes it
// when the test ends.
func serveLoopback(t testing.TB, p *Proxy) *Loopback {
	t.Helper()
	lb, err := p.ServeLoopback(context.Background(), SessionInfo{ID: "lb"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lb.Close(); err != nil {
			t.Errorf("closing the loopback session: %v", err)
		}
	})
	return lb
}

func (l *Loopback) addr() string { return "127.0.0.1:" + strconv.Itoa(l.Port) }

func (l *Loopback) url(scheme, token string) string {
	return scheme + "://pent:" + token + "@" + l.addr()
}

// rawRequest sends head to addr on a new connection and returns the
// response (its body read) once the connection is closed.
func rawRequest(t testing.TB, addr, head string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("response to %q: %v", head, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// socksExchange sends in to addr, half-closes, and returns all it answers.
func socksExchange(t testing.TB, addr, in string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, in)
	_ = c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(c)
	return string(out)
}

// TestLoopbackClients: proxy-aware clients that hold the token get the
// allowlist's decisions; without the token nothing passes.
func TestLoopbackClients(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	p := testProxy(t, u, "www.test", "ported.test:1")
	lb := serveLoopback(t, p)
	hp, tp := ts.port(ts.HTTP), ts.port(ts.TLS)
	wrong := strings.Repeat("0", 64)

	tests := []struct {
		name, proxy, sni, url string
		wantOK                bool
	}{
		{"connect", lb.url("http", lb.Token), "www.test", "https://www.test:" + tp + "/b", true},
		{"plain http", lb.url("http", lb.Token), "", "http://www.test:" + hp + "/a", true},
		{"socks5h", lb.url("socks5", lb.Token), "www.test", "https://www.test:" + tp + "/c", true},
		{"connect without token", "http://" + lb.addr(), "www.test", "https://www.test:" + tp + "/", false},
		{"connect wrong token", lb.url("http", wrong), "www.test", "https://www.test:" + tp + "/", false},
		{"plain http without token", "http://" + lb.addr(), "", "http://www.test:" + hp + "/", false},
		{"plain http wrong token", lb.url("http", wrong), "", "http://www.test:" + hp + "/", false},
		{"socks5 without token", "socks5://" + lb.addr(), "www.test", "https://www.test:" + tp + "/", false},
		{"socks5 wrong token", lb.url("socks5", wrong), "www.test", "https://www.test:" + tp + "/", false},
		{"connect denied name", lb.url("http", lb.Token), "denied.example", "https://denied.example:" + tp + "/", false},
		{"plain http denied name", lb.url("http", lb.Token), "", "http://denied.example:" + hp + "/", false},
		{"socks5 denied name", lb.url("socks5", lb.Token), "x", "http://denied.example:" + hp + "/", false},
		{"connect raw ip", lb.url("http", lb.Token), "www.test", "https://127.0.0.1:" + tp + "/", false},
		{"socks5 raw ip", lb.url("socks5", lb.Token), "www.test", "https://127.0.0.1:" + tp + "/", false},
		{"port not listed", lb.url("http", lb.Token), "", "http://ported.test:" + hp + "/", false},
		{"connect sni of another name", lb.url("http", lb.Token), "denied.example", "https://www.test:" + tp + "/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := get(proxyClient(tc.proxy, tc.sni), tc.url)
			ok := err == nil && code == 200
			if ok != tc.wantOK || (ok && !strings.HasPrefix(body, "host=www.test:")) {
				t.Fatalf("GET %s via %s: code %d body %q err %v; want ok=%v", tc.url, tc.proxy, code, body, err, tc.wantOK)
			}
		})
	}
	if ts.sawSNI("denied.example") {
		t.Error("a ClientHello naming a denied name reached the server")
	}
	logs := string(p.Logs(1000))
	for _, want := range []string{`"action":"allow","kind":"connect","name":"www.test"`, `"action":"allow","kind":"socks5","name":"www.test"`,
		`"action":"deny","kind":"connect","addr":"www.test:` + tp + `","reason":"no valid proxy credentials`,
		`"action":"deny","kind":"http","addr":"www.test:` + hp + `","reason":"no valid proxy credentials`,
		`socks5 authentication failed: no valid proxy credentials`, `raw IP connection to 127.0.0.1`,
		`denied.example is not allowed`, `"session":"lb"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// TestLoopbackRefusals checks the answers a client without valid
// credentials gets, and that nothing but the proxy protocols is served.
func TestLoopbackRefusals(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	lb := serveLoopback(t, testProxy(t, u, "www.test"))
	target := "www.test:" + ts.port(ts.TLS)
	auth := "Proxy-Authorization: " + basic("pent:"+lb.Token) + "\r\n"

	for _, tc := range []struct{ name, head string }{
		{"no credentials", "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"},
		{"wrong token", "CONNECT " + target + " HTTP/1.1\r\nProxy-Authorization: " + basic("pent:"+strings.Repeat("a", 64)) + "\r\n\r\n"},
		{"token as user", "CONNECT " + target + " HTTP/1.1\r\nProxy-Authorization: " + basic(lb.Token+":pent") + "\r\n\r\n"},
		{"two credentials", "CONNECT " + target + " HTTP/1.1\r\n" + auth + "Proxy-Authorization: " + basic("pent:x") + "\r\n\r\n"},
		{"credentials in Authorization", "GET http://" + target + "/ HTTP/1.1\r\nAuthorization: " + basic("pent:"+lb.Token) + "\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, lb.addr(), tc.head)
			if resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") != `Basic realm="pent"` {
				t.Fatalf("status %d, Proxy-Authenticate %q; want 407 with a Basic challenge", resp.StatusCode, resp.Header.Get("Proxy-Authenticate"))
			}
		})
	}

	// The credentials hold for one request: a keep-alive connection's next
	// request without them is refused too.
	c, err := net.Dial("tcp", lb.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	hp := ts.port(ts.HTTP)
	fmt.Fprintf(c, "GET http://www.test:%s/one HTTP/1.1\r\nHost: www.test:%s\r\n%s\r\n", hp, hp, auth)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("authenticated request: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(c, "GET http://www.test:%s/two HTTP/1.1\r\nHost: www.test:%s\r\n\r\n", hp, hp)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("second request without credentials: %v %v", resp, err)
	}

	// Authenticated, but not a proxy request: the listener has no
	// transparent path.
	for _, head := range []string{"GET /x HTTP/1.1\r\nHost: " + target + "\r\n" + auth + "\r\n"} {
		if resp := rawRequest(t, lb.addr(), head); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", head, resp.StatusCode)
		}
	}
	for _, in := range []string{string(clientHello(t, "www.test")), "SSH-2.0-OpenSSH_9.6\r\n"} {
		if out := socksExchange(t, lb.addr(), in); strings.Contains(out, "200") || strings.Contains(out, "host=") {
			t.Errorf("%q got %q", in, out)
		}
	}

	// SOCKS5: only user/password is offered; a wrong password fails.
	tlsPort := ts.TLS.Listener.Addr().(*net.TCPAddr).Port
	socksRequest := "\x05\x01\x00\x03\x08www.test" + string([]byte{byte(tlsPort >> 8), byte(tlsPort)})
	for _, tc := range []struct{ name, in, want string }{
		{"no authentication offered", "\x05\x01\x00" + socksRequest, "\x05\xff"},
		{"wrong password", "\x05\x01\x02" + userPass("pent", strings.Repeat("b", 64)) + socksRequest, "\x05\x02\x01\x01"},
		{"right password", "\x05\x01\x02" + userPass("pent", lb.Token) + socksRequest, "\x05\x02\x01\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"},
	} {
		if out := socksExchange(t, lb.addr(), tc.in); out != tc.want {
			t.Errorf("SOCKS5 %s: got %q, want %q", tc.name, out, tc.want)
		}
	}
}

// TestLoopbackStripsCredentials: the token never reaches the upstream
// server of a plain-HTTP request.
func TestLoopbackStripsCredentials(t *testing.T) {
	u := startUpstream(t)
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Proxy-Authorization") + r.Header.Get("Authorization")
	}))
	defer srv.Close()
	lb := serveLoopback(t, testProxy(t, u, "www.test"))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	code, _, err := get(proxyClient(lb.url("http", lb.Token), ""), "http://www.test:"+port+"/")
	if err != nil || code != 200 {
		t.Fatalf("GET: %d %v", code, err)
	}
	if got := <-seen; got != "" {
		t.Fatalf("the upstream server got credentials %q", got)
	}
}

// TestLoopbackRefusesLoopbackDestination: a name that resolves to loopback
// is refused unless [proxy] destinations lists it, even with the token.
func TestLoopbackRefusesLoopbackDestination(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	pol, err := Compile(Settings{Allow: []string{"www.test"}, UpstreamDNS: []string{u.Addr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(pol, nil)
	lb := serveLoopback(t, p)
	for _, proxyURL := range []string{lb.url("http", lb.Token), lb.url("socks5", lb.Token)} {
		code, _, err := get(proxyClient(proxyURL, "www.test"), "https://www.test:"+ts.port(ts.TLS)+"/")
		if err == nil && code == 200 {
			t.Errorf("via %s: reached a loopback destination without [proxy] destinations", proxyURL)
		}
	}
	if logs := string(p.Logs(100)); !strings.Contains(logs, "refused destination range") {
		t.Errorf("log lacks the refused destination:\n%s", logs)
	}
}

// outsiderEnv carries the listener's address to TestLoopbackOutsider in a
// child process.
const outsiderEnv = "PENT_PROXY_LOOPBACK_OUTSIDER"

// TestLoopbackOtherProcess: another local process, which can connect to
// the port but does not hold the token, gets nothing through.
func TestLoopbackOtherProcess(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	p := testProxy(t, u, "www.test")
	lb := serveLoopback(t, p)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoopbackOutsider$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), outsiderEnv+"="+lb.addr()+" www.test:"+ts.port(ts.TLS))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLoopbackOutsider") {
		t.Fatalf("the outsider process: %v\n%s", err, out)
	}
	if ts.sawSNI("www.test") {
		t.Error("the outsider's connection reached the server")
	}
	if logs := string(p.Logs(100)); strings.Contains(logs, `"action":"allow"`) {
		t.Errorf("the proxy allowed something to the outsider:\n%s", logs)
	}
}

// TestLoopbackOutsider is the other process of TestLoopbackOtherProcess:
// it runs only there, where it tries the listener without the token.
func TestLoopbackOutsider(t *testing.T) {
	env := os.Getenv(outsiderEnv)
	if env == "" {
		t.Skip("runs only as the child process of TestLoopbackOtherProcess")
	}
	addr, target, _ := strings.Cut(env, " ")
	for _, head := range []string{
		"CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n",
		"CONNECT " + target + " HTTP/1.1\r\nProxy-Authorization: " + basic("pent:") + "\r\n\r\n",
		"CONNECT " + target + " HTTP/1.1\r\nProxy-Authorization: " + basic("pent:"+strings.Repeat("1", 64)) + "\r\n\r\n",
		"GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n",
	} {
		if resp := rawRequest(t, addr, head); resp.StatusCode != http.StatusProxyAuthRequired {
			t.Errorf("%q: status %d, want 407", head, resp.StatusCode)
		}
	}
	if out := socksExchange(t, addr, "\x05\x01\x00"); out != "\x05\xff" {
		t.Errorf("SOCKS5 without authentication: %q, want no acceptable method", out)
	}
}

// TestLoopbackClose: closing the session closes the listener and its
// connections, and the session count drops.
func TestLoopbackClose(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	p := testProxy(t, u, "www.test")
	lb, err := p.ServeLoopback(context.Background(), SessionInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().Sessions; got != 1 {
		t.Fatalf("%d sessions, want 1", got)
	}
	c := dialCONNECTAuth(t, lb.addr(), "www.test:"+ts.port(ts.TLS), lb.Token)
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lb.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !closedByPeer(c) {
		t.Error("a tunnel outlived its session")
	}
	if _, err := net.Dial("tcp", lb.addr()); err == nil {
		t.Error("the listener still accepts after Close")
	}
	if got := p.Stats().Sessions; got != 0 {
		t.Errorf("%d sessions after Close, want 0", got)
	}
}

// closedByPeer reports whether the other end closes c within 5 seconds.
func closedByPeer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !isTimeoutErr(err)
}

// dialCONNECTAuth opens an authenticated CONNECT tunnel to target.
func dialCONNECTAuth(t testing.TB, proxyAddr, target, token string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", target, target, basic("pent:"+token))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("CONNECT %s: %q %v", target, line, err)
	}
	return c
}

// TestDaemonLoopbackSession: the daemon's session-loopback request opens an
// authenticated listener that serves until the client ends the session;
// then the listener and its connections are closed and no descriptor is
// left behind.
func TestDaemonLoopbackSession(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	runtime, project := t.TempDir(), t.TempDir()
	done := make(chan error, 1)
	go func() {
		done <- RunDaemon(DaemonConfig{
			SocketPath: SocketPath(runtime, project), IdleTimeout: time.Hour,
			Reload: func() (Settings, error) {
				return Settings{Allow: []string{"www.test"}, UpstreamDNS: []string{u.Addr}, Destinations: []string{"upstream:127.0.0.0/8"}}, nil
			},
		})
	}()
	c, err := Ensure(runtime, project, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Stop()
		<-done
	})
	target := "www.test:" + ts.port(ts.TLS)
	sessions := func(n int64) func() bool {
		return func() bool { st, err := c.Status(); return err == nil && st.Sessions == n }
	}

	// Warm up: the first session and request create what the process keeps
	// (resolver cache, pipe pools).
	lb, err := c.SessionLoopback()
	if err != nil {
		t.Fatal(err)
	}
	dialCONNECTAuth(t, lb.addr(), target, lb.Token).Close()
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the warm-up session to end", sessions(0))
	before := countFDs(t)

	var open []*Loopback
	var tunnels []net.Conn
	for range 10 {
		lb, err := c.SessionLoopback()
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, lb)
		tunnels = append(tunnels, dialCONNECTAuth(t, lb.addr(), target, lb.Token))
		if resp := rawRequest(t, lb.addr(), "CONNECT "+target+" HTTP/1.1\r\n\r\n"); resp.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("CONNECT without the token: status %d", resp.StatusCode)
		}
	}
	if open[0].Token == open[1].Token || open[0].Port == open[1].Port {
		t.Fatal("two sessions share a token or a port")
	}
	// One session's token does not open another's listener.
	if resp := rawRequest(t, open[0].addr(), "CONNECT "+target+" HTTP/1.1\r\nProxy-Authorization: "+basic("pent:"+open[1].Token)+"\r\n\r\n"); resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("another session's token: status %d, want 407", resp.StatusCode)
	}
	waitFor(t, "10 sessions", sessions(10))
	for i, lb := range open {
		if err := lb.Close(); err != nil {
			t.Fatal(err)
		}
		// Close returns once the daemon has closed the listener.
		if conn, err := net.Dial("tcp", lb.addr()); err == nil {
			conn.Close()
			t.Fatalf("session %d: the listener still accepts after Close", i)
		}
		if !closedByPeer(tunnels[i]) {
			t.Fatalf("session %d: a tunnel outlived its session", i)
		}
		tunnels[i].Close()
	}
	waitFor(t, "the sessions to end", sessions(0))
	waitFor(t, "the descriptors to be closed", func() bool { return countFDs(t) <= before })
}
