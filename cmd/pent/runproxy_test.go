package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/proxy"
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
	f, _, _ := testFactory(t, "")
	o := &RunOptions{IO: f.IO, Factory: f}
	l := &loaded{Effective: &config.Effective{Domains: []string{"allowed.test"}, UpstreamDNS: []string{"127.0.0.1:9"}}}
	attach, err := o.proxyAttach(l, nil)
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
	log, err := os.ReadFile(filepath.Join(f.Env["HOME"], ".local", "state", "pent", "proxy.log"))
	if err != nil || !strings.Contains(string(log), `"action":"deny"`) || !strings.Contains(string(log), "denied.test") {
		t.Errorf("the decision log lacks the denial (%v):\n%s", err, log)
	}
}

// TestProxyAttachChoosesDaemon: an allowed project's run uses the project's
// daemon when its policy is the run's, and a private proxy when the run's
// settings differ (here: an extra --allow).
func TestProxyAttachChoosesDaemon(t *testing.T) {
	f, _, _ := testFactory(t, "")
	rt := t.TempDir()
	f.Env["XDG_RUNTIME_DIR"] = rt
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &RunOptions{IO: f.IO, Factory: f}
			l := &loaded{ProjectRoot: root, Trust: hook.Allowed, Effective: &config.Effective{Domains: tt.allow, UpstreamDNS: project.UpstreamDNS}}
			attach, err := o.proxyAttach(l, nil)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := captureFiles(t)
			session, err := attach(files)
			if err != nil {
				t.Fatal(err)
			}
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
