//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/internal/testutil"
)

// The fault tests (issue 7, item 6) kill pent's own processes with SIGKILL
// at the worst moments and check, from the host, that nothing of the run
// survives and that nothing fails open: no mount, no process or namespace,
// no staging directory, no socket of the killed run after the next start;
// no unfiltered network for a sandbox whose proxy died.

// stageMarker is argv[1] of the sandbox's init stage (sandbox/stage_linux.go).
const stageMarker = "__pent_sandbox_stage__"

// proc is what /proc says about one host process.
type proc struct {
	pid, ppid, sid, uid int
	state               string
	cmdline             []string
}

// readProc reads /proc/PID/status, stat and cmdline; ok is false when the
// process is gone.
func readProc(pid int) (p proc, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return p, false
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return p, false
	}
	cmdline, _ := os.ReadFile(dir + "/cmdline")
	p.pid = pid
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "State":
			p.state = f[0]
		case "PPid":
			p.ppid, _ = strconv.Atoi(f[0])
		case "Uid":
			p.uid, _ = strconv.Atoi(f[0])
		}
	}
	// stat: PID (COMM) STATE PPID PGRP SESSION ...; COMM may hold spaces.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		if f := strings.Fields(string(stat[i+1:])); len(f) > 3 {
			p.sid, _ = strconv.Atoi(f[3])
		}
	}
	if len(cmdline) > 0 {
		p.cmdline = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	return p, true
}

// allProcs lists every host process that /proc shows.
func allProcs(t *testing.T) []proc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

func (p proc) String() string {
	return fmt.Sprintf("pid %d (ppid %d, session %d, uid %d, state %s): %q", p.pid, p.ppid, p.sid, p.uid, p.state, p.cmdline)
}

// isStage reports whether p is a sandbox init stage.
func (p proc) isStage() bool {
	return len(p.cmdline) > 1 && p.cmdline[1] == stageMarker
}

// namespaceKinds are the namespaces pent creates for a run.
var namespaceKinds = []string{"user", "mnt", "pid", "net", "ipc", "uts"}

// namespaces are the namespace links ("net:[4026531840]") of pid by kind.
func namespaces(pid int) map[string]string {
	out := map[string]string{}
	for _, kind := range namespaceKinds {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); err == nil {
			out[kind] = link
		}
	}
	return out
}

// newNamespaces are the namespaces of stage that pent (pentPID) is not in:
// the ones the run created.
func newNamespaces(stage, pentPID int) []string {
	own := namespaces(pentPID)
	var out []string
	for kind, link := range namespaces(stage) {
		if link != own[kind] {
			out = append(out, link)
		}
	}
	slices.Sort(out)
	return out
}

// namespaceHolders lists what keeps one of nsLinks alive on the host: a
// process in it, a descriptor open on it, or a mount of it.
func namespaceHolders(t *testing.T, nsLinks []string) []string {
	t.Helper()
	if len(nsLinks) == 0 {
		return nil
	}
	var out []string
	for _, p := range allProcs(t) {
		if p.state == "Z" {
			continue
		}
		for kind, link := range namespaces(p.pid) {
			if slices.Contains(nsLinks, link) {
				out = append(out, fmt.Sprintf("%s is in the run's %s namespace", p, kind))
			}
		}
		fdDir := fmt.Sprintf("/proc/%d/fd", p.pid)
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && slices.Contains(nsLinks, link) {
				out = append(out, fmt.Sprintf("%s holds %s open (fd %s)", p, link, fd.Name()))
			}
		}
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		for _, link := range nsLinks {
			if strings.Contains(line, link) {
				out = append(out, "mounted: "+line)
			}
		}
	}
	return out
}

// sessionProcs are the live processes of session sid.
func sessionProcs(t *testing.T, sid int) []proc {
	t.Helper()
	var out []proc
	for _, p := range allProcs(t) {
		if p.sid == sid && p.state != "Z" {
			out = append(out, p)
		}
	}
	return out
}

// mountEntry keys a mountinfo line by what is mounted where: the line
// without the mount and parent ids and the device number.
func mountEntry(fields []string) string { return strings.Join(fields[3:], " ") }

// socketsUnder lists the socket files below dir and the host's bound UNIX
// sockets (/proc/net/unix) whose path is below dir.
func socketsUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type()&fs.ModeSocket != 0 {
			out = append(out, "file "+path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	table, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(table), "\n") {
		if f := strings.Fields(line); len(f) == 8 && strings.HasPrefix(f[7], dir+"/") {
			out = append(out, "bound "+f[7])
		}
	}
	slices.Sort(out)
	return out
}

// holdSink accepts connections, reads the tag each sends and keeps it open;
// it reports which tagged connections are still open.
type holdSink struct {
	port int
	mu   sync.Mutex
	open map[string]int
}

func startHoldSink(t *testing.T) *holdSink {
	t.Helper()
	s := &holdSink{open: map[string]int{}}
	s.port = testutil.AcceptLoop(t, "tcp4", "127.0.0.1:0", func(c net.Conn) { go s.serve(c) }).(*net.TCPAddr).Port
	return s
}

func (s *holdSink) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	tag := strings.TrimSpace(string(buf[:n]))
	s.mu.Lock()
	s.open[tag]++
	s.mu.Unlock()
	for err == nil {
		_, err = c.Read(buf)
	}
	s.mu.Lock()
	s.open[tag]--
	s.mu.Unlock()
}

// isOpen reports whether a connection tagged tag is open.
func (s *holdSink) isOpen(tag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[tag] > 0
}

// startPentSession starts pent args in the project as the leader of a new
// session, so that every process of the run can be found by its session id
// even after pent is gone; stdout and stderr go to the returned buffer.
func (r *runner) startPentSession(args ...string) (*exec.Cmd, *lineBuffer) {
	r.t.Helper()
	cmd := r.command(context.Background(), r.project, pentBin, args...)
	cmd.SysProcAttr.Setsid = true
	return cmd, r.startBuffered(cmd)
}

// killRun starts pent args in the project as the leader of a new session
// and kills it with SIGKILL: after delay, or, when delay is negative, once
// its output shows READY and ready() holds. Then no process of the run (of
// its session) and, when the kill came after READY, none of its namespaces
// may outlive it.
func (r *runner) killRun(label string, args []string, delay time.Duration, ready func() bool) {
	r.t.Helper()
	t := r.t
	cmd, out := r.startPentSession(args...)
	pentPID := cmd.Process.Pid
	var runNS []string
	if delay >= 0 {
		time.Sleep(delay)
	} else {
		isReady := func() bool { return strings.Contains(out.String(), "READY") && ready() }
		waitFor(30*time.Second, func() bool { return isReady() || processState(t, pentPID) == "Z" })
		if !isReady() {
			t.Fatalf("%s: the run never got ready; output:\n%s", label, out)
		}
		procs := sessionProcs(t, pentPID)
		for _, p := range procs {
			if p.isStage() && p.ppid == pentPID {
				runNS = newNamespaces(p.pid, pentPID)
			}
		}
		// Controls: the checks below see the live run.
		if len(runNS) != len(namespaceKinds) {
			t.Fatalf("%s: want the run's stage in new %v namespaces, found %q among its processes %v", label, namespaceKinds, runNS, procs)
		}
		if len(procs) < 3 || len(namespaceHolders(t, runNS)) == 0 {
			t.Fatalf("%s: the live run's processes or namespaces are not found: %v", label, procs)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("%s: %s (after %v): pent printed:\n%s", r.mode, label, delay, out)

	if !waitFor(10*time.Second, func() bool { return len(sessionProcs(t, pentPID)) == 0 }) {
		for _, p := range sessionProcs(t, pentPID) {
			t.Errorf("%s: a process of the killed run is still there: %s", label, p)
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	if !waitFor(10*time.Second, func() bool { return len(namespaceHolders(t, runNS)) == 0 }) {
		for _, h := range namespaceHolders(t, runNS) {
			t.Errorf("%s: a namespace of the killed run is still held: %s", label, h)
		}
	}
}

// holdArgs is a pent run of probe.py holding one connection tagged tag to
// the sink, after writing content to ~/.claude.json; flags go before "--".
func holdArgs(script string, sink *holdSink, tag, content string, flags ...string) []string {
	return append(append([]string{"run"}, flags...), "--", "sh", "-c",
		fmt.Sprintf(`printf '%s' > "$HOME/.claude.json.new" && mv "$HOME/.claude.json.new" "$HOME/.claude.json" && exec python3 %s hold_tagged %s %d %s`,
			content, script, allowedName, sink.port, tag))
}

// TestFault_SIGKILLPent kills pent with SIGKILL at several points of a
// proxy-mode run that shadows ~/.claude.json through the overlay (so a
// staging directory exists) and holds a connection through pent's private
// proxy: while the sandbox is being built, and once the command runs. After
// each kill, the run's processes and namespaces must be gone, its proxied
// connection closed, and the next `pent run` must work and leave no mount,
// no staging directory and no socket behind, with the killed run's write
// recovered.
func TestFault_SIGKILLPent(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		startLocalNet(t, r)
		sink := startHoldSink(t)
		script := writeProbe(r)
		claude, grant := r.claudeFile()
		mountsBefore := mountCounts(t, mountEntry)
		socketsBefore := socketsUnder(t, r.base)

		// Delays before the kill while the sandbox is still being built
		// (the last kill waits for the command to be running).
		delays := []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 80 * time.Millisecond, -1}
		for i, delay := range delays {
			label := fmt.Sprintf("kill %d", i)
			tag := fmt.Sprintf("%s-kill-%d", r.mode, i)
			content := fmt.Sprintf(`{"killed":%d}`, i)
			args := holdArgs(script, sink, tag, content, append([]string{"--allow", allowedName}, grant...)...)
			r.killRun(label, args, delay, func() bool { return sink.isOpen(tag) })
			if !waitFor(10*time.Second, func() bool { return !sink.isOpen(tag) }) {
				t.Errorf("%s: the killed run's proxied connection is still open on the server", label)
			}
			if delay < 0 && !hasStaging(r) {
				t.Errorf("%s: the killed run left no staging directory: the test did not kill it while staging was in use", label)
			}

			// The next start: it must recover the killed run's staging and
			// run normally.
			res := r.pent(append(append([]string{"run"}, grant...), "--", "sh", "-c", `echo "NEXT-$(cat "$HOME/.claude.json")"`)...)
			res.wantCode(t, 0)
			if delay < 0 {
				r.assertFile(claude, content)
				if !hasExactLine(res.stdout, "NEXT-"+content) {
					t.Errorf("%s: the next run does not see the killed run's write:\n%s", label, res)
				}
			}
			r.assertNoStaging()
			if added := addedMounts(mountsBefore, mountCounts(t, mountEntry)); len(added) > 0 {
				t.Errorf("%s: mounts left on the host after the next start:\n%s", label, strings.Join(added, "\n"))
			}
			if after := socketsUnder(t, r.base); !slices.Equal(after, socketsBefore) {
				t.Errorf("%s: sockets below the fixture tree changed: before %q, after %q", label, socketsBefore, after)
			}
		}
	})
}

// TestFault_SIGKILLPentProjectProxy kills pent with SIGKILL while its
// sandbox (shadowing ~/.claude.json) is attached to the project's shared
// proxy and holds a connection through it. The proxy must drop the dead
// run's session, its connection and every socket of it (the capture sockets
// it was handed would keep the sandbox's network namespace alive) and keep
// serving; the next run must work through it and recover the staged write.
func TestFault_SIGKILLPentProjectProxy(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n, script := startProjectProxy(t, r)
		sink := startHoldSink(t)
		banner := strconv.Itoa(n.bannerTCP)

		r.pent("run", "--", "python3", script, "banner", allowedName, banner).wantCode(t, 0)
		st := r.waitIdle("idle after the first run")
		before := testutil.FDs(t, st.pid, testutil.NotPipe)

		claude, grant := r.claudeFile()
		tag := r.mode + "-project-kill"
		r.killRun("kill", holdArgs(script, sink, tag, `{"killed":1}`, grant...), -1, func() bool {
			return sink.isOpen(tag) && r.proxyStatus().sessions == 1
		})
		if !waitFor(10*time.Second, func() bool { return !sink.isOpen(tag) }) {
			t.Errorf("the killed run's connection through the project's proxy is still open on the server")
		}
		after := r.waitStatus("no session left after the kill", func(st proxyStatus) bool {
			return st.sessions == 0 && st.connections == 0
		})
		if after.pid != st.pid {
			t.Errorf("the project's proxy was replaced (pid %d, then %d) by a client's death", st.pid, after.pid)
		}
		if got := settledSocketFDs(t, st.pid, before); got != before {
			t.Errorf("the project's proxy holds %d descriptors (pipes aside) after the killed run, %d before", got, before)
		}
		r.pent(append(append([]string{"run"}, grant...), "--", "python3", script, "banner", allowedName, banner)...).wantCode(t, 0)
		r.assertFile(claude, `{"killed":1}`)
		r.assertNoStaging()
	})
}

// hasStaging reports whether a run's staging directory exists in pent's
// state directory.
func hasStaging(r *runner) bool {
	entries, _ := os.ReadDir(filepath.Join(r.home, ".local", "state", "pent", "staging"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "run-") {
			return true
		}
	}
	return false
}

// streamServer sends data on every connection until the peer goes away;
// it counts the connections it accepted and those that ended.
type streamServer struct {
	port          int
	accepted, end atomic.Int32
}

func startStreamServer(t *testing.T) *streamServer {
	t.Helper()
	s := &streamServer{}
	chunk := []byte(strings.Repeat("stream data ", 100))
	s.port = testutil.AcceptLoop(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		s.accepted.Add(1)
		go func() {
			defer c.Close()
			defer s.end.Add(1)
			for {
				_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write(chunk); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}).(*net.TCPAddr).Port
	return s
}

// TestFault_ProxyKilled kills the project's proxy daemon with SIGKILL while
// a sandbox of the project streams data through it. The sandbox must fail
// closed: the transfer ends, and no new connection of any kind leaves it —
// to the allowed name, a raw IP, the host's loopback, DNS, UDP — while it
// runs on without its proxy. The next `pent run` in the project starts a new
// proxy and works.
func TestFault_ProxyKilled(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n, script := startProjectProxy(t, r)
		stream := startStreamServer(t)
		loopback := listenHost(t)
		banner := strconv.Itoa(n.bannerTCP)

		sb := r.startServe("run", "--", "python3", script, "serve")
		if p := sb.ask(t, "banner "+allowedName+" "+banner); !p.ok {
			t.Fatalf("before the kill, %s was not reachable: %s", allowedName, p.msg)
		}
		if p := sb.ask(t, "stream "+allowedName+" "+strconv.Itoa(stream.port)); !p.ok {
			t.Fatalf("before the kill, the stream did not start: %s", p.msg)
		}
		st := r.waitStatus("a session with a connection", func(st proxyStatus) bool {
			return st.running && st.sessions == 1 && st.connections >= 1
		})
		if pids := daemonPIDs(t, r); len(pids) != 1 || pids[0] != st.pid {
			t.Fatalf("want one proxy process (pid %d) for the project, found %v", st.pid, pids)
		}

		if err := syscall.Kill(st.pid, syscall.SIGKILL); err != nil {
			t.Fatalf("killing the proxy: %v", err)
		}
		if !waitFor(10*time.Second, func() bool { return !processAlive(st.pid) || processState(t, st.pid) == "Z" }) {
			t.Fatalf("the proxy (pid %d) did not die", st.pid)
		}
		if dead := r.proxyStatus(); dead.running {
			t.Errorf("pent proxy status reports the killed proxy as running:\n%s", dead.rawOutput)
		}
		queries, banners, raw, udp := len(n.seen(&n.queries)), n.banners.Load(), n.rawHits.Load(), n.udpHits.Load()
		streams := stream.accepted.Load()

		if p := sb.ask(t, "broken 10"); !p.ok {
			t.Errorf("the transfer through the killed proxy did not break: %s", p.msg)
		}
		if !waitFor(10*time.Second, func() bool { return stream.end.Load() == stream.accepted.Load() }) {
			t.Errorf("the stream server still sends on %d connections after the proxy died", stream.accepted.Load()-stream.end.Load())
		}
		attempts := []string{
			"banner " + allowedName + " " + banner,
			"stream " + allowedName + " " + strconv.Itoa(stream.port),
			"banner 127.0.0.1 " + banner,
			"banner 127.0.0.1 " + strconv.Itoa(loopback.port),
			"banner " + n.hostIP + " " + strconv.Itoa(n.rawPort),
			"resolve " + allowedName,
			"resolve " + deniedName,
			"udp " + n.hostIP + " " + strconv.Itoa(n.udpPort),
			"udp 127.0.0.1 " + strconv.Itoa(n.udpPort),
		}
		for _, a := range attempts {
			if p := sb.ask(t, a); p.ok {
				t.Errorf("with its proxy dead, the sandbox could still %q", a)
			} else {
				t.Logf("%s: with the proxy dead, %q failed: %s", r.mode, a, p.msg)
			}
		}
		if got := n.seen(&n.queries); len(got) != queries {
			t.Errorf("DNS queries reached the server after the proxy died: %q", got[queries:])
		}
		if n.banners.Load() != banners || n.rawHits.Load() != raw || n.udpHits.Load() != udp ||
			stream.accepted.Load() != streams || loopback.conns.Load() != 0 {
			t.Errorf("connections reached the host after the proxy died: banner %d→%d, raw IP %d→%d, UDP %d→%d, stream %d→%d, loopback listener %d",
				banners, n.banners.Load(), raw, n.rawHits.Load(), udp, n.udpHits.Load(), streams, stream.accepted.Load(), loopback.conns.Load())
		}

		// The next run in the project starts a new proxy and works.
		r.pent("run", "--", "python3", script, "banner", allowedName, banner).wantCode(t, 0)
		after := r.proxyStatus()
		if !after.running || after.pid == st.pid {
			t.Errorf("after the next run, want a new proxy (the killed one was pid %d):\n%s", st.pid, after.rawOutput)
		}
		// The old sandbox, still running, gets no unfiltered network from
		// the new proxy either.
		for _, a := range []string{"banner " + n.hostIP + " " + strconv.Itoa(n.rawPort), "banner 127.0.0.1 " + strconv.Itoa(loopback.port)} {
			if p := sb.ask(t, a); p.ok {
				t.Errorf("after the proxy restarted, the old sandbox could %q", a)
			}
		}
		if n.rawHits.Load() != raw || loopback.conns.Load() != 0 {
			t.Errorf("raw-IP or loopback connections reached the host after the restart")
		}
		sb.finish(t)
	})
}

// TestFault_SIGKILLRecoveryKeepsHostEdit: the sandboxed command dates its
// write to ~/.claude.json in 2099, pent is killed with SIGKILL, and the
// user edits the real file afterwards. The next pent command must keep the
// user's edit in place and the run's version beside it, naming both: the
// staged file's times are the command's to set and decide nothing.
func TestFault_SIGKILLRecoveryKeepsHostEdit(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		claude, grant := r.claudeFile()
		args := append(append([]string{"run"}, grant...), "--", "sh", "-c", `
printf sandbox > "$HOME/.claude.json.new" && touch -d 2099-01-01 "$HOME/.claude.json.new" &&
mv "$HOME/.claude.json.new" "$HOME/.claude.json" && echo WROTE
sleep 60`)
		out, wait, kill := r.startBackground(args...)
		waitLine(t, out, "WROTE")
		kill()
		_, _ = wait()
		r.writeFile(claude, "user edit", 0o600)
		res := r.pent("version")
		res.wantCode(t, 0)
		r.assertFile(claude, "user edit")
		r.assertFile(claude+".pent-recovered", "sandbox")
		if !strings.Contains(res.stderr, claude+" ") || !strings.Contains(res.stderr, claude+".pent-recovered") {
			t.Errorf("the next pent command did not name both versions:\n%s", res)
		}
		r.assertNoStaging()
		if err := os.Remove(claude + ".pent-recovered"); err != nil {
			t.Error(err)
		}
	})
}
