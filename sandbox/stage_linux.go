package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pent-sandbox/pent/scope"
)

// The init stage is this binary re-executed by Launch inside the new
// namespaces, as PID 1 of the sandbox: it builds the mount namespace and the
// network, applies Landlock, drops every privilege, starts the command, hands
// its pidfd to pent, reaps every process and reports how the command ended.

// Arguments that select a re-executed stage (os.Args[1]).
const (
	stageArg      = "__pent_sandbox_stage__"
	probeArg      = "__pent_sandbox_probe__"
	idmapProbeArg = "__pent_sandbox_idmap_probe__"
)

// traceEnv, set in the stage's (otherwise empty) environment, has it
// install the trace observer; the command never sees the stage's
// environment.
const traceEnv = "PENT_STAGE_TRACE=1"

// File descriptors Launch passes to the stage.
const (
	controlFD = 3 // SOCK_SEQPACKET to pent
	policyFD  = 4 // the Policy as JSON
)

// Messages on the control socket: one kind byte and a payload.
const (
	// Stage → pent.
	msgNetwork = 'N' // proxy mode: the capture sockets are attached (SCM_RIGHTS, CaptureFiles.Files order)
	msgStarted = 'S' // the command runs; its pidfd is attached (SCM_RIGHTS)
	msgExit    = 'X' // the command ended; payload: wait status, uint32 LE
	msgStopped = 'Z' // the command stopped (SIGTSTP, SIGSTOP…): pent stops too, as a shell's job
	msgError   = 'E' // the sandbox could not be built; payload: the reason
	msgNotRun  = 'F' // the sandbox was built but execve of the command failed; payload: errno, uint32 LE
	msgTrace   = 'T' // --trace: the observer's seccomp listener is attached (SCM_RIGHTS)
	// Pent → stage.
	msgGo    = 'G' // proxy mode: the proxy serves the capture sockets; start the command
	msgMount = 'M' // root run, before all else: payload a path, its idmapped mount attached, or none if absent; an empty payload ends the list (idmap_linux.go)
)

// Main runs the re-executed sandbox stage and exits when this process is one;
// otherwise it returns at once. Call it first thing in main (and TestMain).
func Main() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case stageArg:
		os.Exit(runStage())
	case probeArg:
		os.Exit(runProbe())
	case idmapProbeArg:
		_, _ = io.Copy(io.Discard, os.Stdin) // holds its user namespace until doctor is done (idmapCheck)
		os.Exit(0)
	}
}

// fatalSignals are the signals that end a Go program when it receives them
// from another process without asking for them: the runtime's handler exits
// or crashes on SIGHUP, SIGINT, SIGTERM (_SigKill), SIGQUIT, SIGABRT,
// SIGILL, SIGTRAP, SIGSTKFLT, SIGSYS (_SigThrow) and a SIGBUS, SIGFPE or
// SIGSEGV sent with kill (_SigPanic); SIGPIPE ends it when it writes to a
// closed stdout or stderr. Every other signal is harmless to the stage: the
// runtime's handler returns, or its disposition is the default.
var fatalSignals = []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP,
	unix.SIGABRT, unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV, unix.SIGPIPE, unix.SIGTERM,
	unix.SIGSTKFLT, unix.SIGSYS}

// defaultDispositions gives the fatal signals their default disposition
// again, behind the runtime's back. The kernel never delivers a signal whose
// disposition is the default to the init of a PID namespace — neither from
// inside nor from an ancestor namespace; only SIGKILL and SIGSTOP sent from
// outside get through — so the stage can neither be ended by them nor pass
// them on (TestSandboxStageSurvivesSignals sends it each one). The command
// starts with the defaults too. A real fault in the stage still ends it, as
// it would with the runtime's handler. signal.Notify would do the same job
// at about 25 µs per signal (a round trip to the runtime's signal thread);
// one rt_sigaction costs well under a microsecond.
func defaultDispositions() error {
	var dfl [4]uint64 // struct sigaction with every field 0: SIG_DFL, no flags, empty mask
	for _, sig := range fatalSignals {
		_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		if errno != 0 {
			return fmt.Errorf("resetting %v: %w", sig, errno)
		}
	}
	return nil
}

// runStage is the whole life of the init stage.
func runStage() int {
	// Not dumpable: the command cannot open /proc/1/fd or ptrace its init.
	if err := nonDumpable(); err != nil {
		fmt.Fprintf(os.Stderr, "pent: sandbox init: %v\n", err)
		return 1
	}
	// As PID 1 the stage must neither die from nor pass on the terminal's
	// signals (or the command's).
	if err := defaultDispositions(); err != nil {
		fmt.Fprintf(os.Stderr, "pent: sandbox init: %v\n", err)
		return 1
	}
	return runCommand()
}

// nonDumpable makes the stage non-dumpable and checks that it is: the
// command, even with the ids of the thread it was forked from, can then
// neither ptrace any of the stage's threads (which share one address space,
// the others with the stage's privileges) nor open their /proc files. The
// kernel resets the flag to fs.suid_dumpable whenever a thread's ids
// change, as becomeSandboxIDs does; startCommand sets it again just before
// the fork.
func nonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_DUMPABLE: %w", err)
	}
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("PR_GET_DUMPABLE: %w", err)
	}
	if d != 0 {
		return fmt.Errorf("the sandbox's init stays dumpable (PR_GET_DUMPABLE %d), its command could take it over", d)
	}
	return nil
}

// onSpentThread runs f on a thread of its own that is not the
// thread-group leader and ends with f. startCommand changes that thread's
// credentials (ids in a root run, capabilities, Landlock domain) and forks
// the command from it; the command inherits them and nothing from the
// stage's other threads. The leader — the task that signals to PID 1 and
// /proc/1 are checked against — never joins the command's Landlock domain:
// with Landlock's signal scope the command cannot signal its init. Once f
// has returned, no thread of the stage carries the command's ids or domain,
// so none shares the command's uid while sharing its address space with
// the stage's privileged threads. A locked thread runs only its own
// goroutine: a goroutine that lands on the leader holds it while another
// one runs f.
func onSpentThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			onSpentThread(f)
			runtime.UnlockOSThread() // the leader is as it was
			return
		}
		f() // the thread stays locked: it ends with this goroutine
	}()
	<-done
}

// runCommand builds the sandbox, runs the command in it (startCommand, on
// a spent thread), reaps every process and reports to pent how the command
// ended.
func runCommand() int {
	ctrl, err := fileConn(controlFD, "pent-control")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pent: sandbox init: %v\n", err)
		return 1
	}
	var idmapped map[string]int
	if slices.Contains(os.Environ(), idmapEnv) {
		if idmapped, err = receiveIdmapped(ctrl); err != nil {
			_ = sendMsg(ctrl, msgError, []byte(err.Error()), -1)
			return 1
		}
	}
	goAhead := make(chan struct{}, 1)
	go watchPent(ctrl, goAhead)

	traced := slices.Contains(os.Environ(), traceEnv)
	var pid, pidfd int
	onSpentThread(func() { pid, pidfd, err = startCommand(ctrl, goAhead, traced, idmapped) })
	var notRun execFailed
	if errors.As(err, &notRun) {
		_ = sendMsg(ctrl, msgNotRun, binary.LittleEndian.AppendUint32(nil, uint32(notRun.errno)), -1)
		return 1
	}
	if err != nil {
		_ = sendMsg(ctrl, msgError, []byte(err.Error()), -1)
		return 1
	}
	err = sendMsg(ctrl, msgStarted, nil, pidfd)
	unix.Close(pidfd)
	if err != nil {
		return 1
	}
	ws, err := reap(pid, func() { _ = sendMsg(ctrl, msgStopped, nil, -1) })
	if err != nil {
		_ = sendMsg(ctrl, msgError, []byte(err.Error()), -1)
		return 1
	}
	payload := binary.LittleEndian.AppendUint32(nil, uint32(ws))
	if err := sendMsg(ctrl, msgExit, payload, -1); err != nil {
		return 1
	}
	return 0
}

// watchPent reads what pent sends: a go-ahead is passed on; the end of the
// socket means pent is gone, which ends the sandbox.
func watchPent(ctrl *net.UnixConn, goAhead chan<- struct{}) {
	buf := make([]byte, 16)
	for {
		n, err := ctrl.Read(buf)
		if err != nil || n == 0 {
			os.Exit(1)
		}
		if buf[0] == msgGo {
			select {
			case goAhead <- struct{}{}:
			default:
			}
		}
	}
}

// startCommand builds the sandbox and starts the command in it. In proxy
// mode it hands the capture sockets to pent and starts the command only
// once pent's go-ahead has arrived on goAhead. When traced, the command
// starts under the trace observer's filter, whose listener pent serves.
// idmapped are the mounts of a root run (receiveIdmapped), nil otherwise.
func startCommand(ctrl *net.UnixConn, goAhead <-chan struct{}, traced bool, idmapped map[string]int) (pid, pidfd int, err error) {
	p, err := readPolicy()
	if err != nil {
		return 0, -1, err
	}
	// Relative lookups must not start from pent's directory as it was
	// before the masks went up.
	if err := unix.Chdir("/"); err != nil {
		return 0, -1, err
	}
	if err := setupNetwork(p.Network); err != nil {
		return 0, -1, err
	}
	if p.Network == scope.NetProxy {
		port, err := handOverCapture(ctrl, p.ProxyLoopbackPorts)
		if err != nil {
			return 0, -1, err
		}
		p.Env = withProxyEnv(p.Env, ProxyEnv(port))
	}
	shadows, err := stageShadows(os.Args, idmapped)
	if err != nil {
		return 0, -1, err
	}
	if err := setupMounts(p, shadows, idmapped); err != nil {
		return 0, -1, err
	}
	rs, err := newRuleset(LandlockABI(), append(policyRules(p), shadowRules(shadows)...))
	if err != nil {
		return 0, -1, err
	}
	defer rs.close()
	// The command is forked from this thread (onSpentThread's) and
	// inherits its credentials and Landlock domain, and nothing from the
	// stage's other threads: dropping privileges and restricting this thread
	// is enough for the command. Doing it on every thread would stop the
	// world once per system call. The other threads run only the stage's
	// own code; the seccomp filter still binds them all.
	if idmapped != nil {
		if err := becomeSandboxIDs(); err != nil {
			return 0, -1, err
		}
	}
	if err := dropPrivileges(); err != nil {
		return 0, -1, fmt.Errorf("dropping privileges: %w", err)
	}
	if err := rs.restrictSelf(); err != nil {
		return 0, -1, err
	}
	// ForkExec fails alike whether the working directory or the command is
	// missing; only the command's failure is execFailed.
	var dir unix.Stat_t
	if err := unix.Stat(p.Dir, &dir); err != nil {
		return 0, -1, fmt.Errorf("entering the working directory %s: %w", p.Dir, err)
	}
	// Whatever pent inherited without close-on-exec stays out of the sandbox.
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return 0, -1, fmt.Errorf("close_range: %w", err)
	}
	if p.Network == scope.NetProxy {
		<-goAhead // watchPent ends the sandbox if pent goes away instead
	}
	pidfd = -1
	attr := &syscall.ProcAttr{
		Dir:   p.Dir,
		Env:   p.Env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{PidFD: &pidfd},
	}
	// Last: the filter also binds the stage, which needs none of it now.
	if err := installSeccomp(); err != nil {
		return 0, -1, err
	}
	if traced {
		if err := handOverObserver(ctrl); err != nil {
			return 0, -1, err
		}
	}
	// After every change of this thread's credentials (becomeSandboxIDs
	// resets the flag): the command must never find its init dumpable.
	if err := nonDumpable(); err != nil {
		return 0, -1, err
	}
	pid, err = syscall.ForkExec(p.Command[0], p.Command, attr)
	if errno, ok := err.(syscall.Errno); ok {
		return 0, -1, execFailed{errno}
	}
	if err != nil {
		return 0, -1, fmt.Errorf("starting %s in %s: %w", p.Command[0], p.Dir, err)
	}
	if pidfd < 0 {
		if pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
			return 0, -1, fmt.Errorf("pidfd_open: %w", err)
		}
	}
	return pid, pidfd, nil
}

// execFailed is the command's execve failing in the built sandbox: pent
// reports it the way a shell does (NotRunnable), not as a broken sandbox.
type execFailed struct{ errno syscall.Errno }

func (e execFailed) Error() string { return "execve: " + e.errno.Error() }

// readPolicy decodes the policy Launch wrote to policyFD.
func readPolicy() (Policy, error) {
	f := os.NewFile(policyFD, "pent-policy")
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return Policy{}, fmt.Errorf("reading the policy: %w", err)
	}
	var p Policy
	if err := json.Unmarshal(data, &p); err != nil {
		return Policy{}, fmt.Errorf("decoding the policy: %w", err)
	}
	if p, err = p.normalized(); err != nil {
		return Policy{}, err
	}
	return p.withoutCovered(), nil
}

// withoutCovered drops the Read, Execute, Write and Traverse paths that lie
// strictly inside a Write path. The Write path's mount and Landlock rule
// already cover what is physically beneath it; a nested path could only add
// something by resolving through a symlink that an earlier sandboxed run
// planted there (`build -> /etc`), which must not widen the next run.
func (p Policy) withoutCovered() Policy {
	keep := func(paths []string) []string {
		var out []string
		for _, path := range paths {
			inside := false
			for _, w := range p.Write {
				inside = inside || (path != w && within(path, w))
			}
			if !inside {
				out = append(out, path)
			}
		}
		return out
	}
	p.Read, p.Execute, p.Traverse, p.Write = keep(p.Read), keep(p.Execute), keep(p.Traverse), keep(p.Write)
	return p
}

// reap waits for every child, as PID 1 must, until the command has ended,
// and returns the command's wait status. stopped is called each time the
// command stops.
func reap(pid int, stopped func()) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, unix.WUNTRACED, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, fmt.Errorf("waiting for the command: %w", err)
		case wpid == pid && ws.Stopped():
			stopped()
		case wpid == pid:
			return ws, nil
		}
	}
}

// setupNetwork gives the sandbox's network namespace its shape.
func setupNetwork(n scope.Network) error {
	switch n {
	case scope.NetBlocked, scope.NetUnrestricted:
		return nil // blocked: a new namespace whose lo stays down
	case scope.NetProxy:
		return nil // handOverCapture shapes it
	case scope.NetLocalhost:
		return loopbackUp()
	default:
		return fmt.Errorf("network mode %q is not supported by the sandbox", n)
	}
}

// handOverCapture makes every TCP connection and DNS query of this network
// namespace reach a set of capture sockets (SetupCapture), sends them
// to pent and closes them here: only the proxy holds them, never the
// command. Connections to 127.0.0.1 on loopbackPorts go to the proxy too.
// It returns the port of the in-sandbox proxy listener.
func handOverCapture(ctrl *net.UnixConn, loopbackPorts []int) (int, error) {
	capture, err := SetupCapture(loopbackPorts)
	if err != nil {
		return 0, fmt.Errorf("capturing the sandbox's traffic for the proxy: %w", err)
	}
	defer capture.Close()
	fds := make([]int, 0, 3)
	for _, f := range capture.Files() {
		fds = append(fds, int(f.Fd()))
	}
	_, _, err = ctrl.WriteMsgUnix([]byte{msgNetwork}, unix.UnixRights(fds...), nil)
	if err != nil {
		return 0, fmt.Errorf("handing the capture sockets to pent: %w", err)
	}
	return capture.ProxyPort, nil
}

// handOverObserver installs the trace observer's filter on this thread,
// the one that forks the command, and sends its listener to pent; only pent
// keeps it. The command blocks at its first traced call until pent serves.
func handOverObserver(ctrl *net.UnixConn) error {
	listener, err := installObserver()
	if err != nil {
		return err
	}
	defer unix.Close(listener)
	if err := sendMsg(ctrl, msgTrace, nil, listener); err != nil {
		return fmt.Errorf("handing the trace observer to pent: %w", err)
	}
	return nil
}

// loopbackUp brings up lo (with 127.0.0.1 and ::1) in the current network
// namespace; an ioctl is enough and keeps netlink out of every start-up.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	return nil
}

// fileConn turns an inherited socket descriptor into a close-on-exec conn.
func fileConn(fd uintptr, name string) (*net.UnixConn, error) {
	f := os.NewFile(fd, name)
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("control socket: not a UNIX socket")
	}
	return uc, nil
}

// sendMsg sends one control message, with fd attached when it is >= 0.
func sendMsg(c *net.UnixConn, kind byte, payload []byte, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	_, _, err := c.WriteMsgUnix(append([]byte{kind}, payload...), oob, nil)
	return err
}
