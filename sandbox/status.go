package sandbox

import (
	"os"
	"syscall"
)

// Stdio are the standard streams of the sandboxed command; a nil field
// means /dev/null.
type Stdio struct{ Stdin, Stdout, Stderr *os.File }

// Status is how the sandboxed command ended.
type Status struct {
	// Code is the exit code, or 128+Signal when a signal killed the command.
	Code int
	// Signal is the signal that killed the command, or 0 when it exited.
	Signal syscall.Signal
}

// Check is one line of `pent doctor`: a host feature, whether it works, and
// the exact fix when it does not.
type Check struct {
	// Name is what was checked.
	Name string
	// Detail is what was found.
	Detail string
	// Fix is what to do when the check failed; empty when OK.
	Fix string
	// OK is true when the feature works.
	OK bool
	// Required is true when pent run refuses to start without it.
	Required bool
}

// Exit statuses a shell gives a command it cannot run.
const (
	ExitNotFound      = 127 // no such command, or not visible where it runs
	ExitNotExecutable = 126 // found, but it cannot be executed
)

// NotRunnable is a command that never started: not found on PATH, or
// refused by execve inside the sandbox. Code is the status a shell gives
// it (ExitNotFound, ExitNotExecutable); the error reads "NAME: reason".
type NotRunnable struct {
	// Name is the command as the user typed it, or the path pent ran.
	Name string
	// Reason says why it did not run and, when useful, what to do.
	Reason string
	// Code is the exit status pent ends with.
	Code int
}

func (e *NotRunnable) Error() string { return e.Name + ": " + e.Reason }

// notFound is the error of a name no PATH directory holds.
func notFound(name string) *NotRunnable {
	return &NotRunnable{Name: name, Reason: "command not found", Code: ExitNotFound}
}

// ExecFailure explains why execve of path failed with errno, as
// NotRunnable (see execFailure).
func ExecFailure(path string, errno syscall.Errno) *NotRunnable {
	return execFailure(path, errno, os.Stat)
}

// execFailure explains why execve of path failed with errno in the
// sandbox, comparing with what the host sees at path (stat): a file that is
// there and executable on the host but ENOENT inside is hidden by the
// policy, or its #! interpreter is.
func execFailure(path string, errno syscall.Errno, stat func(string) (os.FileInfo, error)) *NotRunnable {
	fi, err := stat(path)
	hostRunnable := err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
	switch {
	case errno == syscall.ENOENT && hostRunnable:
		return &NotRunnable{Name: path, Code: ExitNotFound,
			Reason: "found on the host but not visible inside the sandbox (it, or the interpreter its #! line names, is hidden); allow it with --execute DIR"}
	case errno == syscall.ENOENT:
		return &NotRunnable{Name: path, Reason: "no such file or directory", Code: ExitNotFound}
	case err == nil && fi.IsDir():
		return &NotRunnable{Name: path, Reason: "is a directory", Code: ExitNotExecutable}
	case errno == syscall.EACCES && err == nil && !hostRunnable:
		return &NotRunnable{Name: path, Reason: "permission denied (not executable: chmod +x it)", Code: ExitNotExecutable}
	case errno == syscall.EACCES:
		return &NotRunnable{Name: path, Code: ExitNotExecutable,
			Reason: "permission denied inside the sandbox (it, or the interpreter its #! line names, is not executable there); allow it with --execute DIR"}
	}
	return &NotRunnable{Name: path, Reason: "cannot execute: " + errno.Error(), Code: ExitNotExecutable}
}
