package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

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
	// ErrTerminal is stderr when it is a terminal, else nil.
	ErrTerminal *os.File

	// freshLine is set once a sandboxed command has ended: the next
	// message must start on a line of its own (CommandEnded).
	freshLine atomic.Bool
}

// SystemIO returns the process's streams; colour only on a TTY and never
// with NO_COLOR.
func SystemIO(env map[string]string) *IOStreams {
	_, noColor := env["NO_COLOR"]
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if isTerminal(os.Stderr) {
		s.ErrTerminal = os.Stderr
		s.Color = !noColor
	}
	return s
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
	s.beginMessage()
	fmt.Fprintln(s.ErrOut, config.Escape(msg))
}

// CommandEnded says that a sandboxed command, which shares pent's
// terminal, has ended: pent's next message starts on a line of its own even
// when the command's last line had no newline (a prompt, a progress bar).
func (s *IOStreams) CommandEnded() { s.freshLine.Store(true) }

// sayWith prints "pent: ", the prefix pent chose (not escaped) and the
// escaped message.
func (s *IOStreams) sayWith(prefix, format string, args ...any) {
	s.beginMessage()
	fmt.Fprintf(s.ErrOut, "pent: %s%s\n", prefix, config.Escape(fmt.Sprintf(format, args...)))
}

// beginMessage starts the first message after a command on a line of its
// own (startLine).
func (s *IOStreams) beginMessage() {
	if s.freshLine.Swap(false) {
		s.startLine()
	}
}

// startLine moves a terminal's cursor to the start of a line of its own
// without knowing where it is (zsh's PROMPT_SP): a mark, then spaces that
// fill the rest of a line, then a carriage return. At the start of a line
// the cursor comes back to it and the next message covers the mark; after
// unfinished output the spaces wrap onto a new line, the carriage return
// goes to its start, and the mark shows where the output stopped. Nothing
// is written when stderr is not a terminal.
func (s *IOStreams) startLine() {
	if s.ErrTerminal == nil {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(s.ErrTerminal.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col < 2 {
		return
	}
	mark := "%"
	if s.Color {
		mark = "\x1b[7m%\x1b[0m"
	}
	fmt.Fprint(s.ErrOut, mark+strings.Repeat(" ", int(ws.Col)-1)+"\r")
}
