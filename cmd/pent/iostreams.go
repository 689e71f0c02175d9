package main

import (
	"fmt"
	"io"
	"os"

	"github.com/pent-sandbox/pent/config"
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

// Say prints one human message on stderr, prefixed "pent: ". The message is
// escaped here, once (config.Escape): paths, OS errors and config values in
// it are printed with their control characters made visible, so call sites
// pass them raw.
func (s *IOStreams) Say(format string, args ...any) {
	s.sayWith("", format, args...)
}

// Warn is Say with a highlighted "warning:" when colour is on.
func (s *IOStreams) Warn(format string, args ...any) {
	prefix := "warning: "
	if s.Color {
		prefix = "\x1b[33mwarning:\x1b[0m "
	}
	s.sayWith(prefix, format, args...)
}

// Line prints one line of a report on stdout, escaped like Say.
func (s *IOStreams) Line(format string, args ...any) {
	fmt.Fprintln(s.Out, config.Escape(fmt.Sprintf(format, args...)))
}

// Notice prints a message made elsewhere (it starts with "pent: ") on
// stderr, escaped like Say.
func (s *IOStreams) Notice(msg string) {
	fmt.Fprintln(s.ErrOut, config.Escape(msg))
}

// sayWith prints "pent: ", the prefix pent chose (not escaped) and the
// escaped message.
func (s *IOStreams) sayWith(prefix, format string, args ...any) {
	fmt.Fprintf(s.ErrOut, "pent: %s%s\n", prefix, config.Escape(fmt.Sprintf(format, args...)))
}
