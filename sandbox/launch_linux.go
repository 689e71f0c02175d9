package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/pent-sandbox/pent/scope"
	"golang.org/x/sys/unix"
)

// stageCaps are the capabilities (in the new user namespace) the init stage
// keeps across its exec to build the sandbox; it drops them all before the
// command starts.
// CAP_DAC_OVERRIDE is for overlayfs, which works in its work directory
// (mode 000) with the mounter's credentials.
var stageCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP, unix.CAP_DAC_OVERRIDE}

// errNoAttach refuses a NetProxy policy that has no proxy to attach to: it
// must never run with a more open network.
var errNoAttach = errors.New("proxy mode needs a proxy to attach the sandbox to (LaunchOptions.Attach)")

// Launch runs p.Command in a sandbox built from p and returns how it ended.
// An error means the sandbox could not be built (or broke) and the command
// did not run as asked; there is never a fallback to a weaker sandbox.
// Launch returns only when every process of the sandbox has ended.
func Launch(p Policy, stdio Stdio, opts LaunchOptions) (Status, error) {
	p, err := p.normalized()
	if err != nil {
		return Status{}, err
	}
	if p.Network == scope.NetProxy && opts.Attach == nil {
		return Status{}, errNoAttach
	}
	if LandlockABI() < 1 {
		return Status{}, errNoLandlock
	}
	ids, err := sandboxIDMaps()
	if err != nil {
		return Status{}, err
	}
	if ids.idmapped {
		p.Masked = append(p.Masked, closedAncestors(p)...)
	}
	sigs := catchSignals()
	defer sigs.stop()
	stg, err := prepareStaging(&p, opts, stdio.Stderr)
	if err != nil {
		return Status{}, err
	}
	defer stg.finish()
	policy, err := policyFile(p)
	if err != nil {
		return Status{}, err
	}
	defer policy.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return Status{}, fmt.Errorf("control socket: %w", err)
	}
	child := os.NewFile(uintptr(fds[1]), "pent-control")
	defer child.Close()
	ctrl, err := fileConn(uintptr(fds[0]), "pent-control")
	if err != nil {
		return Status{}, err
	}
	defer ctrl.Close()

	var idmapped []string
	if ids.idmapped {
		if idmapped, err = idmapTargets(p, stg); err != nil {
			return Status{}, err
		}
	}

	// The stage's parent-death signal follows this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stage, err := startStage(p.Network, stdio, []*os.File{child, policy}, stg, opts.Observe != nil, ids)
	if err != nil {
		return Status{}, fmt.Errorf("creating the sandbox namespaces: %w (are unprivileged user namespaces enabled? see `pent doctor`)", err)
	}
	child.Close()
	if ids.idmapped {
		if err := sendIdmapped(ctrl, stage.pid, idmapped); err != nil {
			stage.kill()
			stage.wait()
			return Status{}, err
		}
	}
	return supervise(stage, ctrl, sigs, p, shadowDirsOf(stg), opts)
}

// policyFile is a memfd holding p as JSON, positioned at its start.
func policyFile(p Policy) (*os.File, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the policy: %w", err)
	}
	fd, err := unix.MemfdCreate("pent-policy", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pent-policy")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the policy: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the policy: %w", err)
	}
	return f, nil
}

// stageEnv is the init stage's environment (the command never sees it): one
// P. The stage runs one thing at a time; with one P its runtime starts fewer
// threads, and its signal set-up hands off between fewer of them.
var stageEnv = []string{"GOMAXPROCS=1"}

// stage is the running init stage.
type stage struct {
	pid   int
	pidfd int
}

// startStage starts this binary re-executed as the init stage in new user,
// mount, PID, IPC, UTS and (unless unrestricted) network namespaces, with
// the uid and gid maps of ids. Its descriptors are stdio (/dev/null for
// a nil one), then extra (controlFD, policyFD), then the staging's; traced
// adds the trace observer. It uses syscall.StartProcess, not os/exec:
// os.StartProcess first probes pidfd support by starting a throw-away child,
// a fork every run would pay for.
func startStage(n scope.Network, stdio Stdio, extra []*os.File, stg *staging, traced bool, ids idMaps) (*stage, error) {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if n != scope.NetUnrestricted {
		flags |= unix.CLONE_NEWNET
	}
	env := slices.Clone(stageEnv)
	if traced {
		env = append(env, traceEnv)
	}
	caps := stageCaps
	if ids.idmapped {
		env = append(env, idmapEnv)
		caps = append(slices.Clone(stageCaps), idmapStageCaps...)
	}
	args := []string{"pent-sandbox", stageArg}
	stg.attach(&args, &extra)
	files := []*os.File{stdio.Stdin, stdio.Stdout, stdio.Stderr}
	if slices.Contains(files, nil) {
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("stdio for the sandbox: %w", err)
		}
		defer null.Close()
		for i, f := range files {
			if f == nil {
				files[i] = null
			}
		}
	}
	files = append(files, extra...)
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pidfd := -1
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: fds,
		Sys: &syscall.SysProcAttr{
			Cloneflags:                 flags,
			UidMappings:                ids.uids,
			GidMappings:                ids.gids,
			GidMappingsEnableSetgroups: ids.idmapped,
			AmbientCaps:                caps,
			Pdeathsig:                  syscall.SIGKILL,
			PidFD:                      &pidfd,
		},
	}
	pid, _, err := syscall.StartProcess("/proc/self/exe", args, attr)
	runtime.KeepAlive(files)
	if err != nil {
		return nil, err
	}
	return &stage{pid: pid, pidfd: pidfd}, nil
}

// kill ends the stage, and with it every process of the sandbox.
func (s *stage) kill() { _ = unix.PidfdSendSignal(s.pidfd, unix.SIGKILL, nil, 0) }

// wait reaps the stage and says how it ended.
func (s *stage) wait() string {
	defer unix.Close(s.pidfd)
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(s.pid, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return err.Error()
		case ws.Signaled():
			return "signal: " + ws.Signal().String()
		default:
			return fmt.Sprintf("exit status %d", ws.ExitStatus())
		}
	}
}

// stageMsg is one message from the stage.
type stageMsg struct {
	kind byte
	data []byte
	fds  []int // attached descriptors
}

// supervise follows the stage until it ends: it attaches the sandbox's
// network to the proxy when the capture sockets arrive, forwards signals to
// the command once its pidfd arrives, records the exit status, then kills
// and reaps the stage (and with it the whole PID namespace), and finally
// ends the trace observer and the proxy session.
func supervise(stage *stage, ctrl *net.UnixConn, sigs *caught, p Policy, shadows []shadowDir, opts LaunchOptions) (Status, error) {
	msgs := make(chan stageMsg, 4)
	go readStage(ctrl, msgs)
	pidfd := -1
	var pending []syscall.Signal
	var status *Status
	var stageErr, attachErr, traceErr error
	var notRun *NotRunnable
	var session io.Closer
	var obs *observer
loop:
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				break loop
			}
			switch {
			case m.kind == msgStarted && len(m.fds) == 1 && pidfd < 0:
				pidfd = m.fds[0]
				for _, s := range pending {
					_ = unix.PidfdSendSignal(pidfd, s, nil, 0)
				}
				pending = nil
				continue
			case m.kind == msgTrace && len(m.fds) == 1 && obs == nil && opts.Observe != nil:
				if obs, traceErr = startObserver(m.fds[0], p, shadows, stage.pid, opts.Observe); traceErr != nil {
					break loop // the command waits for the observer and must not run untraced
				}
				continue
			case m.kind == msgNetwork && session == nil:
				if session, attachErr = attach(ctrl, m.fds, opts); attachErr != nil {
					break loop // the command has not started and never will
				}
				continue
			case m.kind == msgStopped && pidfd >= 0:
				stopWithCommand(pidfd)
				continue
			case m.kind == msgExit && len(m.data) == 4:
				s := statusOf(syscall.WaitStatus(binary.LittleEndian.Uint32(m.data)))
				status = &s
				closeFDs(m.fds)
				break loop // the stage's last word: it exits now, and the kill below only hurries it
			case m.kind == msgError:
				stageErr = errors.New(string(m.data))
			case m.kind == msgNotRun && len(m.data) == 4:
				notRun = ExecFailure(p.Command[0], syscall.Errno(binary.LittleEndian.Uint32(m.data)))
			}
			closeFDs(m.fds)
		case s := <-sigs.C:
			sig := s.(syscall.Signal)
			if !shouldForward(sig) {
				continue
			}
			if pidfd < 0 {
				pending = append(pending, sig)
				continue
			}
			_ = unix.PidfdSendSignal(pidfd, sig, nil, 0)
		}
	}
	if pidfd >= 0 {
		unix.Close(pidfd)
	}
	ctrl.Close()
	stage.kill()
	ended := stage.wait()
	if obs != nil {
		obs.stop()
	}
	if session != nil {
		_ = session.Close()
	}
	switch {
	case traceErr != nil:
		return Status{}, traceErr
	case attachErr != nil:
		return Status{}, fmt.Errorf("attaching the sandbox to pent's proxy: %w", attachErr)
	case stageErr != nil:
		return Status{}, fmt.Errorf("building the sandbox: %w", stageErr)
	case notRun != nil:
		return Status{}, notRun
	case status != nil:
		return *status, nil
	default:
		return Status{}, fmt.Errorf("the sandbox's init stage ended without reporting how the command ended (%s)", ended)
	}
}

// stopWithCommand stops pent while the command (pidfd) is stopped, so that
// the shell that runs pent sees its job stop and gives the prompt back, as
// it would for the command alone (a program that stops itself — `kill -TSTP
// $$`, an agent's Ctrl-Z — left the shell waiting for pent). Once pent
// continues (`fg`, `bg`, SIGCONT), so does the command. A command that
// stopped with pent (Ctrl-Z in a terminal stops the whole job) and runs
// again by the time pent reads the message is left alone.
func stopWithCommand(pidfd int) {
	if !stoppedProcess(pidfd) {
		return
	}
	// To this thread, not the process: the stop takes it before the next
	// line, which another thread taking SIGSTOP would not ensure.
	runtime.LockOSThread()
	_ = unix.Tgkill(os.Getpid(), unix.Gettid(), unix.SIGSTOP)
	runtime.UnlockOSThread()
	_ = unix.PidfdSendSignal(pidfd, unix.SIGCONT, nil, 0)
}

// stoppedProcess reports whether the process of pidfd is stopped now.
func stoppedProcess(pidfd int) bool {
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", pidfd))
	if err != nil {
		return false
	}
	var pid int
	for line := range strings.Lines(string(info)) {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE …: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'T'
}

// attach hands the capture sockets of msgNetwork to opts.Attach and, once
// it succeeded, tells the stage to start the command.
func attach(ctrl *net.UnixConn, fds []int, opts LaunchOptions) (io.Closer, error) {
	if len(fds) != 3 || opts.Attach == nil {
		closeFDs(fds)
		return nil, fmt.Errorf("the sandbox sent %d capture sockets, want 3", len(fds))
	}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "pent-capture")
	}
	session, err := opts.Attach(files)
	if err != nil {
		return nil, err
	}
	// A stage that cannot take the go-ahead has ended; what it reported
	// before, or its exit, says why.
	_ = sendMsg(ctrl, msgGo, nil, -1)
	return session, nil
}

// readStage delivers the stage's messages until its end of the socket closes.
func readStage(c *net.UnixConn, out chan<- stageMsg) {
	defer close(out)
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		out <- stageMsg{kind: buf[0], data: append([]byte(nil), buf[1:n]...), fds: receivedFDs(oob[:oobn])}
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// receivedFDs are the descriptors passed in a control message.
func receivedFDs(oob []byte) []int {
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, c := range cmsgs {
		if got, err := unix.ParseUnixRights(&c); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}
