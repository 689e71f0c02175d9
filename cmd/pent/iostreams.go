package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// IOStreams owns pent's standard streams and the decisions that depend on
// them: whether stderr is a terminal and whether to use colour.
type IOStreams struct {
	In     *os.File
	Out    io.Writer
	ErrOut io.Writer
	// Color is true when stderr is a terminal and NO_COLOR is unset.
	Color bool
}

// SystemIO returns the process's streams; colour only on a TTY and never
// with NO_COLOR.
func SystemIO(env map[string]string) *IOStreams {
	_, noColor := env["NO_COLOR"]
	return &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		Color:  !noColor && isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

// Say prints one human message on stderr, prefixed "pent: ".
func (s *IOStreams) Say(format string, args ...any) {
	fmt.Fprintf(s.ErrOut, "pent: "+format+"\n", args...)
}

// Warn is Say with a highlighted "warning:" when colour is on.
func (s *IOStreams) Warn(format string, args ...any) {
	prefix := "warning: "
	if s.Color {
		prefix = "\x1b[33mwarning:\x1b[0m "
	}
	s.Say(prefix+format, args...)
}
