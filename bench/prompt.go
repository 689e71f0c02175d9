package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/creack/pty"
)

const promptSection = "shell hook"

// promptMarker is the whole prompt of every measured shell; the typed input
// never contains it.
const promptMarker = "@@PB@@ "

// shellKind knows how to start one shell with a given hook installed.
type shellKind struct {
	name string
	// start writes the shell's start-up file(s) under dir and returns the
	// command line and extra environment.
	start func(dir, hook string) (argv, env []string, err error)
}

var shellKinds = []shellKind{
	{"bash", func(dir, hook string) ([]string, []string, error) {
		rc := filepath.Join(dir, "bashrc")
		body := "PS1='" + promptMarker + "'\nunset PROMPT_COMMAND\nHISTFILE=/dev/null\n" + hook
		return []string{"bash", "--noprofile", "--rcfile", rc, "-i"}, nil, os.WriteFile(rc, []byte(body), 0o644)
	}},
	{"zsh", func(dir, hook string) ([]string, []string, error) {
		if err := os.WriteFile(filepath.Join(dir, ".zshenv"), []byte("unsetopt global_rcs\n"), 0o644); err != nil {
			return nil, nil, err
		}
		body := "PS1='" + promptMarker + "'\nunsetopt prompt_sp prompt_cr\nHISTFILE=/dev/null\n" + hook
		return []string{"zsh", "-i"}, []string{"ZDOTDIR=" + dir}, os.WriteFile(filepath.Join(dir, ".zshrc"), []byte(body), 0o644)
	}},
	{"fish", func(dir, hook string) ([]string, []string, error) {
		rc := filepath.Join(dir, "config.fish")
		body := "function fish_prompt; printf '%s' '" + promptMarker + "'; end\nfunction fish_title; end\nset -g fish_greeting ''\n" + hook
		return []string{"fish", "--no-config", "-i", "-C", "source " + rc}, nil, os.WriteFile(rc, []byte(body), 0o644)
	}},
}

// hookKinds are the variants compared per shell; "none" is the baseline.
var hookKinds = []string{"none", "pent", "direnv"}

// hookCode returns the hook a shell evaluates at start-up.
func (w *workspace) hookCode(ctx context.Context, hook, shell string) (string, error) {
	switch hook {
	case "none":
		return "", nil
	case "pent":
		return w.output(ctx, w.home, w.pent, "hook", shell)
	default:
		return w.output(ctx, w.home, "direnv", "hook", shell)
	}
}

// shellResult is what one shell with one hook measured.
type shellResult struct {
	noop, cdIn, cdOut                time.Duration // medians per prompt
	noopProcs, cdInProcs, cdOutProcs procCount     // under strace: totals
	noopSteps, cdSteps               int
}

// measurePrompts compares the no-op prompt and the cd into and out of a
// project for every shell with the pent hook, the direnv hook and no hook.
func measurePrompts(ctx context.Context, w *workspace, it iters, rep *report) {
	for _, sh := range shellKinds {
		w.measureShellKind(ctx, sh, it, rep)
	}
	rep.notef("Shell prompts are driven through a pty (bash --norc, zsh with only its .zshrc, fish --no-config; a constant prompt string); a step is writing the line and reading until the next prompt after its newline. Processes are counted with `strace -f -e %s` attached to the interactive shell, thread clones ignored.", straceFilter)
}

// measureShellKind measures one shell with each hook, the hooked shells
// running side by side.
func (w *workspace) measureShellKind(ctx context.Context, sh shellKind, it iters, rep *report) {
	var shells []*hookedShell
	for _, hook := range hookKinds {
		s, err := w.openShell(ctx, sh, hook)
		if err != nil {
			rep.unavailable(promptSection, fmt.Sprintf("%s with the %s hook", sh.name, hook), "", err)
			continue
		}
		defer s.close()
		shells = append(shells, s)
	}
	res := map[string]shellResult{}
	for hook, r := range w.measureShells(ctx, shells, it) {
		if r.err != nil {
			rep.unavailable(promptSection, fmt.Sprintf("%s with the %s hook", sh.name, hook), "", r.err)
			continue
		}
		res[hook] = r.shellResult
	}
	addShellRows(rep, sh.name, res)
}

func addShellRows(rep *report, shell string, res map[string]shellResult) {
	p, okP := res["pent"]
	d, okD := res["direnv"]
	n, okN := res["none"]
	if !okP {
		return
	}
	val := fmt.Sprintf("pent %s, %s per prompt", ms(p.noop), procs(p.noopProcs, p.noopSteps))
	rw := row{section: promptSection, metric: "no-op prompt, " + shell, target: "pent starts no process",
		met: metIf(p.noopProcs.Forks == 0 && len(p.noopProcs.Execs) == 0)}
	if okD {
		val += fmt.Sprintf(" · direnv %s, %s", ms(d.noop), procs(d.noopProcs, d.noopSteps))
		rw.ratio = ratio(float64(p.noop), float64(d.noop)) + " direnv"
	}
	if okN {
		val += fmt.Sprintf(" · no hook %s, %s", ms(n.noop), procs(n.noopProcs, n.noopSteps))
	}
	rw.value = val
	rep.add(rw)
	for _, dir := range []struct {
		name   string
		pd, dd time.Duration
		pc, dc procCount
	}{{"into", p.cdIn, d.cdIn, p.cdInProcs, d.cdInProcs}, {"out of", p.cdOut, d.cdOut, p.cdOutProcs, d.cdOutProcs}} {
		rw := row{section: promptSection, metric: fmt.Sprintf("`cd` %s a project, %s", dir.name, shell),
			target: "≤ 1 pent process, no slower than direnv"}
		rw.value = fmt.Sprintf("pent %s, %s per cd", ms(dir.pd), procs(dir.pc, p.cdSteps))
		okProcs := dir.pc.Forks <= p.cdSteps && len(dir.pc.Execs) <= p.cdSteps
		if okD {
			rw.value += fmt.Sprintf(" · direnv %s, %s", ms(dir.dd), procs(dir.dc, d.cdSteps))
			rw.ratio = ratio(float64(dir.pd), float64(dir.dd)) + " direnv"
			rw.met = metIf(okProcs && dir.pd <= dir.dd)
		} else {
			rw.met = metNA
		}
		rep.add(rw)
	}
}

// procs formats a per-step process count: "0 processes" or
// "1.00 processes (pent)".
func procs(c procCount, steps int) string {
	if steps == 0 {
		return "?"
	}
	s := fmt.Sprintf("%.2g process(es)", float64(c.Forks)/float64(steps))
	if len(c.Execs) > 0 {
		names := slices.Compact(slices.Sorted(slices.Values(c.Execs)))
		s += fmt.Sprintf(" (%.2g exec: %s)", float64(len(c.Execs))/float64(steps), strings.Join(names, ", "))
	}
	return s
}

// hookedShell is one interactive shell with one hook, warmed up in the
// project.
type hookedShell struct {
	*shellSession
	hook string
	dir  string // its start-up files and strace logs
}

// openShell starts an interactive shell with hook in the project and warms
// it up.
func (w *workspace) openShell(ctx context.Context, sh shellKind, hook string) (*hookedShell, error) {
	code, err := w.hookCode(ctx, hook, sh.name)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(w.dir, sh.name+"-"+hook+"-")
	if err != nil {
		return nil, fmt.Errorf("shell directory: %w", err)
	}
	argv, extra, err := sh.start(dir, code)
	if err != nil {
		return nil, fmt.Errorf("writing %s start-up file: %w", sh.name, err)
	}
	s, err := startShell(ctx, argv, filepath.Dir(w.proj), w.env(extra...))
	if err != nil {
		return nil, err
	}
	for _, in := range []string{w.cdIn(), "\n", "\n", "\n", "\n", "\n"} {
		if _, err := s.step(in); err != nil {
			s.close()
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	return &hookedShell{shellSession: s, hook: hook, dir: dir}, nil
}

func (w *workspace) cdIn() string  { return "cd " + w.proj + "\n" }
func (w *workspace) cdOut() string { return "cd " + filepath.Dir(w.proj) + "\n" }

// shellOutcome is what one hooked shell measured, or why it could not.
type shellOutcome struct {
	shellResult
	err error
}

// measureShells times the no-op prompt and the cds of every shell, the
// shells taking turns step by step so that a slow spell of the machine hits
// them alike, then counts each one's processes under strace. A shell that
// fails drops out; the others go on.
func (w *workspace) measureShells(ctx context.Context, shells []*hookedShell, it iters) map[string]shellOutcome {
	out := map[string]shellOutcome{}
	noops, ins, outs := map[string][]time.Duration{}, map[string][]time.Duration{}, map[string][]time.Duration{}
	step := func(s *hookedShell, input string, into map[string][]time.Duration) {
		if out[s.hook].err != nil {
			return
		}
		d, err := s.step(input)
		if err != nil {
			out[s.hook] = shellOutcome{err: err}
			return
		}
		into[s.hook] = append(into[s.hook], d)
	}
	for range it.prompts {
		for _, s := range shells {
			step(s, "\n", noops)
		}
	}
	for range it.cds {
		for _, s := range shells {
			step(s, w.cdOut(), outs)
			step(s, w.cdIn(), ins)
		}
	}
	for _, s := range shells {
		if out[s.hook].err != nil {
			continue
		}
		res, err := w.countProcesses(ctx, s, it)
		res.noop, res.cdIn, res.cdOut = median(noops[s.hook]), median(ins[s.hook]), median(outs[s.hook])
		out[s.hook] = shellOutcome{shellResult: res, err: err}
	}
	return out
}

// countProcesses counts the processes a no-op prompt and a cd start, under
// strace.
func (w *workspace) countProcesses(ctx context.Context, s *hookedShell, it iters) (shellResult, error) {
	var res shellResult
	var err error
	in, out := w.cdIn(), w.cdOut()
	if res.noopProcs, err = s.traced(ctx, filepath.Join(s.dir, "noop.strace"), it.stracePrompts, []string{"\n"}); err != nil {
		return res, err
	}
	res.noopSteps, res.cdSteps = it.stracePrompts, it.stracePrompts
	if res.cdInProcs, err = s.traced(ctx, filepath.Join(s.dir, "cd-in.strace"), it.stracePrompts, []string{out, in}); err != nil {
		return res, err
	}
	if res.cdOutProcs, err = s.traced(ctx, filepath.Join(s.dir, "cd-out.strace"), it.stracePrompts, []string{in, out}); err != nil {
		return res, err
	}
	return res, nil
}

// shellSession is an interactive shell on a pty.
type shellSession struct {
	cmd  *exec.Cmd
	pty  *os.File
	out  chan []byte
	buf  []byte
	done chan struct{}
}

func startShell(ctx context.Context, argv []string, dir string, env []string) (*shellSession, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		return nil, fmt.Errorf("starting %s on a pty: %w", argv[0], err)
	}
	s := &shellSession{cmd: cmd, pty: f, out: make(chan []byte, 1024), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			b := make([]byte, 4096)
			n, err := f.Read(b)
			if n > 0 {
				s.out <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	if err := s.wait(20*time.Second, false); err != nil {
		s.close()
		return nil, fmt.Errorf("%s: no first prompt: %w", argv[0], err)
	}
	return s, nil
}

// step writes input and returns the time until the next prompt. Output
// left from before (a repainted prompt) is discarded first.
func (s *shellSession) step(input string) (time.Duration, error) {
	s.drain()
	start := time.Now()
	if _, err := s.pty.Write([]byte(input)); err != nil {
		return 0, fmt.Errorf("writing to the shell: %w", err)
	}
	if err := s.wait(10*time.Second, true); err != nil {
		return 0, fmt.Errorf("after %q: %w", input, err)
	}
	return time.Since(start), nil
}

func (s *shellSession) drain() {
	for {
		select {
		case <-s.out:
		default:
			s.buf = s.buf[:0]
			return
		}
	}
}

// wait reads until the prompt marker; after a line was entered
// (afterNewline), only a marker after the line's newline counts, since some
// shells (fish) redraw the prompt while echoing the input.
func (s *shellSession) wait(timeout time.Duration, afterNewline bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		if afterNewline {
			if i := bytes.IndexByte(s.buf, '\n'); i >= 0 {
				s.buf = append(s.buf[:0], s.buf[i+1:]...)
				afterNewline = false
			}
		}
		if i := bytes.Index(s.buf, []byte(promptMarker)); !afterNewline && i >= 0 {
			s.buf = append(s.buf[:0], s.buf[i+len(promptMarker):]...)
			return nil
		}
		select {
		case b := <-s.out:
			s.buf = append(s.buf, b...)
		case <-s.done:
			return errors.New("the shell exited: " + tail(s.buf))
		case <-timer.C:
			return fmt.Errorf("no prompt within %s; output: %s", timeout, tail(s.buf))
		}
	}
}

// traced runs n rounds of inputs and sums what strace saw during the last
// input of each round (it is attached for that step only).
func (s *shellSession) traced(ctx context.Context, log string, n int, inputs []string) (procCount, error) {
	var sum procCount
	for range n {
		for _, in := range inputs[:len(inputs)-1] {
			if _, err := s.step(in); err != nil {
				return sum, err
			}
		}
		t, err := attachStrace(ctx, s.cmd.Process.Pid, log)
		if err != nil {
			return sum, err
		}
		_, err = s.step(inputs[len(inputs)-1])
		c, derr := t.detach()
		if err != nil {
			return sum, err
		}
		if derr != nil {
			return sum, derr
		}
		sum.Forks += c.Forks
		sum.Threads += c.Threads
		sum.Execs = append(sum.Execs, c.Execs...)
	}
	return sum, nil
}

func (s *shellSession) close() {
	_, _ = s.pty.Write([]byte("exit\n"))
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(2 * time.Second):
		_ = s.cmd.Process.Kill()
		<-exited
	}
	s.pty.Close()
}

func tail(b []byte) string {
	const n = 300
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return fmt.Sprintf("%q", b)
}

// median of ds (ds is reordered).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}
