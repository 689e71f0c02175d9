package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// straceFilter is what the process count traces.
const straceFilter = "trace=execve,clone,clone3,fork,vfork"

// procCount is what an strace -f log says about process creation.
type procCount struct {
	Forks   int      // new processes: clone/clone3/fork/vfork without CLONE_THREAD
	Threads int      // new threads (ignored by the targets)
	Execs   []string // programs successfully executed, in order
}

// parseStrace counts process creation in the output of
// `strace -f -e trace=execve,clone,clone3,fork,vfork -o FILE` (each line
// starts with the pid). A failed execve (a PATH search miss) is not counted;
// an execve split over <unfinished ...> and "resumed" lines is.
func parseStrace(r io.Reader) (procCount, error) {
	var c procCount
	pending := map[string]string{} // pid -> program of an unfinished execve
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pid, call, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		call = strings.TrimSpace(call)
		switch {
		case hasCall(call, "clone", "clone3", "fork", "vfork"):
			if strings.Contains(call, "CLONE_THREAD") {
				c.Threads++
			} else {
				c.Forks++
			}
		case hasCall(call, "execve"):
			prog := firstQuoted(call)
			if strings.HasSuffix(call, "<unfinished ...>") {
				pending[pid] = prog
			} else if succeeded(call) {
				c.Execs = append(c.Execs, prog)
			}
		case strings.HasPrefix(call, "<... execve resumed>"):
			if prog, ok := pending[pid]; ok && succeeded(call) {
				c.Execs = append(c.Execs, prog)
			}
			delete(pending, pid)
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("reading strace log: %w", err)
	}
	return c, nil
}

// hasCall says whether line is a call of one of names.
func hasCall(line string, names ...string) bool {
	for _, n := range names {
		if strings.HasPrefix(line, n+"(") {
			return true
		}
	}
	return false
}

// succeeded says whether a syscall line ends with a zero result.
func succeeded(line string) bool {
	i := strings.LastIndex(line, ")")
	if i < 0 {
		return false
	}
	res, ok := strings.CutPrefix(strings.TrimSpace(line[i+1:]), "=")
	return ok && strings.TrimSpace(res) == "0"
}

// firstQuoted is the base name of the first "…" string of line.
func firstQuoted(line string) string {
	_, rest, ok := strings.Cut(line, `"`)
	if !ok {
		return "?"
	}
	s, _, _ := strings.Cut(rest, `"`)
	return filepath.Base(s)
}

// tracer is an strace attached to a running process.
type tracer struct {
	cmd *exec.Cmd
	log string
}

// attachStrace attaches strace -f to pid and returns once the kernel shows
// the process traced.
func attachStrace(ctx context.Context, pid int, log string) (*tracer, error) {
	cmd := exec.CommandContext(ctx, "strace", "-f", "-qq", "-e", straceFilter, "-o", log, "-p", strconv.Itoa(pid))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting strace: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if tracerPid(pid) == cmd.Process.Pid {
			return &tracer{cmd: cmd, log: log}, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("strace did not attach to pid %d within 5s", pid)
}

// tracerPid is the TracerPid of /proc/pid/status, 0 when untraced or unknown.
func tracerPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// detach stops strace and returns what it saw.
func (t *tracer) detach() (procCount, error) {
	_ = t.cmd.Process.Signal(syscall.SIGINT)
	_ = t.cmd.Wait()
	f, err := os.Open(t.log)
	if err != nil {
		return procCount{}, fmt.Errorf("strace log: %w", err)
	}
	defer f.Close()
	return parseStrace(f)
}
