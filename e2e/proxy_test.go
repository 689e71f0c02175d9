//go:build linux

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/miekg/dns"
	"github.com/pent-sandbox/pent/internal/testutil"
	"github.com/vishvananda/netlink"
)

// The proxy tests start a small "internet" on the host: a DNS server that
// answers every *.test name with 127.0.0.1 (so allowed.test and denied.test
// share one address), HTTP and TLS servers that record the Host and SNI
// they see, a TCP banner server (ssh-like: the server speaks first), and a
// banner server and a UDP echo on a non-loopback address of this host for
// the raw-IP and UDP probes. Every server records what reached it, so a
// test can prove that nothing for a denied name ever arrived.

// Names the tests use.
const (
	allowedName = "allowed.test"
	deniedName  = "denied.test"
	newName     = "new.test"
)

// localNet is the test's internet.
type localNet struct {
	dnsAddr   string // 127.0.0.1:PORT, UDP and TCP
	httpPort  int
	tlsPort   int
	bannerTCP int    // banner server on 127.0.0.1
	hostIP    string // a non-loopback IPv4 address of this host
	rawPort   int    // banner server on hostIP
	udpPort   int    // UDP echo on hostIP and 127.0.0.1

	mu      sync.Mutex
	queries []string // "name. TYPE"
	hosts   []string // HTTP Host headers
	snis    []string // TLS server names
	rawHits atomic.Int32
	udpHits atomic.Int32
	banners atomic.Int32
}

func (n *localNet) record(list *[]string, s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	*list = append(*list, s)
}

// seen returns a copy of list.
func (n *localNet) seen(list *[]string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), *list...)
}

// startLocalNet starts the test's internet for the duration of the test and
// points r's pent at it (writeGlobal).
func startLocalNet(t *testing.T, r *runner) *localNet {
	t.Helper()
	n := &localNet{hostIP: hostIPv4(t)}
	n.startDNS(t)

	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.record(&n.hosts, r.Host)
		fmt.Fprintf(w, "HTTP-OK host=%s\n", r.Host)
	}))
	t.Cleanup(web.Close)
	n.httpPort = urlPort(t, web.URL)

	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "TLS-OK sni=%s\n", r.TLS.ServerName)
	}))
	tlsSrv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		n.record(&n.snis, h.ServerName)
		return nil, nil
	}}
	// Handshakes that clients abandon (a refused tunnel, a connection the
	// proxy ends) make the server complain; that is noise here.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	n.tlsPort = urlPort(t, tlsSrv.URL)

	n.bannerTCP = testutil.ServeBanner(t, "tcp4", "127.0.0.1:0", "BANNER-OK\n", &n.banners).(*net.TCPAddr).Port
	n.rawPort = testutil.ServeBanner(t, "tcp4", n.hostIP+":0", "BANNER-OK\n", &n.rawHits).(*net.TCPAddr).Port
	n.udpPort = serveUDPEcho(t, n.hostIP, &n.udpHits)
	n.writeGlobal(r)
	return n
}

// startDNS serves *.test on one port over UDP and TCP: A records point at
// 127.0.0.1, TXT records say "txt-for-NAME", other names are NXDOMAIN.
func (n *localNet) startDNS(t *testing.T) {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if len(r.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
			_ = w.WriteMsg(m)
			return
		}
		q := r.Question[0]
		n.record(&n.queries, q.Name+" "+dns.TypeToString[q.Qtype])
		switch {
		case !strings.HasSuffix(q.Name, ".test."):
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
		case q.Qtype == dns.TypeTXT:
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{"txt-for-" + q.Name}})
		}
		_ = w.WriteMsg(m)
	})
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp4", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			if attempt < 10 {
				continue // the TCP port is taken: try another
			}
			t.Fatal(err)
		}
		for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
			go func() { _ = srv.ActivateAndServe() }()
			t.Cleanup(func() { _ = srv.Shutdown() })
		}
		n.dnsAddr = pc.LocalAddr().String()
		return
	}
}

// hostIPv4 is a non-loopback IPv4 address of this host, the target of the
// raw-IP probes (a connection to it must not be relayed just because the
// address is allowed as a destination).
func hostIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	t.Fatal("this host has no non-loopback IPv4 address for the raw-IP probes")
	return ""
}

func urlPort(t *testing.T, raw string) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serveUDPEcho answers "pong" on ip:PORT and 127.0.0.1:PORT (same port
// when possible) and counts the datagrams.
func serveUDPEcho(t *testing.T, ip string, hits *atomic.Int32) int {
	t.Helper()
	a, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := a.LocalAddr().(*net.UDPAddr).Port
	conns := []net.PacketConn{a}
	if b, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		conns = append(conns, b)
	}
	for _, c := range conns {
		t.Cleanup(func() { c.Close() })
		go func() {
			buf := make([]byte, 512)
			for {
				_, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				hits.Add(1)
				_, _ = c.WriteTo([]byte("pong"), from)
			}
		}()
	}
	return port
}

// writeGlobal points pent's proxy at the local DNS server and lets allowed
// names reach loopback and the host address.
func (n *localNet) writeGlobal(r *runner) {
	r.t.Helper()
	r.writeFile(r.globalConfig(), fmt.Sprintf("[proxy]\nupstream_dns = [%q]\ndestinations = [\"upstream:127.0.0.0/8\", %q]\n",
		n.dnsAddr, n.hostIP+"/32"), 0o644)
}

// writeProject makes the fixture project a proxy-mode project allowing
// names and has `pent allow` trust it.
func writeProject(r *runner, names ...string) {
	r.t.Helper()
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = strconv.Quote(name)
	}
	r.writeFile(filepath.Join(r.project, ".pent.toml"),
		"[sandbox]\nnetwork = \"proxy\"\n\n[proxy]\ndomain_allowlist = ["+strings.Join(quoted, ", ")+"]\n", 0o644)
	r.allow()
}

// startProjectProxy is the fixture of the project-proxy tests: the local
// network, probe.py in the project (its path is returned), the project made
// a trusted proxy-mode project allowing allowedName, and its proxy stopped
// when the test ends.
func startProjectProxy(t *testing.T, r *runner) (*localNet, string) {
	t.Helper()
	n := startLocalNet(t, r)
	probe := writeProbe(r)
	writeProject(r, allowedName)
	r.stopDaemonAtEnd()
	return n, probe
}

// probePy is the sandbox side of the probes and fault tests:
// `python3 probe.py FUNC ARGS` exits 0 when FUNC succeeded; `serve` runs one
// "FUNC ARGS" per stdin line and answers "FUNC=OK" or "FUNC=FAIL reason".
const probePy = `import random, socket, struct, sys, time

held = {}

def banner(host, port):
    s = socket.create_connection((host, int(port)), timeout=5)
    data = s.recv(64)
    if not data.startswith(b"BANNER-OK"):
        raise SystemExit("no banner: %r" % data)

def resolve(name):
    print(socket.getaddrinfo(name, 80, socket.AF_INET))

def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, int(port)))
    s.send(b"ping")
    data = s.recv(64)
    if data != b"pong":
        raise SystemExit("no pong: %r" % data)

def txt(name, server, port):
    q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, int(port)))
    r = s.recv(4096)
    rcode, answers = r[3] & 15, struct.unpack(">H", r[6:8])[0]
    if rcode != 0 or answers == 0 or b"txt-for-" not in r:
        raise SystemExit("rcode %d, %d answers" % (rcode, answers))

def hold(host, port, count):
    socks = [socket.create_connection((host, int(port)), timeout=30) for _ in range(int(count))]
    for s in socks:
        s.settimeout(40)
        if s.recv(3) != b"ok\n":
            raise SystemExit("a held connection did not get ok")
    print("HELD", len(socks))

def stream(host, port):
    s = socket.create_connection((host, int(port)), timeout=10)
    if not s.recv(4096):
        raise SystemExit("the stream sent nothing")
    held["stream"] = s

def broken(seconds):
    # The held stream must end (EOF or an error) within the given time.
    s = held.pop("stream")
    s.settimeout(1)
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            if not s.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return
    raise SystemExit("the stream still flows (or hangs open) %s s after the proxy died" % seconds)

def hold_tagged(host, port, tag):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(tag.encode() + b"\n")
    print("READY", flush=True)
    time.sleep(3600)

def serve():
    for line in sys.stdin:
        f, *args = line.split()
        try:
            globals()[f](*args)
            print(f + "=OK", flush=True)
        except BaseException as e:
            print(f + "=FAIL " + repr(e).replace("\n", " "), flush=True)

globals()[sys.argv[1]](*sys.argv[2:])
`

// writeProbe puts probe.py into the project and returns its path.
func writeProbe(r *runner) string {
	r.t.Helper()
	path := filepath.Join(r.project, "probe.py")
	r.writeFile(path, probePy, 0o644)
	return path
}

// TestProxy_Containment: a run without an allowed project gets a private
// proxy that lets exactly the allowed name through — to proxy-aware and
// proxy-unaware clients, HTTP, TLS and raw TCP — and nothing else: no other
// name resolves or is ever asked upstream, no raw IP, no UDP, no TXT lookup
// of a denied name, no denied SNI or Host on the allowed address.
func TestProxy_Containment(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n := startLocalNet(t, r)
		probe := writeProbe(r)
		a, d := allowedName, deniedName
		h, s, b := strconv.Itoa(n.httpPort), strconv.Itoa(n.tlsPort), strconv.Itoa(n.bannerTCP)
		curl := "curl -fsS --max-time 10 "
		py := "python3 " + probe + " "
		type check struct {
			name, cmd string
			ok        bool
		}
		checks := []check{
			{"curl_proxy", curl + "http://" + a + ":" + h + "/", true},
			{"curl_noproxy", curl + "--noproxy '*' http://" + a + ":" + h + "/", true},
			{"curl_socks", curl + `--proxy "$ALL_PROXY" http://` + a + ":" + h + "/", true},
			{"tls_proxy", curl + "-k https://" + a + ":" + s + "/", true},
			{"tls_noproxy", curl + "-k --noproxy '*' https://" + a + ":" + s + "/", true},
			{"raw_python", py + "banner " + a + " " + b, true},
			{"raw_bash", "bash -c 'exec 3<>/dev/tcp/" + a + "/" + b + " && read -r l <&3 && [ \"$l\" = BANNER-OK ]'", true},
			{"txt_allowed", py + "txt " + a + " 127.0.0.1 53", true},
			{"resolve_denied_getent", "getent hosts " + d, false},
			{"resolve_denied_python", py + "resolve " + d, false},
			{"raw_ip_loopback", py + "banner 127.0.0.1 " + b, false},
			{"raw_ip_host", py + "banner " + n.hostIP + " " + strconv.Itoa(n.rawPort), false},
			{"udp_host", py + "udp " + n.hostIP + " " + strconv.Itoa(n.udpPort), false},
			{"udp_loopback", py + "udp 127.0.0.1 " + strconv.Itoa(n.udpPort), false},
			{"udp_allowed_name", py + "udp " + a + " " + strconv.Itoa(n.udpPort), false},
			{"txt_denied", py + "txt " + d + " 127.0.0.1 53", false},
			{"txt_denied_any_server", py + "txt " + d + " " + n.hostIP + " 53", false},
			{"txt_denied_upstream", py + "txt " + d + " " + strings.Replace(n.dnsAddr, ":", " ", 1), false},
			{"sni_denied", curl + "-k --noproxy '*' --connect-to " + d + ":" + s + ":" + a + ":" + s + " https://" + d + ":" + s + "/", false},
			{"sni_denied_proxy", curl + "-k --connect-to " + d + ":" + s + ":" + a + ":" + s + " https://" + d + ":" + s + "/", false},
			{"host_denied", curl + "--noproxy '*' -H 'Host: " + d + "' http://" + a + ":" + h + "/", false},
			{"shared_proxy", curl + "http://" + d + ":" + h + "/", false},
			{"shared_connect", curl + "-k https://" + d + ":" + s + "/", false},
			{"shared_socks", curl + `--proxy "$ALL_PROXY" http://` + d + ":" + h + "/", false},
		}
		// The command has no CAP_NET_ADMIN: it cannot remove the capture
		// (sandbox/proxy_linux_test.go checks the same over netlink).
		if nft := "/usr/sbin/nft"; fileExists(nft) {
			checks = append(checks,
				check{"nft_flush", nft + " flush ruleset", false},
				check{"after_flush_raw_ip", py + "banner " + n.hostIP + " " + strconv.Itoa(n.rawPort), false},
				check{"after_flush_denied", curl + "--noproxy '*' http://" + d + ":" + h + "/", false},
				check{"after_flush_allowed", curl + "--noproxy '*' http://" + a + ":" + h + "/", true})
		} else {
			t.Log("nft is not installed: the flush attempt is checked by the sandbox package's tests only")
		}
		script := probeLib
		var names []string
		for _, c := range checks {
			script += "try " + c.name + " sh -c " + posixQuote(c.cmd) + "\n"
			names = append(names, c.name)
		}
		hostBefore := hostNetState(t)
		res := r.sandboxSh(script, "--allow", allowedName)
		if after := hostNetState(t); after != hostBefore {
			t.Errorf("the run changed the host's network configuration:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
		}
		if res.code != 0 {
			t.Fatalf("the probe script did not run to its end:\n%s", res)
		}
		got := probes(t, res, names...)
		for _, c := range checks {
			if p, ok := got[c.name]; ok && p.ok != c.ok {
				t.Errorf("%s: want ok=%v, got ok=%v (%s)\n  command: %s", c.name, c.ok, p.ok, p.msg, c.cmd)
			}
		}
		n.assertNothingDenied(t)
		if hosts := n.seen(&n.hosts); !containsPrefix(hosts, allowedName) {
			t.Errorf("the HTTP server never saw %s: %q", allowedName, hosts)
		}
		if snis := n.seen(&n.snis); !containsPrefix(snis, allowedName) {
			t.Errorf("the TLS server never saw SNI %s: %q", allowedName, snis)
		}
		log, err := os.ReadFile(filepath.Join(r.home, ".local", "state", "pent", "proxy.log"))
		if err != nil || !strings.Contains(string(log), `"action":"deny"`) || !strings.Contains(string(log), deniedName) {
			t.Errorf("the private proxy's decision log lacks the denials of %s (%v):\n%s", deniedName, err, log)
		}
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// hostNetState describes the host's interfaces, IPv4 and IPv6 routes and
// nf_tables rules (when the test process may read them), to prove that proxy
// mode leaves them alone: its capture lives in the sandbox's own namespace.
func hostNetState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("listing the host's interfaces: %v", err)
	}
	for _, l := range links {
		fmt.Fprintf(&b, "link %s %s\n", l.Attrs().Name, l.Attrs().Flags)
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatalf("listing the host's routes: %v", err)
	}
	for _, r := range routes {
		fmt.Fprintf(&b, "route %s\n", r)
	}
	if os.Geteuid() != 0 {
		return b.String() // reading nf_tables needs CAP_NET_ADMIN
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatalf("nf_tables: %v", err)
	}
	chains, err := c.ListChains()
	if err != nil {
		t.Fatalf("listing the host's nf_tables chains: %v", err)
	}
	for _, ch := range chains {
		rs, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatalf("listing the rules of %s: %v", ch.Name, err)
		}
		fmt.Fprintf(&b, "chain %d/%s/%s: %d rules\n", ch.Table.Family, ch.Table.Name, ch.Name, len(rs))
	}
	return b.String()
}

// assertNothingDenied fails if anything for the denied name reached a
// server, or anything reached the raw-IP or UDP servers.
func (n *localNet) assertNothingDenied(t *testing.T) {
	t.Helper()
	for _, list := range []*[]string{&n.queries, &n.hosts, &n.snis} {
		for _, s := range n.seen(list) {
			if strings.Contains(s, deniedName) {
				t.Errorf("%q for the denied name reached a server", s)
			}
		}
	}
	if c := n.rawHits.Load(); c != 0 {
		t.Errorf("%d raw-IP connections reached the host address", c)
	}
	if c := n.udpHits.Load(); c != 0 {
		t.Errorf("%d UDP datagrams reached the host", c)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// proxyStatus is what `pent proxy status` said.
type proxyStatus struct {
	running           bool
	pid, sessions     int
	connections       int
	policy, rawOutput string
}

var statusField = regexp.MustCompile(`(?m)^(?:proxy for .*: running, pid (\d+), .*|sessions: (\d+)|connections: (\d+)|policy: (.*))$`)

func (r *runner) proxyStatus() proxyStatus {
	r.t.Helper()
	res := r.pentQuiet("proxy", "status")
	st := proxyStatus{rawOutput: res.stdout}
	for _, m := range statusField.FindAllStringSubmatch(res.stdout, -1) {
		switch {
		case m[1] != "":
			st.running = true
			st.pid, _ = strconv.Atoi(m[1])
		case m[2] != "":
			st.sessions, _ = strconv.Atoi(m[2])
		case m[3] != "":
			st.connections, _ = strconv.Atoi(m[3])
		case m[4] != "":
			st.policy = m[4]
		}
	}
	return st
}

// pentQuiet runs pent in the project without logging the result (for
// polling loops).
func (r *runner) pentQuiet(args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := r.command(ctx, r.project, pentBin, args...)
	out, err := cmd.Output()
	res := result{args: append([]string{"pent"}, args...), stdout: string(out)}
	if err != nil {
		res.code = -1
	}
	return res
}

// waitStatus polls `pent proxy status` until cond holds.
func (r *runner) waitStatus(what string, cond func(proxyStatus) bool) proxyStatus {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := r.proxyStatus()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for the project's proxy: %s; last status:\n%s", what, st.rawOutput)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitIdle polls `pent proxy status` until the project's proxy runs with no
// session and no connection.
func (r *runner) waitIdle(what string) proxyStatus {
	r.t.Helper()
	return r.waitStatus(what, func(st proxyStatus) bool {
		return st.running && st.sessions == 0 && st.connections == 0
	})
}

// stopDaemonAtEnd stops the project's proxy when the test ends and waits
// for its process to go away.
func (r *runner) stopDaemonAtEnd() {
	r.t.Cleanup(func() {
		st := r.proxyStatus()
		if !st.running {
			return
		}
		r.pentQuiet("proxy", "stop")
		for i := 0; i < 200 && processAlive(st.pid); i++ {
			time.Sleep(25 * time.Millisecond)
		}
		if processAlive(st.pid) {
			r.t.Errorf("the project's proxy (pid %d) is still running after pent proxy stop", st.pid)
		}
	})
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return pid > 0 && err == nil
}

// bgPent is a pent run in the background with pipes to its stdin and
// stdout.
type bgPent struct {
	wait   func() error // waits for pent once, then returns the same error
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *strings.Builder
}

// startServe starts pent args in the project in the background.
func (r *runner) startServe(args ...string) *bgPent {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	cmd := r.command(ctx, r.project, pentBin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	var once sync.Once
	var werr error
	b := &bgPent{wait: func() error {
		once.Do(func() {
			werr = cmd.Wait()
			cancel()
		})
		return werr
	}, stdin: stdin, stdout: bufio.NewReader(stdout), stderr: stderr}
	r.t.Cleanup(func() {
		stdin.Close()
		_ = b.wait()
	})
	return b
}

// ask sends one probe line to a `probe.py serve` sandbox and returns its
// answer.
func (b *bgPent) ask(t *testing.T, line string) probe {
	t.Helper()
	if _, err := io.WriteString(b.stdin, line+"\n"); err != nil {
		t.Fatalf("writing to the sandbox: %v; stderr:\n%s", err, b.stderr)
	}
	answer, err := b.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the sandbox's answer to %q: %v; stderr:\n%s", line, err, b.stderr)
	}
	m := probeLine.FindStringSubmatch(strings.TrimSpace(answer))
	if m == nil {
		t.Fatalf("unexpected answer to %q: %q", line, answer)
	}
	return probe{ok: m[2] == "OK", msg: m[3]}
}

// finish closes stdin and requires pent to exit 0.
func (b *bgPent) finish(t *testing.T) {
	t.Helper()
	b.stdin.Close()
	if err := b.wait(); err != nil {
		t.Errorf("pent run: %v; stderr:\n%s", err, b.stderr)
	}
}

// TestProxy_ProjectShared: two concurrent runs in an allowed project share
// one proxy process (two sessions), which the decision log shows.
func TestProxy_ProjectShared(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n, probe := startProjectProxy(t, r)
		line := "banner " + allowedName + " " + strconv.Itoa(n.bannerTCP)
		first := r.startServe("run", "--", "python3", probe, "serve")
		second := r.startServe("run", "--", "python3", probe, "serve")
		for i, b := range []*bgPent{first, second} {
			if p := b.ask(t, line); !p.ok {
				t.Errorf("run %d could not reach %s: %s", i+1, allowedName, p.msg)
			}
		}
		st := r.waitStatus("2 sessions", func(st proxyStatus) bool { return st.sessions == 2 })
		if pids := daemonPIDs(t, r); len(pids) != 1 || pids[0] != st.pid {
			t.Errorf("want one proxy process (pid %d) for the project, found %v", st.pid, pids)
		}
		first.finish(t)
		second.finish(t)
		r.waitStatus("0 sessions after both runs", func(st proxyStatus) bool { return st.running && st.sessions == 0 })
		logs := r.pent("proxy", "logs")
		if !strings.Contains(logs.stdout, `"action":"allow"`) || !strings.Contains(logs.stdout, allowedName) {
			t.Errorf("pent proxy logs lacks the allowed connections:\n%s", logs)
		}
		n.assertNothingDenied(t)
	})
}

// daemonPIDs lists the processes of the runner's account running
// `pent proxy serve` for its project.
func daemonPIDs(t *testing.T, r *runner) []int {
	t.Helper()
	var pids []int
	for _, p := range allProcs(t) {
		if args := p.cmdline; len(args) >= 5 && args[0] == pentBin && args[1] == "proxy" && args[2] == "serve" && args[4] == r.project {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// TestProxy_AllowlistReload: editing and re-allowing the project file
// changes what a running sandbox may reach, for its next connection, with
// the same proxy process.
func TestProxy_AllowlistReload(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n, probe := startProjectProxy(t, r)
		port := strconv.Itoa(n.bannerTCP)
		sb := r.startServe("run", "--", "python3", probe, "serve")
		if p := sb.ask(t, "banner "+allowedName+" "+port); !p.ok {
			t.Fatalf("%s before the edit: %s", allowedName, p.msg)
		}
		if p := sb.ask(t, "banner "+newName+" "+port); p.ok {
			t.Fatalf("%s was reachable before it was allowed", newName)
		}
		before := r.waitStatus("running", func(st proxyStatus) bool { return st.running })

		writeProject(r, newName)
		after := r.waitStatus("the new allowlist", func(st proxyStatus) bool {
			return strings.Contains(st.policy, newName) && !strings.Contains(st.policy, allowedName)
		})
		if after.pid != before.pid {
			t.Errorf("the proxy was restarted (pid %d, then %d)", before.pid, after.pid)
		}
		if p := sb.ask(t, "banner "+newName+" "+port); !p.ok {
			t.Errorf("%s after it was allowed: %s", newName, p.msg)
		}
		if p := sb.ask(t, "banner "+allowedName+" "+port); p.ok {
			t.Errorf("%s is still reachable after it was removed from the allowlist", allowedName)
		}
		sb.finish(t)
	})
}

// holdServer accepts connections and keeps them open until want of them
// are open at once, then answers "ok" on all of them.
func holdServer(t *testing.T, want int) (port int, peak *atomic.Int32) {
	t.Helper()
	peak = &atomic.Int32{}
	var held []net.Conn
	addr := testutil.AcceptLoop(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		held = append(held, c)
		peak.Store(int32(len(held)))
		if len(held) == want {
			for _, c := range held {
				_, _ = c.Write([]byte("ok\n"))
				c.Close()
			}
			held = nil
		}
	})
	return addr.(*net.TCPAddr).Port, peak
}

// settledSocketFDs polls the count of pid's descriptors other than pipes
// (Go keeps a garbage-collected pool of pipes for splice(2) relaying) for up
// to 10 s until it is want (connections close asynchronously) and returns
// the last count.
func settledSocketFDs(t *testing.T, pid, want int) int {
	t.Helper()
	got := testutil.FDs(t, pid, testutil.NotPipe)
	for deadline := time.Now().Add(10 * time.Second); got != want && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		got = testutil.FDs(t, pid, testutil.NotPipe)
	}
	return got
}

// TestProxy_Scale: one project proxy serves 50 concurrent sandboxes and
// 1,000 concurrent connections, and holds no more descriptors afterwards
// than before.
func TestProxy_Scale(t *testing.T) {
	// In turn: 50 sandboxes and 1,000 connections per mode saturate two
	// cores, and the probes' read timeouts are what the test measures.
	bothModesInTurn(t, func(t *testing.T, r *runner) {
		n, probe := startProjectProxy(t, r)
		banner := strconv.Itoa(n.bannerTCP)

		r.pent("run", "--", "python3", probe, "banner", allowedName, banner).wantCode(t, 0)
		st := r.waitIdle("idle after the warm-up")
		before := testutil.FDs(t, st.pid, testutil.NotPipe)

		const sandboxes = 50
		for i, res := range r.pentQuietRuns(sandboxes, "run", "--", "python3", probe, "banner", allowedName, banner) {
			if res.code != 0 {
				t.Errorf("sandbox %d of %d failed:\n%s", i+1, sandboxes, res)
			}
		}

		const conns, holders = 1000, 4
		holdPort, peak := holdServer(t, conns)
		for i, res := range r.pentQuietRuns(holders, "run", "--", "python3", probe, "hold", allowedName, strconv.Itoa(holdPort), strconv.Itoa(conns/holders)) {
			if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("HELD %d", conns/holders)) {
				t.Errorf("holder %d failed:\n%s", i+1, res)
			}
		}
		if p := peak.Load(); p != conns {
			t.Errorf("the server saw at most %d concurrent connections, want %d", p, conns)
		}

		after := r.waitIdle("idle after the load")
		if after.pid != st.pid {
			t.Fatalf("the proxy was restarted during the load (pid %d, then %d)", st.pid, after.pid)
		}
		got := settledSocketFDs(t, st.pid, before)
		if got != before {
			t.Errorf("the proxy holds %d descriptors (pipes aside) after the load, %d before", got, before)
		}
		t.Logf("proxy descriptors (pipes aside): %d before, %d after", before, got)
	})
}

// pentQuietRun runs pent in the project without logging unless it failed;
// safe to call from several goroutines.
func (r *runner) pentQuietRun(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := r.command(ctx, r.project, pentBin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: append([]string{"pent"}, args...), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		res.code = -1
		res.stderr += "\n" + err.Error()
	}
	return res
}

// pentQuietRuns runs n copies of pent args at once (pentQuietRun) and
// returns their results once all have ended.
func (r *runner) pentQuietRuns(n int, args ...string) []result {
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.pentQuietRun(args...)
		}()
	}
	wg.Wait()
	return results
}
