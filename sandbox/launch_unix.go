//go:build linux || darwin

package sandbox

import (
	"os"
	"os/signal"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// alwaysForwarded reach the command however pent got them.
var alwaysForwarded = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

// terminalSignals are forwarded only when pent is not in the terminal's
// foreground process group: when it is, the command (in the same group)
// already got them from the terminal, and forwarding would double them.
var terminalSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH}

// forwardedSignals are the signals pent catches while a command runs.
func forwardedSignals() []os.Signal {
	return append(slices.Clone(alwaysForwarded), terminalSignals...)
}

// caught receives the forwarded signals pent catches while it runs a
// command.
type caught struct {
	C     chan os.Signal
	ready chan struct{} // closed once signal.Notify returned
}

// catchSignals starts catching the forwarded signals and returns at once:
// os/signal enables each signal with a round trip to the runtime's signal
// thread, so Notify runs while the sandbox is being built instead of before
// it. A signal that arrives before the command runs waits in C.
func catchSignals() *caught {
	c := &caught{C: make(chan os.Signal, 16), ready: make(chan struct{})}
	go func() {
		signal.Notify(c.C, forwardedSignals()...)
		close(c.ready)
	}()
	return c
}

// stop stops catching, in the background for the same reason: C gets no
// more signals once Notify has returned and Stop has run. Nothing reads C
// after stop.
func (c *caught) stop() {
	go func() {
		<-c.ready
		signal.Stop(c.C)
	}()
}

// shouldForward says whether pent passes s on to the command.
func shouldForward(s syscall.Signal) bool {
	return !slices.Contains(terminalSignals, os.Signal(s)) || !foreground()
}

// statusOf converts a wait status.
func statusOf(ws syscall.WaitStatus) Status {
	if ws.Signaled() {
		return Status{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return Status{Code: ws.ExitStatus()}
}

// foreground reports whether this process is in the foreground process
// group of its controlling terminal (false without one).
func foreground() bool {
	tty, err := os.OpenFile("/dev/tty", os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
