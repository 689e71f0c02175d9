//go:build linux || darwin

package sandbox

import (
	"os"
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
