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

// serveBench answers the client's requests on l until it is closed.
func serveBench(l net.Listener) {
	zeros := make([]byte, 256<<10)
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
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
		}()
	}
}

// dnsServer answers A for benchName with 127.0.0.1 on UDP and TCP of one
// loopback port; every other name is NXDOMAIN.
type dnsServer struct {
	addr     string
	udp, tcp *dns.Server
}

func startDNS() (*dnsServer, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	addr := pc.LocalAddr().String()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dns over tcp on %s: %w", addr, err)
	}
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

func (s *dnsServer) close() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// netBench is the state of the proxy measurements.
type netBench struct {
	w      *workspace
	proj   string
	port   int
	runner runner
}

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
			{"`pent run -- true`, proxy mode, warm project proxy", "≤ 2× blocked"},
			{fmt.Sprintf("bulk throughput through the proxy (%d MiB)", it.bulkBytes>>20), "≥ 0.8× direct"},
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
	rep.notef("Proxy: a loopback TCP server and a loopback DNS server (upstream_dns) for %q; the project allows that name with destinations = [\"127.0.0.0/8\"]. The client is this bench binary, run inside `pent run` (transparent capture: it resolves the name and connects to the answer) or directly against 127.0.0.1.", benchName)
}

func newNetBench(ctx context.Context, w *workspace) (*netBench, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("loopback server: %w", err)
	}
	go serveBench(l)
	d, err := startDNS()
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	cleanup := func() { l.Close(); d.close() }
	proj := filepath.Join(w.home, "src", "proxy")
	cfg := fmt.Sprintf("[sandbox]\nnetwork = \"proxy\"\n\n[proxy]\ndomain_allowlist = [%q]\nupstream_dns = [%q]\ndestinations = [\"127.0.0.0/8\"]\n", benchName, d.addr)
	if err := os.MkdirAll(proj, 0o755); err == nil {
		err = os.WriteFile(filepath.Join(proj, ".pent.toml"), []byte(cfg), 0o644)
	}
	if err == nil {
		_, err = w.output(ctx, proj, w.pent, "allow")
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("proxy project: %w", err)
	}
	nb := &netBench{w: w, proj: proj, port: l.Addr().(*net.TCPAddr).Port, runner: runner{dir: proj, env: w.env(), tmp: w.dir}}
	return nb, cleanup, nil
}

func (nb *netBench) warm(ctx context.Context, it iters, rep *report) {
	const metric = "`pent run -- true`, proxy mode, warm project proxy"
	med, err := nb.runner.hyperfine(ctx, it.warmup, it.runs, []hfCmd{
		{"blocked", nb.w.pent + " run --network blocked -- /bin/true"},
		{"proxy", nb.w.pent + " run -- /bin/true"},
	})
	if err != nil {
		rep.unavailable(proxySection, metric, "≤ 2× blocked", err)
		return
	}
	p, b := med["proxy"], med["blocked"]
	rep.add(row{section: proxySection, metric: metric, value: fmt.Sprintf("%s (blocked, same project: %s)", ms(p), ms(b)),
		ratio: ratio(float64(p), float64(b)) + " blocked", target: "≤ 2× blocked", met: metIf(float64(p) <= 2*float64(b))})
}

// client runs `bench client args...` inside the sandbox (sandboxed) or
// directly, and decodes its result.
func (nb *netBench) client(ctx context.Context, sandboxed bool, args ...string) (clientResult, error) {
	var argv []string
	if sandboxed {
		argv = append([]string{nb.w.pent, "run", "--execute", nb.w.bin, "--", nb.w.self, "client", "-addr", fmt.Sprintf("%s:%d", benchName, nb.port)}, args...)
	} else {
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

// medianClient runs the client reps times and returns the run with the
// median Seconds (bulk) or MedianUS (latency).
func (nb *netBench) medianClient(ctx context.Context, reps int, sandboxed bool, args ...string) (clientResult, error) {
	var rs []clientResult
	for range reps {
		r, err := nb.client(ctx, sandboxed, args...)
		if err != nil {
			return clientResult{}, err
		}
		rs = append(rs, r)
	}
	key := func(r clientResult) float64 { return r.Seconds + r.MedianUS }
	slices.SortFunc(rs, func(a, b clientResult) int { return cmp.Compare(key(a), key(b)) })
	return rs[len(rs)/2], nil
}

func (nb *netBench) throughput(ctx context.Context, it iters, rep *report) {
	metric := fmt.Sprintf("bulk throughput through the proxy (%d MiB)", it.bulkBytes>>20)
	args := []string{"-mode", "bulk", "-bytes", strconv.FormatInt(it.bulkBytes, 10)}
	direct, err := nb.medianClient(ctx, it.bulkReps, false, args...)
	var proxied clientResult
	if err == nil {
		proxied, err = nb.medianClient(ctx, it.bulkReps, true, args...)
	}
	if err != nil {
		rep.unavailable(proxySection, metric, "≥ 0.8× direct", err)
		return
	}
	rate := func(r clientResult) float64 { return float64(r.Bytes) / r.Seconds / (1 << 20) }
	rep.add(row{section: proxySection, metric: metric,
		value:  fmt.Sprintf("%.0f MiB/s (direct loopback %.0f MiB/s)", rate(proxied), rate(direct)),
		ratio:  ratio(rate(proxied), rate(direct)) + " direct",
		target: "≥ 0.8× direct", met: metIf(rate(proxied) >= 0.8*rate(direct))})
}

func (nb *netBench) latency(ctx context.Context, it iters, rep *report) {
	const metric = "connection latency (connect + 1-byte round trip)"
	args := []string{"-mode", "latency", "-n", strconv.Itoa(it.latencyConns)}
	direct, err := nb.client(ctx, false, args...)
	var proxied clientResult
	if err == nil {
		proxied, err = nb.client(ctx, true, args...)
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
	direct, err := nb.client(ctx, false, args...)
	if err != nil {
		rep.unavailable(proxySection, metric, target, err)
		return
	}
	var proxied clientResult
	usage, err := nb.underLoad(ctx, func() error {
		var err error
		proxied, err = nb.client(ctx, true, args...)
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
			wg.Go(func() { _, errs[i] = nb.client(ctx, true, "-mode", "latency", "-n", "1") })
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
