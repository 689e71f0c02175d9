package proxy

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pent-sandbox/pent/sandbox"
)

// startSSHLike starts an ssh-like server on loopback: it speaks first (a
// banner), then answers one line, and closes. It counts its connections.
func startSSHLike(t *testing.T) (port int, hits *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hits = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("SSH-2.0-pent-test\r\n"))
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = c.Write([]byte("got " + line))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, hits
}

// TestProxyConnect runs the connector against an authenticated loopback
// session: with the token and an allowed name the banner and the answer
// come through; a denied name, a missing or wrong token never reach the
// server; a proxy off loopback and a malformed host are refused before any
// connection.
func TestProxyConnect(t *testing.T) {
	u := startUpstream(t)
	p := testProxy(t, u, "www.test")
	lb := serveLoopback(t, p)
	port, hits := startSSHLike(t)

	var out bytes.Buffer
	if err := ProxyConnect(lb.url("http", lb.Token), "www.test", port, strings.NewReader("SSH-2.0-client\n"), &out); err != nil {
		t.Fatalf("allowed name: %v", err)
	}
	if got, want := out.String(), "SSH-2.0-pent-test\r\ngot SSH-2.0-client\n"; got != want {
		t.Fatalf("allowed name: got %q, want %q", got, want)
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d connections, want 1", hits.Load())
	}

	tests := []struct {
		name, proxyURL, host string
		want                 string
	}{
		{"denied name", lb.url("http", lb.Token), "denied.example", "403 Forbidden"},
		{"no token", "http://" + lb.addr(), "www.test", "407 Proxy Authentication Required"},
		{"wrong token", lb.url("http", strings.Repeat("0", 64)), "www.test", "407 Proxy Authentication Required"},
		{"raw ip", lb.url("http", lb.Token), "127.0.0.1", "403 Forbidden"},
		{"proxy off loopback", "http://pent:" + lb.Token + "@192.0.2.1:8080", "www.test", "not a loopback IP:port"},
		{"proxy by name", "http://pent:" + lb.Token + "@localhost:" + lb.addr()[len("127.0.0.1:"):], "www.test", "not a loopback IP:port"},
		{"socks scheme", lb.url("socks5h", lb.Token), "www.test", `scheme "socks5h"`},
		{"header injection", lb.url("http", lb.Token), "www.test\r\nX-Evil: 1", "is not a host name"},
		{"empty host", lb.url("http", lb.Token), "", "is not a host name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ProxyConnect(tc.proxyURL, tc.host, port, strings.NewReader("x\n"), &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q for a refused tunnel", out.String())
			}
		})
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the server saw %d connections, want only the allowed one", n)
	}
	if err := ProxyConnect(lb.url("http", lb.Token), "www.test", 0, nil, nil); err == nil {
		t.Error("port 0 accepted")
	}
}

// TestGitSSHCommand runs the value as git does (sh), then the ProxyCommand
// as ssh does (%-expansion, then a shell), and checks that pent gets
// exactly its path and `proxy connect HOST PORT`, whatever the path holds.
func TestGitSSHCommand(t *testing.T) {
	for _, connector := range []string{"/usr/local/bin/pent", "/Users/o'brien/My Tools/100%/pent", `/a"b$(touch x)\c/pent`} {
		argv := shWords(t, sandbox.GitSSHCommand(connector))
		if len(argv) != 3 || argv[0] != "ssh" || argv[1] != "-o" || !strings.HasPrefix(argv[2], "ProxyCommand=") {
			t.Fatalf("sandbox.GitSSHCommand(%q) runs %q", connector, argv)
		}
		pc := strings.TrimPrefix(argv[2], "ProxyCommand=")
		pc = strings.NewReplacer("%%", "%", "%h", "git.test", "%p", "22").Replace(pc)
		if got, want := shWords(t, pc), []string{connector, "proxy", "connect", "git.test", "22"}; !slices.Equal(got, want) {
			t.Errorf("ProxyCommand of %q runs %q, want %q", connector, got, want)
		}
	}
}

// shWords is the words sh makes of cmd.
func shWords(t *testing.T, cmd string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `eval "set -- $1"; printf '%s\0' "$@"`, "sh", cmd).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}
