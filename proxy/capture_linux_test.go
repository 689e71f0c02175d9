package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/internal/testutil"
	"github.com/pent-sandbox/pent/sandbox"
	"golang.org/x/sys/unix"
)

// The capture test runs the test binary again as a child in a new user and
// network namespace (TestMain dispatches on captureChildEnv). The child sets
// up capture, passes its sockets back over a socketpair, waits until the
// parent serves them, then acts like a sandboxed program that knows nothing
// about proxies and reports each check as "ok NAME" or "fail NAME: why".
const captureChildEnv = "PENT_PROXY_CAPTURE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(captureChildEnv) != "" {
		os.Exit(captureChild())
	}
	os.Exit(m.Run())
}

func TestCapture(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	banner := strconv.Itoa(testutil.ServeBanner(t, "tcp4", "127.0.0.1:0", "SSH-2.0-pent-test\r\n", nil).(*net.TCPAddr).Port)
	pol, err := Compile(Settings{
		Allow:        []string{"www.test", "other.test", "banner.test", "*.many.test"},
		UpstreamDNS:  []string{u.Addr},
		Destinations: []string{"upstream:127.0.0.0/8"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(pol, nil)

	parentEnd, child := startCaptureChild(t, map[string]string{
		"HTTP_PORT": ts.port(ts.HTTP), "TLS_PORT": ts.port(ts.TLS), "BANNER_PORT": banner,
	})
	files, err := receiveFiles(parentEnd)
	if err != nil {
		t.Fatalf("receive capture sockets: %v", err)
	}
	fdBase := countFDs(t) - len(files)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.ServeSession(ctx, SessionInfo{ID: "capture"}, files...) }()
	if _, err := parentEnd.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}

	var fdPeak int
	sc := bufio.NewScanner(parentEnd)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "peak":
			fdPeak = countFDs(t)
			t.Logf("fds with the child's %d connections open: %d; %d connections tracked", manyConns, fdPeak, p.Stats().Connections)
			if _, err := parentEnd.Write([]byte("go\n")); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(line, "ok "):
			t.Log(line)
		default:
			t.Error(line)
		}
	}
	if err := child.Wait(); err != nil {
		t.Errorf("capture child: %v", err)
	}
	waitFor(t, "connections to drain", func() bool { return p.Stats().Connections == 0 })
	fdAfterConns := countFDs(t)
	cancel()
	if err := <-served; err != nil {
		t.Errorf("ServeSession: %v", err)
	}
	fdEnd := countFDs(t)
	t.Logf("parent fds: before the session %d, peak %d, after connections closed %d, after the session ended %d",
		fdBase, fdPeak, fdAfterConns, fdEnd)
	if fdEnd > fdBase {
		t.Errorf("fd leak: %d fds after the session, %d before", fdEnd, fdBase)
	}
	if u.sawName("denied") || u.sawName("exfil") {
		t.Errorf("denied names reached upstream DNS: %v", u.queries())
	}
	if ts.sawSNI("denied.example") {
		t.Error("a ClientHello naming a denied name reached the TLS server")
	}
	logs := string(p.Logs(logRingSize))
	for _, want := range []string{`"action":"allow","kind":"tcp","name":"www.test"`, `raw IP connection`,
		`TLS SNI \"denied.example\" does not match www.test`, `HTTP Host \"denied.example\" does not match www.test`} {
		if !strings.Contains(logs, want) {
			t.Errorf("decision log lacks %s", want)
		}
	}
}

const manyConns = 200

// startCaptureChild starts the child in new user and network namespaces with
// CAP_NET_ADMIN there, and returns the parent's end of the socketpair.
func startCaptureChild(t *testing.T, env map[string]string) (*net.UnixConn, *exec.Cmd) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parentFile, childFile := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer childFile.Close()
	fc, err := net.FileConn(parentFile)
	parentFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fc.Close() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = []string{captureChildEnv + "=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, "PENT_TEST_"+k+"="+v)
	}
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{childFile}
	uid, gid := os.Geteuid(), os.Getegid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		AmbientCaps:                []uintptr{unix.CAP_NET_ADMIN},
		Pdeathsig:                  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start capture child: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return fc.(*net.UnixConn), cmd
}

func receiveFiles(c *net.UnixConn) ([]*os.File, error) {
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 512)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	files, err := parseRights(oob[:oobn])
	if err != nil || len(files) != 3 {
		closeFiles(files)
		return nil, fmt.Errorf("got %d files (%v); child said %q", len(files), err, buf[:n])
	}
	return files, nil
}

// captureChild is the sandboxed side. It returns the process exit status.
func captureChild() int {
	sock, err := net.FileConn(os.NewFile(3, "socketpair"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: socketpair:", err)
		return 2
	}
	uc := sock.(*net.UnixConn)
	cf, err := sandbox.SetupCapture(nil)
	if err != nil {
		_, _ = uc.Write([]byte("fail setup: " + err.Error()))
		return 1
	}
	fds := make([]int, 0, 3)
	for _, f := range cf.Files() {
		fds = append(fds, int(f.Fd()))
	}
	if _, _, err := uc.WriteMsgUnix([]byte("capture"), unix.UnixRights(fds...), nil); err != nil {
		fmt.Fprintln(os.Stderr, "child: send fds:", err)
		return 2
	}
	proxyPort := cf.ProxyPort
	cf.Close()
	r := bufio.NewReader(uc)
	if _, err := r.ReadString('\n'); err != nil {
		return 2
	}
	report := func(name string, err error) {
		line := "ok " + name
		if err != nil {
			line = "fail " + name + ": " + err.Error()
		}
		_, _ = uc.Write([]byte(line + "\n"))
	}
	runCaptureChecks(report, proxyPort, func() {
		_, _ = uc.Write([]byte("peak\n"))
		_, _ = r.ReadString('\n')
	})
	return 0
}

// runCaptureChecks acts as a program inside the sandbox.
func runCaptureChecks(report func(string, error), proxyPort int, atPeak func()) {
	httpPort, tlsPort, bannerPort := os.Getenv("PENT_TEST_HTTP_PORT"), os.Getenv("PENT_TEST_TLS_PORT"), os.Getenv("PENT_TEST_BANNER_PORT")
	// Any DNS server address reaches pent: the sandbox's resolv.conf would
	// say 127.0.0.1, a hostile program may pick 203.0.113.53.
	resolverVia := func(server string) *net.Resolver {
		return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	res := resolverVia("127.0.0.1:53")
	dialer := &net.Dialer{Timeout: 5 * time.Second, Resolver: res}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil, DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	ctx := context.Background()

	report("dns allowed name", expectSynthetic(res.LookupHost(ctx, "www.test")))
	report("dns over tcp to another server", expectSynthetic(resolverVia("203.0.113.53:53").LookupHost(ctx, "other.test")))
	_, err := res.LookupHost(ctx, "secret.exfil.denied.example")
	report("dns denied name is NXDOMAIN", expectNotFound(err))
	_, err = resolverVia("198.51.100.1:53").LookupTXT(ctx, "exfil.denied.example")
	report("dns denied TXT via another server is NXDOMAIN", expectNotFound(err))

	report("http allowed name, no proxy variables", expectBody(client, "http://www.test:"+httpPort+"/x", "host=www.test:"+httpPort+" path=/x"))
	report("https allowed name", expectBody(client, "https://www.test:"+tlsPort+"/y", "host=www.test:"+tlsPort+" path=/y"))
	report("banner-first protocol by name", expectBanner(dialer, "banner.test:"+bannerPort))

	report("raw IP refused", expectRefused(dialer, "203.0.113.7:"+httpPort, "GET / HTTP/1.1\r\nHost: www.test\r\n\r\n"))
	report("raw IP of the host loopback unreachable", expectRefused(dialer, "127.0.0.1:"+httpPort, "GET / HTTP/1.1\r\nHost: www.test\r\n\r\n"))
	report("Host of a denied name refused", expectRefused(dialer, "www.test:"+httpPort, "GET / HTTP/1.1\r\nHost: denied.example\r\n\r\n"))
	report("TLS SNI of a denied name refused", expectTLSRefused(dialer, "www.test:"+tlsPort, "denied.example"))
	report("TLS SNI of another allowed name refused", expectTLSRefused(dialer, "www.test:"+tlsPort, "other.test"))
	report("UDP elsewhere fails", expectUDPFails("203.0.113.7:9999"))
	_, err = dialer.Dial("tcp6", "[2001:db8::1]:80")
	report("IPv6 unreachable", expectErr(err, unix.ENETUNREACH))

	proxied := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(mustURL(sandbox.ProxyEnv(proxyPort)[0])),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	report("proxy-aware CONNECT via ProxyEnv", expectBody(proxied, "https://www.test:"+tlsPort+"/z", "host=www.test:"+tlsPort+" path=/z"))
	report("proxy-aware denied name", expectStatus(proxied, "http://denied.example:"+httpPort+"/", http.StatusForbidden))

	report(fmt.Sprintf("%d concurrent connections", manyConns), holdMany(dialer, "www.test:"+httpPort, atPeak))
}

func expectSynthetic(addrs []string, err error) error {
	if err != nil {
		return err
	}
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "198.19.") {
		return fmt.Errorf("addresses %v are not one synthetic address", addrs)
	}
	return nil
}

func expectNotFound(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return nil
	}
	return fmt.Errorf("want NXDOMAIN, got %v", err)
}

func expectBody(c *http.Client, url, want string) error {
	code, body, err := get(c, url)
	if err != nil {
		return err
	}
	if code != 200 || body != want {
		return fmt.Errorf("status %d body %q, want %q", code, body, want)
	}
	return nil
}

func expectStatus(c *http.Client, url string, want int) error {
	code, _, err := get(c, url)
	if err != nil || code != want {
		return fmt.Errorf("status %d (%v), want %d", code, err, want)
	}
	return nil
}

func expectBanner(d *net.Dialer, addr string) error {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("banner %q, %v", line, err)
	}
	return nil
}

// expectRefused sends payload and expects the connection to fail or to be
// closed without a single byte of answer.
func expectRefused(d *net.Dialer, addr, payload string) error {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, payload)
	out, err := io.ReadAll(c)
	if len(out) > 0 {
		return fmt.Errorf("got an answer: %q", out)
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("connection hung instead of being refused")
	}
	return nil
}

func expectTLSRefused(d *net.Dialer, addr, sni string) error {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err := tc.Handshake(); err == nil {
		return fmt.Errorf("TLS handshake with SNI %s succeeded", sni)
	}
	return nil
}

func expectUDPFails(addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return nil
	}
	buf := make([]byte, 16)
	if _, err := c.Read(buf); err != nil {
		return expectErr(err, unix.ECONNREFUSED)
	}
	return fmt.Errorf("UDP got an answer")
}

func expectErr(err error, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return fmt.Errorf("want %v, got %v", want, err)
}

func holdMany(d *net.Dialer, addr string, atPeak func()) error {
	conns := make([]net.Conn, manyConns)
	var wg sync.WaitGroup
	errs := make(chan error, manyConns)
	for i := range conns {
		wg.Go(func() {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.WriteString(c, "GET /many HTTP/1.1\r\nHost: www.test\r\n\r\n"); err != nil {
				errs <- err
			}
			if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
				errs <- fmt.Errorf("response %q, %v", line, err)
			}
			conns[i] = c
		})
	}
	wg.Wait()
	atPeak()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	close(errs)
	return <-errs
}

// mustURL returns the URL of a KEY=URL environment entry.
func mustURL(env string) *url.URL {
	u, err := url.Parse(strings.SplitN(env, "=", 2)[1])
	if err != nil {
		panic(err)
	}
	return u
}

// TestCaptureAsNobody runs TestCapture again from an unprivileged user
// (uid 65534), the way pent runs for a normal user: no capability on the
// host, only an unprivileged user namespace.
func TestCaptureAsNobody(t *testing.T) {
	if os.Getenv("PENT_TEST_AS_NOBODY") != "" {
		t.Skip("already running as the unprivileged user")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to uid 65534; TestCapture already ran unprivileged")
	}
	dir, err := os.MkdirTemp("", "pent-proxy-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := dir + "/proxy.test"
	if err := os.WriteFile(copyPath, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyPath, "-test.run=^TestCapture$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = []string{"PENT_TEST_AS_NOBODY=1", "TMPDIR=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as uid 65534:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCapture") {
		t.Fatalf("TestCapture as uid 65534 failed: %v", err)
	}
}
