package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const proxySection = "proxy mode"

// benchName is the name the loopback DNS server resolves to 127.0.0.1; the
// proxy project allows only it.
const benchName = "bench.pent.test"

// serveEach runs handle on every connection accepted on l, each in its own
// goroutine, until l is closed; handle's connection is closed when it returns.
func serveEach(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// serveBench answers the client's requests on l until it is closed.
func serveBench(l net.Listener) {
	zeros := make([]byte, 256<<10)
	serveEach(l, func(c net.Conn) {
		var req [1]byte
		if _, err := io.ReadFull(c, req[:]); err != nil {
			return
		}
		switch req[0] {
		case reqSend:
			var n [8]byte
			if _, err := io.ReadFull(c, n[:]); err != nil {
				return
			}
			for left := int64(binary.BigEndian.Uint64(n[:])); left > 0; {
				chunk := min(left, int64(len(zeros)))
				if _, err := c.Write(zeros[:chunk]); err != nil {
					return
				}
				left -= chunk
			}
		case reqEcho:
			_, _ = io.Copy(c, c)
		}
	})
}

// relayBufSize is the reference relay's buffer per direction.
const relayBufSize = 1 << 20

// serveRelay is the reference relay: it relays every connection accepted on
// l to upstream with read(2) and write(2) through a buffer per direction,
// as fast as any plain user-space relay measured on loopback (splice(2)
// through a pipe, io.Copy, other buffer and socket buffer sizes were not
// faster). It checks nothing and is not pent: the bulk rate through it is
// about the ceiling a relay reaches on the machine.
func serveRelay(l net.Listener, upstream string) {
	serveEach(l, func(c net.Conn) {
		up, err := net.Dial("tcp", upstream)
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{})
		go func() {
			relayHalf(c, up)
			close(done)
		}()
		relayHalf(up, c)
		<-done
	})
}

// relayHalf copies src to dst, then half-closes dst; on an error it closes
// both so that the other direction ends too. The wrappers hide
// io.ReaderFrom and io.WriterTo, with which io.CopyBuffer would splice.
func relayHalf(dst, src net.Conn) {
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, relayBufSize))
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// dnsServer answers A for benchName with 127.0.0.1 on UDP and TCP of one
// loopback port; every other name is NXDOMAIN.
type dnsServer struct {
	addr     string
	udp, tcp *dns.Server
}

func startDNS() (*dnsServer, error) {
	pc, l, err := listenUDPAndTCP()
	if err != nil {
		return nil, err
	}
	addr := pc.LocalAddr().String()
	h := dns.HandlerFunc(func(rw dns.ResponseWriter, q *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(q)
		resp.Authoritative = true
		for _, question := range q.Question {
			switch {
			case !strings.EqualFold(question.Name, dns.Fqdn(benchName)):
				resp.Rcode = dns.RcodeNameError
			case question.Qtype == dns.TypeA:
				resp.Answer = append(resp.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = rw.WriteMsg(resp)
	})
	s := &dnsServer{addr: addr, udp: &dns.Server{PacketConn: pc, Handler: h}, tcp: &dns.Server{Listener: l, Handler: h}}
	go func() { _ = s.udp.ActivateAndServe() }()
	go func() { _ = s.tcp.ActivateAndServe() }()
	return s, nil
}

// listenUDPAndTCP listens on one loopback port for UDP and TCP. The port
// the kernel picks for UDP may be taken for TCP (by a connection of an
// earlier measurement), so it tries a few ports.
func listenUDPAndTCP() (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("dns: %w", err)
		}
		var l net.Listener
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, l, nil
		}
		pc.Close()
	}
	return nil, nil, fmt.Errorf("dns over tcp: %w", err)
}

func (s *dnsServer) close() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// netBench is the state of the proxy measurements.
type netBench struct {
	w         *workspace
	proj      string
	port      int // the loopback server's
	relayPort int // the reference relay's
	runner    runner
}

// route is the way the bench client reaches the loopback server.
type route int

const (
	routeDirect  route = iota // to 127.0.0.1
	routeRelay                // through the reference relay (serveRelay)
	routeSandbox              // inside `pent run`, through the project proxy
)

// measureProxy sets up a proxy-mode project whose allowlist names a loopback
// server, then measures warm start-up, bulk throughput, connection latency,
// and one proxy under 1,000 connections and 50 sandboxes.
func measureProxy(ctx context.Context, w *workspace, it iters, rep *report) {
	nb, cleanup, err := newNetBench(ctx, w)
	if err == nil {
		defer cleanup()
		err = nb.runner.probe(ctx, w.pent, "run", "--", "/bin/true")
	}
	if err != nil {
		for _, m := range []struct{ metric, target string }{
			{"`pent run -- true`, proxy mode, warm project proxy", proxyStartTarget},
			{fmt.Sprintf("bulk throughput through the proxy (%d MiB)", it.bulkBytes>>20), "≥ 0.8× direct"},
			{refMetric(it), ""},
			{"connection latency (connect + 1-byte round trip)", ""},
			{fmt.Sprintf("%d concurrent sandboxes on one proxy", it.sandboxes), "all served, fds back to idle within 15 s"},
			{fmt.Sprintf("%d concurrent connections in one sandbox", it.holdMax), "all served, fds back to idle within 15 s"},
		} {
			rep.unavailable(proxySection, m.metric, m.target, err)
		}
		return
	}
	nb.warm(ctx, it, rep)
	nb.throughput(ctx, it, rep)
	nb.latency(ctx, it, rep)
	nb.sandboxes(ctx, it, rep)
	nb.holdConnections(ctx, it, rep)
	rep.notef("Proxy: a loopback TCP server and a loopback DNS server (upstream_dns) for %q; the project allows that name with destinations = [\"upstream:127.0.0.0/8\"]. The client is this bench binary, run inside `pent run` (transparent capture: it resolves the name and connects to the answer) or directly against 127.0.0.1.", benchName)
	rep.notef("Reference relay: in the bench process, a plain read/write relay with a %d MiB buffer per direction between two loopback TCP connections (no sandbox, no name check); bulk runs alternate direct, reference relay and pent.", relayBufSize>>20)
}

func newNetBench(ctx context.Context, w *workspace) (*netBench, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("loopback server: %w", err)
	}
	go serveBench(l)
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("reference relay: %w", err)
	}
	go serveRelay(rl, l.Addr().String())
	d, err := startDNS()
	if err != nil {
		l.Close()
		rl.Close()
		return nil, nil, err
	}
	cleanup := func() { l.Close(); rl.Close(); d.close() }
	proj := filepath.Join(w.home, "src", "proxy")
	cfg := fmt.Sprintf("[sandbox]\nnetwork = \"proxy\"\n\n[proxy]\ndomain_allowlist = [%q]\nupstream_dns = [%q]\ndestinations = [\"upstream:127.0.0.0/8\"]\n", benchName, d.addr)
	err = os.MkdirAll(proj, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(proj, ".pent.toml"), []byte(cfg), 0o644)
	}
	if err == nil {
		_, err = w.output(ctx, proj, w.pent, "allow", "--yes")
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("proxy project: %w", err)
	}
	nb := &netBench{w: w, proj: proj, port: l.Addr().(*net.TCPAddr).Port, relayPort: rl.Addr().(*net.TCPAddr).Port,
		runner: runner{dir: proj, env: w.env(), tmp: w.dir}}
	return nb, cleanup, nil
}

// proxyStartTarget is what a proxy-mode start may cost against a blocked one.
const proxyStartTarget = "≤ 1.5× blocked"

func (nb *netBench) warm(ctx context.Context, it iters, rep *report) {
	const metric = "`pent run -- true`, proxy mode, warm project proxy"
	blocked := nb.w.pent + " run --network blocked -- /bin/true"
	proxied := nb.w.pent + " run -- /bin/true"
	med, err := nb.runner.hyperfine(ctx, it.warmup, it.runs, it.rounds, []hfCmd{{"blocked", blocked}, {"proxy", proxied}})
	if err != nil {
		rep.unavailable(proxySection, metric, proxyStartTarget, err)
		return
	}
	use := func(cmd string) string {
		u, err := nb.runner.usage(ctx, it.runs, strings.Fields(cmd)...)
		if err != nil {
			return "usage not available: " + err.Error()
		}
		return u.String()
	}
	p, b := med["proxy"], med["blocked"]
	rep.add(row{section: proxySection, metric: metric,
		value: fmt.Sprintf("%s; %s (blocked, same project: %s; %s)", ms(p), use(proxied), ms(b), use(blocked)),
		ratio: ratio(float64(p), float64(b)) + " blocked", target: proxyStartTarget, met: metIf(float64(p) <= 1.5*float64(b))})
}

// client runs `bench client args...` the way r says, and decodes its
// result.
func (nb *netBench) client(ctx context.Context, r route, args ...string) (clientResult, error) {
	var argv []string
	switch r {
	case routeSandbox:
		argv = append([]string{nb.w.pent, "run", "--execute", nb.w.bin, "--", nb.w.self, "client", "-addr", fmt.Sprintf("%s:%d", benchName, nb.port)}, args...)
	case routeRelay:
		argv = append([]string{nb.w.self, "client", "-addr", fmt.Sprintf("127.0.0.1:%d", nb.relayPort)}, args...)
	default:
		argv = append([]string{nb.w.self, "client", "-addr", fmt.Sprintf("127.0.0.1:%d", nb.port)}, args...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = nb.proj, nb.w.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return clientResult{}, fmt.Errorf("%s: %w: %s", strings.Join(argv[:3], " "), err, strings.TrimSpace(stderr.String()))
	}
	var res clientResult
	if err := json.Unmarshal(out, &res); err != nil {
		return clientResult{}, fmt.Errorf("client output %q: %w", out, err)
	}
	return res, nil
}

// medianClients runs the client reps times along each route, the routes
// taking turns so that a slow spell of the machine hits them alike, and
// returns for each route the run with the median Seconds (bulk) or
// MedianUS (latency).
func (nb *netBench) medianClients(ctx context.Context, reps int, routes []route, args ...string) ([]clientResult, error) {
	rs := make([][]clientResult, len(routes))
	for range reps {
		for i, r := range routes {
			res, err := nb.client(ctx, r, args...)
			if err != nil {
				return nil, err
			}
			rs[i] = append(rs[i], res)
		}
	}
	key := func(r clientResult) float64 { return r.Seconds + r.MedianUS }
	meds := make([]clientResult, len(routes))
	for i := range rs {
		slices.SortFunc(rs[i], func(a, b clientResult) int { return cmp.Compare(key(a), key(b)) })
		meds[i] = rs[i][len(rs[i])/2]
	}
	return meds, nil
}

// refMetric names the reference relay's bulk row.
func refMetric(it iters) string {
	return fmt.Sprintf("bulk throughput through a minimal relay, reference without pent (%d MiB)", it.bulkBytes>>20)
}

// throughput measures bulk transfers direct, through the reference relay
// and through pent's proxy.
func (nb *netBench) throughput(ctx context.Context, it iters, rep *report) {
	metric := fmt.Sprintf("bulk throughput through the proxy (%d MiB)", it.bulkBytes>>20)
	args := []string{"-mode", "bulk", "-bytes", strconv.FormatInt(it.bulkBytes, 10)}
	res, err := nb.medianClients(ctx, it.bulkReps, []route{routeDirect, routeRelay, routeSandbox}, args...)
	if err != nil {
		rep.unavailable(proxySection, metric, "≥ 0.8× direct", err)
		rep.unavailable(proxySection, refMetric(it), "", err)
		return
	}
	rate := func(r clientResult) float64 { return float64(r.Bytes) / r.Seconds / (1 << 20) }
	d, ref, proxied := rate(res[0]), rate(res[1]), rate(res[2])
	rep.add(row{section: proxySection, metric: metric,
		value:  fmt.Sprintf("%.0f MiB/s (direct loopback %.0f MiB/s; reference relay %.0f MiB/s, pent %s of it)", proxied, d, ref, ratio(proxied, ref)),
		ratio:  ratio(proxied, d) + " direct",
		target: "≥ 0.8× direct", met: metIf(proxied >= 0.8*d)})
	rep.add(row{section: proxySection, metric: refMetric(it),
		value: fmt.Sprintf("%.0f MiB/s (direct loopback %.0f MiB/s)", ref, d),
		ratio: ratio(ref, d) + " direct", explains: true})
}

func (nb *netBench) latency(ctx context.Context, it iters, rep *report) {
	const metric = "connection latency (connect + 1-byte round trip)"
	args := []string{"-mode", "latency", "-n", strconv.Itoa(it.latencyConns)}
	direct, err := nb.client(ctx, routeDirect, args...)
	var proxied clientResult
	if err == nil {
		proxied, err = nb.client(ctx, routeSandbox, args...)
	}
	if err != nil {
		rep.unavailable(proxySection, metric, "", err)
		return
	}
	rep.add(row{section: proxySection, metric: metric,
		value: fmt.Sprintf("median %.0f µs, p90 %.0f µs (direct %.0f µs, p90 %.0f µs; added %.0f µs) over %d connections",
			proxied.MedianUS, proxied.P90US, direct.MedianUS, direct.P90US, proxied.MedianUS-direct.MedianUS, proxied.Conns),
		ratio: ratio(proxied.MedianUS, direct.MedianUS) + " direct"})
}

// holdConnections opens holdMax connections at once from one sandbox.
func (nb *netBench) holdConnections(ctx context.Context, it iters, rep *report) {
	metric := fmt.Sprintf("%d concurrent connections in one sandbox", it.holdMax)
	const target = "all served, fds back to idle within 15 s"
	args := []string{"-mode", "hold", "-n", strconv.Itoa(it.holdMax), "-hold", "1s"}
	direct, err := nb.client(ctx, routeDirect, args...)
	if err != nil {
		rep.unavailable(proxySection, metric, target, err)
		return
	}
	var proxied clientResult
	usage, err := nb.underLoad(ctx, func() error {
		var err error
		proxied, err = nb.client(ctx, routeSandbox, args...)
		return err
	})
	if err != nil {
		rep.unavailable(proxySection, metric, target, err)
		return
	}
	rep.add(row{section: proxySection, metric: metric,
		value: fmt.Sprintf("all answered in %.0f ms (direct %.0f ms); proxy %s", proxied.Seconds*1000, direct.Seconds*1000, usage),
		ratio: ratio(proxied.Seconds, direct.Seconds) + " direct", target: target, met: metIf(usage.settled > 0)})
}

// sandboxes starts n sandboxes at once, each making one proxied connection.
func (nb *netBench) sandboxes(ctx context.Context, it iters, rep *report) {
	metric := fmt.Sprintf("%d concurrent sandboxes on one proxy", it.sandboxes)
	const target = "all served, fds back to idle within 15 s"
	var wall time.Duration
	usage, err := nb.underLoad(ctx, func() error {
		start := time.Now()
		errs := make([]error, it.sandboxes)
		var wg sync.WaitGroup
		for i := range it.sandboxes {
			wg.Go(func() { _, errs[i] = nb.client(ctx, routeSandbox, "-mode", "latency", "-n", "1") })
		}
		wg.Wait()
		wall = time.Since(start)
		failed := 0
		var first error
		for _, err := range errs {
			if err != nil {
				failed++
				if first == nil {
					first = err
				}
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d sandboxes failed, first: %w", failed, it.sandboxes, first)
		}
		return nil
	})
	if err != nil {
		rep.unavailable(proxySection, metric, target, err)
		return
	}
	rep.add(row{section: proxySection, metric: metric,
		value:  fmt.Sprintf("all %d done in %.0f ms wall; proxy %s", it.sandboxes, float64(wall)/float64(time.Millisecond), usage),
		target: target, met: metIf(usage.settled > 0)})
}

// procUsage is the proxy's file descriptors and memory around a load.
type procUsage struct {
	fdsBefore, fdsPeak, fdsAfter int
	rssPeakKiB                   int
	kindsAfterLoad               string        // fd kinds 1 s after the load ended
	settled                      time.Duration // until fds were back to fdsBefore; 0 if never
}

func (u procUsage) String() string {
	settle := "not back within 15 s"
	if u.settled > 0 {
		settle = fmt.Sprintf("back to %d after %.1f s", u.fdsBefore, u.settled.Seconds())
	}
	return fmt.Sprintf("fds %d before, %d peak, 1 s after the load %s, %s; RSS peak %.1f MiB",
		u.fdsBefore, u.fdsPeak, u.kindsAfterLoad, settle, float64(u.rssPeakKiB)/1024)
}

// underLoad runs load while sampling the project proxy every 10 ms, then
// waits up to 15 s for its descriptors to return to the idle count.
func (nb *netBench) underLoad(ctx context.Context, load func() error) (procUsage, error) {
	pid, err := nb.proxyPid(ctx)
	if err != nil {
		return procUsage{}, err
	}
	u := procUsage{fdsBefore: countFDs(pid)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			u.fdsPeak = max(u.fdsPeak, countFDs(pid))
			u.rssPeakKiB = max(u.rssPeakKiB, statusKiB(pid, "VmRSS:"))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	err = load()
	close(stop)
	wg.Wait()
	if err != nil {
		return u, err
	}
	ended := time.Now()
	for u.fdsAfter = countFDs(pid); u.fdsAfter > u.fdsBefore && time.Since(ended) < 15*time.Second; u.fdsAfter = countFDs(pid) {
		if u.kindsAfterLoad == "" && time.Since(ended) >= time.Second {
			u.kindsAfterLoad = fdKinds(pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if u.kindsAfterLoad == "" {
		u.kindsAfterLoad = fdKinds(pid)
	}
	if u.fdsAfter <= u.fdsBefore {
		u.settled = time.Since(ended)
	}
	if now, err := nb.proxyPid(ctx); err != nil || now != pid {
		return u, fmt.Errorf("the project proxy (pid %d) did not survive the load: now %d, %v", pid, now, err)
	}
	return u, nil
}

var pidRE = regexp.MustCompile(`running, pid (\d+)`)

// proxyPid asks `pent proxy status` for the project proxy's pid.
func (nb *netBench) proxyPid(ctx context.Context) (int, error) {
	out, err := nb.w.output(ctx, nb.proj, nb.w.pent, "proxy", "status")
	if err != nil {
		return 0, err
	}
	m := pidRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pent proxy status: no running proxy in %q", strings.TrimSpace(out))
	}
	return strconv.Atoi(m[1])
}

// fdKinds summarises what pid's descriptors are: "N socket, M pipe, K other".
func fdKinds(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	es, err := os.ReadDir(dir)
	if err != nil {
		return "unknown"
	}
	var sockets, pipes, other int
	for _, e := range es {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		switch {
		case strings.HasPrefix(target, "socket:"):
			sockets++
		case strings.HasPrefix(target, "pipe:"):
			pipes++
		default:
			other++
		}
	}
	return fmt.Sprintf("%d fds (%d socket, %d pipe, %d other)", len(es), sockets, pipes, other)
}

func countFDs(pid int) int {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(es)
}

// statusKiB reads a "Key:   N kB" line of /proc/pid/status.
func statusKiB(pid int, key string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
