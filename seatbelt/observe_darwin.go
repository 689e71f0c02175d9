//go:build darwin

package seatbelt

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pent-sandbox/pent/scope"
	"golang.org/x/sys/unix"
)

// The macOS trace observer (pent run --trace) reports the file accesses the
// Seatbelt profile denies, from the sandbox's own reports in the unified
// log, without root.
//
// Mechanism: before sandbox-exec starts, pent runs `/usr/bin/log stream`
// (seatbeltTraceArgs: one JSON object per line) in its own process group,
// so that the terminal's Ctrl-C does not end it. It counts as ready only
// once it has shown a denial pent provoked itself — a sandbox-exec probe
// that may not create a file in a fresh directory — which proves that the
// stream is live and that ParseLog reads this macOS's reports; no such
// line within traceReadyTimeout, or `log` missing or failing (it may
// refuse users who are not administrators), and Launch returns an error
// before the command starts: a run is never silently untraced. While the
// command runs, a poller of the process table (kern.proc.all) collects its
// descendants, and each denial is kept only when it is the run's (see
// seatbeltProcs in observe.go for how, and the compromise for
// processes that ended before their report arrived), mapped to the
// scope.FileDenial the Linux observer would report (seatbeltFileDenial).
// After the command ended, pent waits for its remaining descendants (at most
// descendantGrace: a daemon it left behind is not waited for), lets
// traceDrain pass for the last reports, and ends `log`. If `log` ends early
// the run goes on and pent warns that the trace is incomplete.
//
// What it cannot see: what Seatbelt does not report (it folds repeats into
// "N duplicate reports" lines, which are counted, and may drop reports
// under load), stat (file-read-metadata: see seatbeltFileDenial), network
// denials (the proxy reports those), and denials of a descendant that
// ended unseen under a name no process of the run had.

// logBinary is the unified log's command-line tool, by its fixed path so
// that nothing on PATH (or a shell's `log` builtin) stands in for it.
const logBinary = "/usr/bin/log"

const (
	// traceReadyTimeout is how long `log stream` may take to show the
	// probe's denial.
	traceReadyTimeout = 10 * time.Second
	// probeInterval is how often the probe is repeated until then: the
	// first may come before the stream is live.
	probeInterval = 200 * time.Millisecond
	// pollInterval is how often the process table is read for the run's
	// new processes.
	pollInterval = 20 * time.Millisecond
	// descendantGrace is how long the trace goes on for processes of the
	// run that outlive the command.
	descendantGrace = 2 * time.Second
	// traceDrain is how long the trace goes on after the last process of
	// the run ended, for the reports still on their way.
	traceDrain = 300 * time.Millisecond
	// logStopTimeout is how long `log` may take to end after SIGTERM.
	logStopTimeout = 2 * time.Second
)

// Observer streams the sandbox's reports while one command runs
// (pent run --trace on macOS).
type Observer struct {
	log     *exec.Cmd
	stderr  *bytes.Buffer
	trace   *seatbeltTrace
	command string
	warn    func(format string, args ...any)
	probe   string // the directory the probe may not create files in

	probed   chan struct{} // closed when the probe's denial was read
	started  chan struct{} // closed when procs is set, or the command did not start
	procs    *seatbeltProcs
	stopPoll chan struct{}
	polled   chan struct{} // closed when the poller returned

	stopping atomic.Bool
	done     chan struct{} // closed when the reader returned, after the last report
	early    bool          // `log` ended before Stop
	readErr  error         // the first line or read error of the run
	probeErr error         // the last line error while waiting for the probe
}

// maxLogLine bounds one line of `log stream`; longer lines (no sandbox
// report is that long) are skipped whole.
const maxLogLine = 1 << 20

// StartObserver starts `log stream` for a run of command and returns once
// it shows the sandbox's reports. protected are the policy's protected
// paths; report receives each file denial of the run (sandbox's
// LaunchOptions.Observe), warn each reason the trace is incomplete.
func StartObserver(command string, protected []string, report func(scope.FileDenial), warn func(string, ...any)) (*Observer, error) {
	probe, err := os.MkdirTemp("", "pent-trace-probe-")
	if err == nil {
		probe, err = filepath.EvalSymlinks(probe)
	}
	if err != nil {
		return nil, fmt.Errorf("--trace: creating the probe directory: %w", err)
	}
	o := &Observer{
		log:     &exec.Cmd{Path: logBinary, Args: append([]string{"log"}, seatbeltTraceArgs()...), Env: []string{}, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}},
		stderr:  &bytes.Buffer{},
		trace:   &seatbeltTrace{lookup: lookupProc, protected: seatbeltProtected(protected), probe: probe, report: report, now: time.Now},
		command: command,
		warn:    warn,
		probe:   probe,

		probed:   make(chan struct{}),
		started:  make(chan struct{}),
		stopPoll: make(chan struct{}),
		polled:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	o.log.Stderr = o.stderr
	stdout, err := o.log.StdoutPipe()
	if err == nil {
		err = o.log.Start()
	}
	if err != nil {
		os.RemoveAll(probe)
		return nil, fmt.Errorf("--trace on macOS needs %s stream: %w", logBinary, err)
	}
	go o.read(stdout)
	if ready := o.waitReady(); !ready {
		o.Stop(0) // after which log's output and the reader's state can be read
		why := fmt.Sprintf("ended at once (%s)", o.logOutput())
		if !o.early {
			why = fmt.Sprintf("did not show the sandbox's reports within %v", traceReadyTimeout)
			if o.probeErr != nil {
				why += fmt.Sprintf(" (%v)", o.probeErr)
			}
		}
		return nil, fmt.Errorf("--trace: %s stream %s: pent cannot trace on this Mac; run without --trace", logBinary, why)
	}
	return o, nil
}

// waitReady provokes probe denials until the stream shows one; false when
// it did not within traceReadyTimeout or log ended.
func (o *Observer) waitReady() bool {
	deadline := time.After(traceReadyTimeout)
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	for i := 0; ; i++ {
		o.runProbe(i)
		select {
		case <-o.probed:
			return true
		case <-o.done:
			return false
		case <-deadline:
			return false
		case <-tick.C:
		}
	}
}

// runProbe makes a process in a sandbox that denies creating files in
// o.probe try to create probe file n: a report pent knows to expect.
func (o *Observer) runProbe(n int) {
	profile := "(version 1)(allow default)(deny file-write-create (subpath " + sbplString(o.probe) + "))"
	probe := exec.Command(SandboxExec, "-p", profile, "/usr/bin/touch", filepath.Join(o.probe, strconv.Itoa(n)))
	probe.Env = []string{}
	_ = probe.Run() // it fails by design; the log says whether it was seen
}

// read handles the lines of `log stream` until it ends: first it waits for
// the probe, then (once the command started) reports the run's denials.
func (o *Observer) read(stdout io.Reader) {
	defer close(o.done)
	probed, discard := false, false
	err := readLines(stdout, maxLogLine, func(line []byte) {
		switch {
		case discard:
		case !probed:
			d, ok, err := ParseLog(line)
			if err != nil {
				o.probeErr = err
			}
			if ok && d.Operation == "file-write-create" && scope.Within(d.Target, o.probe) {
				probed = true
				close(o.probed)
			}
		default:
			if o.trace.procs == nil {
				<-o.started
				if discard = o.procs == nil; discard {
					return
				}
				o.trace.procs = o.procs
			}
			if err := o.trace.handle(line); err != nil && o.readErr == nil {
				o.readErr = err
			}
		}
	})
	if err != nil && o.readErr == nil {
		o.readErr = err
	}
	o.early = !o.stopping.Load()
}

// Follow starts tracing the processes of the run, whose first process
// (sandbox-exec, then the command) is pid.
func (o *Observer) Follow(pid int) {
	o.procs = newSeatbeltProcs(pid, o.command)
	close(o.started)
	go o.poll()
}

// poll adds the run's new processes until stopPoll is closed.
func (o *Observer) poll() {
	defer close(o.polled)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if table, err := processTable(); err == nil {
			o.procs.adopt(table)
		}
		select {
		case <-o.stopPoll:
			return
		case <-tick.C:
		}
	}
}

// Stop ends the trace after the command (process root, reaped; 0 when it
// never started) ended, and returns after the last report. It warns when
// the trace is incomplete.
func (o *Observer) Stop(root int) {
	if o.procs == nil {
		close(o.started)
	} else {
		o.waitDescendants(root)
		close(o.stopPoll)
		<-o.polled
		select {
		case <-o.done:
		case <-time.After(traceDrain):
		}
	}
	o.stopping.Store(true)
	_ = o.log.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.done:
	case <-time.After(logStopTimeout):
		_ = o.log.Process.Kill()
		<-o.done
	}
	_ = o.log.Wait()
	os.RemoveAll(o.probe)
	if o.procs == nil {
		return
	}
	if o.early {
		o.warn("trace: %s stream ended while the command ran (%s); denials after that are missing from the trace", logBinary, o.logOutput())
	}
	if o.readErr != nil {
		o.warn("trace: %v", o.readErr)
	}
}

// waitDescendants waits until no process of the run but root is left, at
// most descendantGrace.
func (o *Observer) waitDescendants(root int) {
	deadline := time.Now().Add(descendantGrace)
	for time.Now().Before(deadline) {
		table, err := processTable()
		if err != nil {
			return
		}
		o.procs.adopt(table)
		if !o.procs.running(table, root) {
			return
		}
		time.Sleep(pollInterval)
	}
}

// logOutput is what `log` wrote to stderr, on one line, or its exit status.
func (o *Observer) logOutput() string {
	if msg := strings.Join(strings.Fields(o.stderr.String()), " "); msg != "" {
		return msg
	}
	if o.log.ProcessState != nil {
		return o.log.ProcessState.String()
	}
	return "no message"
}

// processTable reads every process's PID, parent and name.
func processTable() ([]seatbeltProc, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("reading the process table: %w", err)
	}
	table := make([]seatbeltProc, len(kps))
	for i := range kps {
		table[i] = procOf(&kps[i])
	}
	return table, nil
}

// lookupProc is the table entry of process pid, if it is alive (or a
// zombie, whose parent is still known).
func lookupProc(pid int) (seatbeltProc, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid {
		return seatbeltProc{}, false
	}
	return procOf(kp), true
}

func procOf(kp *unix.KinfoProc) seatbeltProc {
	return seatbeltProc{pid: int(kp.Proc.P_pid), ppid: int(kp.Eproc.Ppid), name: unix.ByteSliceToString(kp.Proc.P_comm[:])}
}
