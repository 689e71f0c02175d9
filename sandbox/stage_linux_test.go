package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSandboxStageSurvivesSignals sends the init stage every signal but
// SIGKILL and SIGSTOP while the command runs, from outside the sandbox (the
// command itself may not signal its init): the stage must survive each one
// — it catches only fatalSignals — and report the command's own exit status.
func TestSandboxStageSurvivesSignals(t *testing.T) {
	f := newFixture(t)
	p := f.policy
	ready, release := filepath.Join(f.proj, "ready"), filepath.Join(f.proj, "release")
	p.Command = []string{"/bin/sh", "-c", "touch ready; while [ ! -e release ]; do sleep 0.02; done; exit 7"}
	result := filepath.Join(f.base, "result.json")
	cmd := startLaunchHelper(t, p, result, ready)
	stages := childrenOf(t, cmd.Process.Pid)
	if len(stages) != 1 {
		t.Fatalf("want the one init stage as the child of the Launch process, found %v", stages)
	}
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
			continue
		}
		if err := syscall.Kill(stages[0], sig); err != nil {
			t.Fatalf("sending %v to the stage: %v", sig, err)
		}
	}
	// Release the command only once the stage has taken every signal: kill
	// either dropped one (an init ignores a default disposition) or left it
	// pending until a thread of the stage dequeues it.
	for deadline := time.Now().Add(20 * time.Second); signalsPending(t, stages[0]); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stage left signals pending for 20 s")
		}
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the Launch process: %v", err)
	}
	if got, b := readLaunchResult(t, result); got.Code != 7 || got.Signal != 0 || got.Err != "<nil>" {
		t.Errorf("the stage did not survive the signals and report exit status 7: %s", b)
	}
}

// childrenOf lists the processes whose parent is ppid.
func childrenOf(t *testing.T, ppid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		fields := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if len(fields) < 2 || string(fields[1]) != strconv.Itoa(ppid) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// signalsPending reports whether a thread of process pid has a signal
// pending, its own or the process's; false once pid is gone.
func signalsPending(t *testing.T, pid int) bool {
	t.Helper()
	for _, th := range threadStatus(t, pid) {
		for _, key := range []string{"SigPnd", "ShdPnd"} {
			if strings.Trim(th[key], "0") != "" {
				return true
			}
		}
	}
	return false
}

// ended reports whether process pid is gone or a zombie.
func ended(t *testing.T, pid int) bool {
	t.Helper()
	for _, th := range threadStatus(t, pid) {
		if !strings.HasPrefix(th["State"], "Z") {
			return false
		}
	}
	return true
}

// threadStatus reads /proc/PID/task/TID/status of every thread of pid into
// a map of its "Key:\tvalue" lines, with wchan (what a sleeping thread
// waits in) added; none once pid is gone.
func threadStatus(t *testing.T, pid int) []map[string]string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(task, "status"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		th := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if key, value, ok := strings.Cut(line, ":"); ok {
				th[key] = strings.TrimSpace(value)
			}
		}
		if wchan, err := os.ReadFile(filepath.Join(task, "wchan")); err == nil {
			th["wchan"] = string(wchan)
		}
		out = append(out, th)
	}
	return out
}
