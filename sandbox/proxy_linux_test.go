package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/miekg/dns"

	"github.com/pent-sandbox/pent/internal/testutil"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/scope"
)

// proxyHelper runs inside a proxy-mode sandbox. "banner HOST:PORT" dials
// with Go's own resolver (which reads /etc/resolv.conf) and prints what the
// server sent; "nftflush" tries to remove the capture rules.
func proxyHelper(arg string) int {
	what, target, _ := strings.Cut(arg, " ")
	switch what {
	case "banner":
		c, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			fmt.Println("dial error:", err)
			return 0
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		fmt.Printf("banner %q %v\n", b, err)
	case "nftflush":
		c, err := nftables.New()
		if err == nil {
			c.FlushRuleset()
			err = c.Flush()
		}
		fmt.Println("nftflush:", err)
	default:
		fmt.Println("unknown proxy helper", what)
		return 2
	}
	return 0
}

// proxyFixture is a DNS server answering *.test with 127.0.0.1 and a banner
// server on the host's loopback, and a policy for an in-process proxy that
// allows allowed.test and 127.0.0.0/8.
type proxyFixture struct {
	banner  string // host:port of the banner server
	queries atomic.Int32
	policy  *proxy.Policy
}

func newProxyFixture(t *testing.T) *proxyFixture {
	t.Helper()
	pf := &proxyFixture{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		pf.queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; q.Qtype == dns.TypeA && strings.HasSuffix(q.Name, ".test.") {
			rr, _ := dns.NewRR(q.Name + " 60 IN A 127.0.0.1")
			m.Answer = append(m.Answer, rr)
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	pf.banner = testutil.ServeBanner(t, "tcp", "127.0.0.1:0", "HELLO", nil).String()
	pf.policy, err = proxy.Compile(proxy.Settings{
		Allow: []string{"allowed.test"}, UpstreamDNS: []string{pc.LocalAddr().String()}, Destinations: []string{"upstream:127.0.0.0/8"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// testSession is an in-process proxy session that records its end.
type testSession struct {
	cancel context.CancelFunc
	done   chan error
	closed *atomic.Bool
}

func (s testSession) Close() error {
	s.cancel()
	err := <-s.done
	s.closed.Store(true)
	return err
}

// attach serves the capture sockets with an in-process proxy.
func (pf *proxyFixture) attach(closed *atomic.Bool) func([]*os.File) (io.Closer, error) {
	return func(files []*os.File) (io.Closer, error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- proxy.New(pf.policy, nil).ServeSession(ctx, proxy.SessionInfo{}, files...) }()
		return testSession{cancel: cancel, done: done, closed: closed}, nil
	}
}

// TestSandboxProxyMode: the command sees pent's resolv.conf (read-only) and
// the proxy variables, reaches an allowed name through the proxy, not a raw
// address, cannot change the capture rules, and the session ends with the
// sandbox, leaving no descriptor behind.
func TestSandboxProxyMode(t *testing.T) {
	f := newFixture(t)
	pf := newProxyFixture(t)
	_, port, _ := net.SplitHostPort(pf.banner)
	p := f.policy
	p.Network = scope.NetProxy
	p.Env = append(p.Env, "HTTP_PROXY=http://evil.example:1")
	var closed atomic.Bool
	fds := testutil.FDs(t, 0, testutil.NotPipe)

	exe, _ := os.Executable()
	run := func(script string) string {
		t.Helper()
		q := p
		q.Command = []string{"/bin/sh", "-c", script}
		st, out, err := launchWith(q, LaunchOptions{Attach: pf.attach(&closed)})
		if err != nil || st.Code != 0 {
			t.Fatalf("Launch: %+v %v\n%s", st, err, out)
		}
		if !closed.Load() {
			t.Errorf("the proxy session was not closed when the sandbox ended")
		}
		closed.Store(false)
		return out
	}
	helper := func(arg string) string {
		return fmt.Sprintf("PENT_TEST_HELPER=proxy PENT_TEST_ARG=%q %s", arg, exe)
	}
	out := run(strings.Join([]string{
		"cat /etc/resolv.conf",
		"echo 'nameserver 192.0.2.1' > /etc/resolv.conf && echo RESOLV-WRITTEN",
		"env | grep -c '^HTTP_PROXY=http://127.0.0.1:'",
		"env | grep -c evil.example",
		"ls -l /proc/self/fd/ | grep -c socket:",
		helper("banner allowed.test:" + port),
		helper("banner " + pf.banner),
		helper("banner denied.test:" + port),
		helper("nftflush"),
		helper("banner allowed.test:" + port),
	}, "\n"))
	for _, want := range []string{ResolvConf, "\n1\n0\n0\n", `banner "HELLO" <nil>`, "nftflush: "} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in the output:\n%s", want, out)
		}
	}
	if strings.Contains(out, "RESOLV-WRITTEN") {
		t.Errorf("the command could write /etc/resolv.conf:\n%s", out)
	}
	if strings.Contains(out, "nftflush: <nil>") {
		t.Errorf("the command removed the capture rules:\n%s", out)
	}
	if n := strings.Count(out, `banner "HELLO"`); n != 2 {
		t.Errorf("want the allowed name reached twice (before and after the flush attempt) and nothing else, got %d:\n%s", n, out)
	}
	if !strings.Contains(out, "no such host") {
		t.Errorf("the denied name resolved:\n%s", out)
	}
	if got := testutil.FDs(t, 0, testutil.NotPipe); got != fds {
		t.Errorf("pent holds %d descriptors after the run, %d before", got, fds)
	}
}

// TestSandboxProxyAttachFails: when the proxy cannot be attached the
// command never starts, and Launch says why.
func TestSandboxProxyAttachFails(t *testing.T) {
	f := newFixture(t)
	p := f.policy
	p.Network = scope.NetProxy
	marker := filepath.Join(f.proj, "started")
	p.Command = []string{"/bin/sh", "-c", "touch " + marker}
	fds := testutil.FDs(t, 0, testutil.NotPipe)
	_, out, err := launchWith(p, LaunchOptions{Attach: func(files []*os.File) (io.Closer, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, errors.New("no proxy today")
	}})
	if err == nil || !strings.Contains(err.Error(), "no proxy today") {
		t.Errorf("want the attach error, got %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although the proxy was not attached")
	}
	if got := testutil.FDs(t, 0, testutil.NotPipe); got != fds {
		t.Errorf("pent holds %d descriptors after the run, %d before", got, fds)
	}
}

// TestSandboxProxyStageError: when the sandbox fails after handing over its
// sockets, Launch reports the sandbox's reason and ends the session.
func TestSandboxProxyStageError(t *testing.T) {
	f := newFixture(t)
	pf := newProxyFixture(t)
	if err := os.Symlink(filepath.Join(f.proj, "main.go"), filepath.Join(f.proj, ".envrc")); err != nil {
		t.Fatal(err)
	}
	p := f.policy
	p.Network = scope.NetProxy
	p.Command = []string{"/bin/true"}
	var closed atomic.Bool
	_, out, err := launchWith(p, LaunchOptions{Attach: pf.attach(&closed)})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("want the sandbox's own error, got %v\n%s", err, out)
	}
	if !closed.Load() {
		t.Errorf("the session was not closed")
	}
}

// TestSandboxProxyWaitsForAttach: the command starts only once Attach has
// returned, so the proxy owns the sockets before the first packet.
func TestSandboxProxyWaitsForAttach(t *testing.T) {
	f := newFixture(t)
	p := f.policy
	p.Network = scope.NetProxy
	marker := filepath.Join(f.proj, "started")
	p.Command = []string{"/bin/sh", "-c", "touch " + marker}
	attaching, release := make(chan struct{}), make(chan struct{})
	var closed atomic.Bool
	type outcome struct {
		st  Status
		out string
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		st, out, err := launchWith(p, LaunchOptions{Attach: func(files []*os.File) (io.Closer, error) {
			close(attaching)
			<-release
			for _, f := range files {
				f.Close()
			}
			return testSession{cancel: func() {}, done: closedErrChan(), closed: &closed}, nil
		}})
		done <- outcome{st, out, err}
	}()
	<-attaching
	stages := childrenOf(t, os.Getpid())
	if len(stages) != 1 {
		t.Fatalf("want the one init stage as the child of the test process, found %v", stages)
	}
	// The stage forks the command from the thread it restricts (no_new_privs
	// first): once that thread sleeps on a futex, twice in a row, it waits
	// for the go-ahead; a stage that did not wait would have forked the
	// command instead and would sleep in wait4 or on the exec pipe.
	for deadline, held := time.Now().Add(20*time.Second), 0; held < 2; time.Sleep(20 * time.Millisecond) {
		if len(childrenOf(t, stages[0])) > 0 || ended(t, stages[0]) {
			break // started, or even ended: reported below
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stage's restricted thread never waited: %v", threadStatus(t, stages[0]))
		}
		held++
		if !restrictedAndWaiting(t, stages[0]) {
			held = 0
		}
	}
	if kids := childrenOf(t, stages[0]); len(kids) > 0 {
		t.Errorf("the command (pid %v) started before Attach returned", kids)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran before Attach returned")
	}
	close(release)
	o := <-done
	if o.err != nil || o.st.Code != 0 {
		t.Fatalf("Launch: %+v %v\n%s", o.st, o.err, o.out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the command did not run after Attach returned: %v", err)
	}
	if !closed.Load() {
		t.Errorf("the session was not closed when the sandbox ended")
	}
}

// restrictedAndWaiting reports whether a thread of the stage pid has set
// no_new_privs (it restricted itself for the command) and sleeps on a futex.
func restrictedAndWaiting(t *testing.T, pid int) bool {
	t.Helper()
	for _, th := range threadStatus(t, pid) {
		if th["NoNewPrivs"] == "1" && th["State"] != "" && th["State"][0] == 'S' && strings.HasPrefix(th["wchan"], "futex") {
			return true
		}
	}
	return false
}

// closedErrChan is a channel that yields one nil error.
func closedErrChan() chan error {
	c := make(chan error, 1)
	c <- nil
	return c
}

// launchWith runs p in the sandbox and returns its status and combined
// output.
func launchWith(p Policy, opts LaunchOptions) (Status, string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return Status{}, "", err
	}
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	st, err := Launch(p, Stdio{Stdout: w, Stderr: w}, opts)
	w.Close()
	out := <-done
	r.Close()
	return st, out, err
}
