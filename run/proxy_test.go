package run

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/sandbox"
)

// captureFiles stands in for a sandbox's capture sockets: a TCP listener, a
// UDP DNS socket and a TCP DNS listener on the host's loopback. It returns
// the files and the UDP DNS address.
func captureFiles(t *testing.T) ([]*os.File, string) {
	t.Helper()
	tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dnsTCP, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for _, c := range []interface{ File() (*os.File, error) }{tcp, udp, dnsTCP} {
		f, err := c.File()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	addr := udp.LocalAddr().String()
	tcp.Close()
	udp.Close()
	dnsTCP.Close()
	return files, addr
}

// testRunner is a run of c over a temporary HOME whose messages are
// dropped; it has no runtime directory.
func testRunner(t *testing.T, c *Config) *runner {
	t.Helper()
	home := t.TempDir()
	return &runner{c: c, h: Host{
		Env:        map[string]string{"HOME": home, "PATH": "/usr/bin:/bin"},
		StateDir:   filepath.Join(home, ".local", "state", "pent"),
		RuntimeDir: func() (string, error) { return "", errors.New("no runtime directory in this test") },
		Out:        testOutput{io.Discard},
	}}
}

// lookup sends an A query for name to addr and returns the rcode, or -1 when
// nothing answers.
func lookup(addr, name string) int {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		return -1
	}
	return r.Rcode
}

// TestPrivateAttach: a private proxy serves the sockets, logs its decisions
// to the state directory, and closing the session closes the sockets.
func TestPrivateAttach(t *testing.T) {
	o := testRunner(t, &Config{Effective: &config.Effective{Domains: []string{"allowed.test"}, UpstreamDNS: []string{"127.0.0.1:9"}}})
	attach, _, err := o.proxyAttach(nil)
	if err != nil {
		t.Fatal(err)
	}
	files, dnsAddr := captureFiles(t)
	session, err := attach(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := lookup(dnsAddr, "denied.test"); got != dns.RcodeNameError {
		t.Errorf("denied name: rcode %d, want NXDOMAIN", got)
	}
	if err := session.Close(); err != nil {
		t.Errorf("closing the session: %v", err)
	}
	if got := lookup(dnsAddr, "denied.test"); got != -1 {
		t.Errorf("the DNS socket still answers (rcode %d) after the session ended", got)
	}
	log, err := os.ReadFile(filepath.Join(o.h.StateDir, "proxy.log"))
	if err != nil || !strings.Contains(string(log), `"action":"deny"`) || !strings.Contains(string(log), "denied.test") {
		t.Errorf("the decision log lacks the denial (%v):\n%s", err, log)
	}
}

// TestProxyAttachChoosesDaemon: an allowed project's run uses the project's
// daemon when its policy is the run's, and a private proxy when the run's
// settings differ (here: an extra --allow).
func TestProxyAttachChoosesDaemon(t *testing.T) {
	rt := t.TempDir()
	if err := os.Chmod(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	project := proxy.Settings{Allow: []string{"allowed.test"}, UpstreamDNS: []string{"127.0.0.1:9"}}
	done := make(chan error, 1)
	go func() {
		done <- proxy.RunDaemon(proxy.DaemonConfig{
			SocketPath: proxy.SocketPath(rt, root),
			Reload:     func() (proxy.Settings, error) { return project, nil },
		})
	}()
	client := proxy.NewClient(proxy.SocketPath(rt, root))
	t.Cleanup(func() {
		_ = client.Stop()
		<-done
	})
	noStart := func() error { return nil }
	if _, err := proxy.Ensure(rt, root, noStart); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		allow       []string
		wantSession int64
	}{
		{"same settings", []string{"allowed.test"}, 1},
		{"extra --allow", []string{"allowed.test", "more.test"}, 0},
	}
	// Each run's session, through capture sockets (Linux) or on an
	// authenticated loopback port (macOS).
	open := map[string]func(t *testing.T, o *runner) io.Closer{
		"capture": func(t *testing.T, o *runner) io.Closer {
			attach, _, err := o.proxyAttach(nil)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := captureFiles(t)
			session, err := attach(files)
			if err != nil {
				t.Fatal(err)
			}
			return session
		},
		"loopback": func(t *testing.T, o *runner) io.Closer {
			lp, err := o.proxyLoopback(nil)
			if err != nil {
				t.Fatal(err)
			}
			if code := connectStatus(t, lp.port, "", "allowed.test:9"); code != http.StatusProxyAuthRequired {
				t.Errorf("CONNECT without the token: status %d, want 407", code)
			}
			if code := connectStatus(t, lp.port, lp.token, "allowed.test:9"); code == http.StatusProxyAuthRequired {
				t.Errorf("the session refuses its own token")
			}
			return lp
		},
	}
	for _, tt := range tests {
		for kind, openSession := range open {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				o := testRunner(t, &Config{ProjectRoot: root, Trusted: true, Effective: &config.Effective{Domains: tt.allow, UpstreamDNS: project.UpstreamDNS}})
				o.h.RuntimeDir = func() (string, error) { return rt, nil }
				session := openSession(t, o)
				defer session.Close()
				st, err := client.Status()
				if err != nil {
					t.Fatal(err)
				}
				if st.Sessions != tt.wantSession {
					t.Errorf("the daemon serves %d sessions, want %d", st.Sessions, tt.wantSession)
				}
			})
		}
	}
}

// connectStatus sends a CONNECT for target to the loopback proxy on port,
// with token as credentials when it is not empty, and returns the status.
func connectStatus(t *testing.T, port int, token, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := ""
	if token != "" {
		auth = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("pent:"+token)) + "\r\n"
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, target, auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPrivateLoopback: without a project a macOS run gets a private proxy
// on an authenticated loopback port: it decides by the run's allowlist,
// logs to the state directory, refuses clients without the token, and
// closing the session closes the port.
func TestPrivateLoopback(t *testing.T) {
	o := testRunner(t, &Config{Effective: &config.Effective{Domains: []string{"allowed.test"}, UpstreamDNS: []string{"127.0.0.1:9"}}})
	lp, err := o.proxyLoopback(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := connectStatus(t, lp.port, "", "allowed.test:443"); got != http.StatusProxyAuthRequired {
		t.Errorf("CONNECT without the token: status %d, want 407", got)
	}
	if got := connectStatus(t, lp.port, strings.Repeat("0", 64), "allowed.test:443"); got != http.StatusProxyAuthRequired {
		t.Errorf("CONNECT with a wrong token: status %d, want 407", got)
	}
	if got := connectStatus(t, lp.port, lp.token, "denied.test:443"); got != http.StatusForbidden {
		t.Errorf("CONNECT to a denied name: status %d, want 403", got)
	}
	if err := lp.Close(); err != nil {
		t.Errorf("closing the session: %v", err)
	}
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(lp.port))); err == nil {
		c.Close()
		t.Error("the proxy port still accepts after the session ended")
	}
	log, err := os.ReadFile(filepath.Join(o.h.StateDir, "proxy.log"))
	for _, want := range []string{`"action":"deny","kind":"connect","name":"denied.test"`, "no valid proxy credentials"} {
		if err != nil || !strings.Contains(string(log), want) {
			t.Errorf("the decision log lacks %s (%v):\n%s", want, err, log)
		}
	}
}

// TestUseLoopback: a macOS run's launch options name the session's port,
// its credentials and the connector (the sandbox sets the proxy variables
// from them: TestWithLoopbackProxy).
func TestUseLoopback(t *testing.T) {
	token := strings.Repeat("ab", 32)
	var opts sandbox.LaunchOptions
	useLoopback(&opts, loopbackProxy{port: 4242, token: token}, "/opt/pent/pent")
	want := sandbox.LaunchOptions{ProxyPort: 4242, ProxyUser: proxy.SessionUser, ProxyToken: token, Connector: "/opt/pent/pent"}
	if opts.ProxyPort != want.ProxyPort || opts.ProxyUser != want.ProxyUser || opts.ProxyToken != want.ProxyToken || opts.Connector != want.Connector {
		t.Errorf("options %+v, want %+v", opts, want)
	}
}
