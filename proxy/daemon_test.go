package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestDaemon(t *testing.T) {
	u := startUpstream(t)
	ts := startServers(t)
	runtime := t.TempDir()
	project := t.TempDir()
	cfgFile := filepath.Join(project, ".pent.toml")
	if err := os.WriteFile(cfgFile, []byte("www.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload := func() (Settings, error) {
		b, err := os.ReadFile(cfgFile)
		if err != nil {
			return Settings{}, err
		}
		if strings.Contains(string(b), "broken") {
			return Settings{}, fmt.Errorf("syntax error")
		}
		return Settings{Allow: strings.Fields(string(b)), UpstreamDNS: []string{u.Addr}, Destinations: []string{"upstream:127.0.0.0/8"}}, nil
	}
	var errLog lockedBuffer
	daemonDone := make(chan error, 1)
	var starts atomic.Int32
	start := func() error {
		starts.Add(1)
		go func() {
			daemonDone <- RunDaemon(DaemonConfig{
				SocketPath: SocketPath(runtime, project), Reload: reload, Watch: []string{cfgFile},
				IdleTimeout: time.Hour, Errors: &errLog,
			})
		}()
		return nil
	}
	// Two concurrent callers start one daemon.
	var wg sync.WaitGroup
	clients := make([]*Client, 4)
	for i := range clients {
		wg.Go(func() {
			c, err := Ensure(runtime, project, start)
			if err != nil {
				t.Error(err)
			}
			clients[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("daemon started %d times", n)
	}
	c := clients[0]
	st, err := c.Status()
	if err != nil || st.PID != os.Getpid() || !strings.Contains(st.Policy, "www.test") {
		t.Fatalf("status %+v %v", st, err)
	}
	if err := RunDaemon(DaemonConfig{SocketPath: SocketPath(runtime, project), Reload: reload}); err != ErrDaemonRunning {
		t.Fatalf("second daemon: %v", err)
	}
	if fi, err := os.Stat(filepath.Dir(SocketPath(runtime, project))); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("runtime dir %v %v", fi, err)
	}

	fdBase := countFDs(t)
	files, proxyAddr, dnsAddr, _ := captureLikeFiles(t)
	sess, err := c.Session(files...)
	if err != nil {
		t.Fatal(err)
	}
	closeFiles(files)
	if r := query(t, "udp", dnsAddr, "www.test", dns.TypeA); len(r.Answer) != 1 {
		t.Fatalf("DNS through the session: %v", r)
	}
	if st, _ := c.Status(); st.Sessions != 1 {
		t.Fatalf("sessions = %d", st.Sessions)
	}

	// 200 concurrent connections through the session.
	fdBefore := countFDs(t)
	const n = 200
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialCONNECT(t, proxyAddr, "www.test:"+ts.port(ts.HTTP))
	}
	if st, _ := c.Status(); st.Connections != n {
		t.Errorf("connections = %d, want %d", st.Connections, n)
	}
	fdPeak := countFDs(t)
	for _, conn := range conns {
		conn.Close()
	}
	waitFor(t, "connections to drain", func() bool { st, _ := c.Status(); return st.Connections == 0 })
	fdAfter := countFDs(t)
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "session to end", func() bool { st, _ := c.Status(); return st.Sessions == 0 })
	fdEnd := countFDs(t)
	t.Logf("fds: base %d, session open %d, with %d conns %d, after they closed %d, after session closed %d",
		fdBase, fdBefore, n, fdPeak, fdAfter, fdEnd)
	if fdAfter > fdBefore+2 || fdEnd > fdBase+2 {
		t.Errorf("fd leak: base %d session %d after conns %d after session %d", fdBase, fdBefore, fdAfter, fdEnd)
	}
	if _, err := net.Dial("tcp", proxyAddr); err == nil {
		t.Error("session listener still open after the session closed")
	}

	// Reload: a new name becomes resolvable; a broken file keeps the last good policy.
	files, _, dnsAddr, _ = captureLikeFiles(t)
	sess, err = c.Session(files...)
	if err != nil {
		t.Fatal(err)
	}
	closeFiles(files)
	defer sess.Close()
	if err := os.WriteFile(cfgFile, []byte("www.test\nnew.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload", func() bool { return len(query(t, "udp", dnsAddr, "new.test", dns.TypeA).Answer) == 1 })
	if err := os.WriteFile(cfgFile, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload error", func() bool { return strings.Contains(errLog.String(), "keeping the previous policy") })
	if len(query(t, "udp", dnsAddr, "new.test", dns.TypeA).Answer) != 1 {
		t.Error("a failed reload changed the policy")
	}
	logs, err := c.Logs(10)
	if err != nil || !strings.Contains(string(logs), `"name":"new.test"`) || strings.Count(string(logs), "\n") > 10 {
		t.Errorf("logs %q %v", logs, err)
	}

	// A request with junk files attached is refused without leaking them.
	bad, _ := os.Open(os.DevNull)
	if _, err := c.Session(bad); err == nil {
		t.Error("session with a non-socket accepted")
	}
	bad.Close()

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-daemonDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
	if _, err := os.Stat(SocketPath(runtime, project)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestDaemonIdleExit(t *testing.T) {
	u := startUpstream(t)
	runtime, project := t.TempDir(), t.TempDir()
	done := make(chan error, 1)
	go func() {
		done <- RunDaemon(DaemonConfig{
			SocketPath:  SocketPath(runtime, project),
			Reload:      func() (Settings, error) { return Settings{UpstreamDNS: []string{u.Addr}}, nil },
			IdleTimeout: 200 * time.Millisecond,
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("idle daemon did not exit")
	}
}

func TestPrivateDirChecked(t *testing.T) {
	runtime := t.TempDir()
	if err := os.Mkdir(filepath.Join(runtime, "pent"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(runtime, "/p", func() error { return nil }); err == nil || !strings.Contains(err.Error(), "0700") {
		t.Fatalf("Ensure accepted a world-readable runtime dir: %v", err)
	}
}

func dialCONNECT(t testing.TB, proxyAddr, target string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("CONNECT %s: %q %v", target, line, err)
	}
	return c
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*lockedBuffer)(nil)

// TestClientRefusesAnotherUsersDaemon: a socket served by another user (who
// could own the runtime directory, or swap the socket in it) is not talked
// to, however well it answers: the sandbox's capture sockets would go to it.
func TestClientRefusesAnotherUsersDaemon(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to serve a socket as another user")
	}
	dir, err := os.MkdirTemp("", "pent-otheruser-") // t.TempDir's parent is closed to others
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "proxy.sock")
	fake := exec.Command("/usr/bin/python3", "-c", `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b'{"ok":true,"status":{"pid":4242}}\n')
    c.close()
`, sock)
	fake.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	fake.Stderr = os.Stderr
	out, err := fake.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Process.Kill(); _ = fake.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the other user's server did not start: %q %v", line, err)
	}
	st, err := NewClient(sock).Status()
	if err == nil || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("Status from another user's socket: %+v, %v; want a refusal naming uid 65534", st, err)
	}
}

// TestDaemonReloadsOnChangesInsideWatchedDir: a Watch entry that is a
// directory (the allow records) reloads the policy when a file inside it is
// written, as `pent allow` does after an edit made the project deny all.
func TestDaemonReloadsOnChangesInsideWatchedDir(t *testing.T) {
	u := startUpstream(t)
	runtime, project, records := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(records, "first.test"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	reload := func() (Settings, error) {
		entries, err := os.ReadDir(records)
		if err != nil {
			return Settings{}, err
		}
		var allow []string
		for _, e := range entries {
			allow = append(allow, e.Name())
		}
		return Settings{Allow: allow, UpstreamDNS: []string{u.Addr}}, nil
	}
	done := make(chan error, 1)
	c, err := Ensure(runtime, project, func() error {
		go func() {
			done <- RunDaemon(DaemonConfig{SocketPath: SocketPath(runtime, project), Reload: reload, Watch: []string{records}, IdleTimeout: time.Hour})
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.Stop()
		<-done
	}()
	if err := os.WriteFile(filepath.Join(records, "second.test"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a reload after a record was written in the watched directory", func() bool {
		st, err := c.Status()
		return err == nil && strings.Contains(st.Policy, "second.test")
	})
}
