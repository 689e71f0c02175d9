package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHTTPProxyAnswers: the explicit HTTP proxy tells a policy refusal (403)
// from an upstream failure (502), and its body says which in one `pent:`
// line — a refusal names the fix (`pent run --allow NAME` and the config
// key), an upstream failure names what failed and is not mistaken for a
// refusal (a client such as Claude Code reports a 403 as an auth problem).
func TestHTTPProxyAnswers(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	closed := closedPort(t)
	p := testProxy(t, u, "www.test", "ported.test:1", "gone.example")
	proxyAddr, _, _ := loopbackSession(t, p)
	hp := ts.port(ts.HTTP)

	tests := []struct {
		name, method, target string
		code                 int
		body                 []string
	}{
		{"denied name", "GET", "http://denied.example:" + hp + "/", http.StatusForbidden,
			[]string{"denied.example is not allowed", "`pent run --allow denied.example`", `"denied.example" to [proxy] domain_allowlist`}},
		{"denied name, CONNECT", "CONNECT", "denied.example:443", http.StatusForbidden,
			[]string{"denied.example is not allowed", "`pent run --allow denied.example`", `"denied.example" to [proxy] domain_allowlist`}},
		{"port not listed", "GET", "http://ported.test:" + hp + "/", http.StatusForbidden,
			[]string{"port " + hp + " is not allowed for ported.test", "`pent run --allow ported.test:" + hp + "`", `"ported.test:` + hp + `" to [proxy] domain_allowlist`}},
		{"name does not resolve", "GET", "http://gone.example/", http.StatusBadGateway,
			[]string{"upstream gone.example:80 failed: gone.example does not resolve"}},
		{"name does not resolve, CONNECT", "CONNECT", "gone.example:443", http.StatusBadGateway,
			[]string{"upstream gone.example:443 failed: gone.example does not resolve"}},
		{"connection refused", "GET", "http://www.test:" + closed + "/", http.StatusBadGateway,
			[]string{"upstream www.test:" + closed + " failed", "connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := rawProxyRequest(t, proxyAddr, tc.method, tc.target)
			if code != tc.code || !strings.HasPrefix(body, "pent: ") || strings.Count(body, "\n") != 1 {
				t.Fatalf("%s %s: %d %q; want %d and one line starting with \"pent: \"", tc.method, tc.target, code, body, tc.code)
			}
			for _, want := range tc.body {
				if !strings.Contains(body, want) {
					t.Errorf("%s %s: body %q lacks %q", tc.method, tc.target, body, want)
				}
			}
			if tc.code == http.StatusBadGateway && strings.Contains(body, "allow") {
				t.Errorf("an upstream failure reads like a refusal: %q", body)
			}
		})
	}
	logs := string(p.Logs(1000))
	for _, want := range []string{`"name":"gone.example","port":80,"reason":"upstream failed: gone.example does not resolve`,
		`"name":"www.test","port":` + closed + `,"reason":"upstream failed: `} {
		if !strings.Contains(logs, want) {
			t.Errorf("the decision log lacks %s:\n%s", want, logs)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// rawProxyRequest sends one proxy request (an absolute-URI request or a
// CONNECT) and returns the answer's status code and body.
func rawProxyRequest(t *testing.T, proxyAddr, method, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	host := strings.TrimPrefix(target, "http://")
	host, _, _ = strings.Cut(host, "/")
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, target, host)
	req := &http.Request{Method: method}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); err != nil || n != len(body) {
		t.Errorf("%s %s: Content-Length %q for a %d-byte body", method, target, resp.Header.Get("Content-Length"), len(body))
	}
	return resp.StatusCode, string(body)
}
