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
