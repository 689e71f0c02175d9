package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntimeDirFallback: without XDG_RUNTIME_DIR the runtime directory is a
// random-named private directory recorded in the state directory, so that
// another user who creates the predictable name first cannot block pent; a
// recorded directory that is no longer private is replaced, never used.
func TestRuntimeDirFallback(t *testing.T) {
	f, _, _ := testFactory(t, "")
	tmp := t.TempDir()
	f.Env["TMPDIR"] = tmp
	// Another user takes the name a predictable scheme would use.
	squatted := filepath.Join(tmp, fmt.Sprintf("pent-%d", os.Getuid()))
	if err := os.Mkdir(squatted, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(squatted, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := f.RuntimeDir()
	if err != nil {
		t.Fatalf("RuntimeDir with a squatted predictable name: %v", err)
	}
	if dir == squatted || filepath.Dir(dir) != tmp || !strings.HasPrefix(filepath.Base(dir), fmt.Sprintf("pent-%d-", os.Getuid())) {
		t.Fatalf("RuntimeDir = %s", dir)
	}
	if err := checkPrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	if again, err := f.RuntimeDir(); err != nil || again != dir {
		t.Fatalf("second call: %s %v, want the recorded %s", again, err, dir)
	}
	// The recorded directory was opened up (or replaced by someone else's):
	// a new one is made and recorded.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.RuntimeDir()
	if err != nil || fresh == dir || checkPrivateDir(fresh) != nil {
		t.Fatalf("after the recorded directory became 0755: %s %v", fresh, err)
	}
	xdg := t.TempDir()
	if err := os.Chmod(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	f.Env["XDG_RUNTIME_DIR"] = xdg
	if d, err := f.RuntimeDir(); err != nil || d != xdg {
		t.Fatalf("with XDG_RUNTIME_DIR: %s %v", d, err)
	}
}

// TestRuntimeDirFromEnvChecked: an $XDG_RUNTIME_DIR that others can enter,
// that another user owns, or that is missing is refused with one line, not
// used (its owner could swap the daemon's socket under pent).
func TestRuntimeDirFromEnvChecked(t *testing.T) {
	f, _, _ := testFactory(t, "")
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := []string{open, filepath.Join(t.TempDir(), "missing")}
	if os.Getuid() == 0 {
		theirs := t.TempDir()
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, theirs)
	}
	for _, d := range bad {
		f.Env["XDG_RUNTIME_DIR"] = d
		got, err := f.RuntimeDir()
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
			t.Errorf("XDG_RUNTIME_DIR=%s: got %q, %v; want a one-line refusal naming XDG_RUNTIME_DIR", d, got, err)
		}
	}
}

// TestStateDirsChecked: a state or data directory that others can write is
// refused with one line; a missing one is fine (it is created 0700).
func TestStateDirsChecked(t *testing.T) {
	f, _, _ := testFactory(t, "")
	state := filepath.Join(t.TempDir(), "state")
	f.Env["XDG_STATE_HOME"], f.Env["XDG_DATA_HOME"] = state, state
	if _, err := f.StateDir(); err != nil {
		t.Fatalf("missing state directory: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(state, "pent"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DataDir(); err != nil {
		t.Fatalf("private state directory: %v", err)
	}
	if err := os.Chmod(filepath.Join(state, "pent"), 0o777); err != nil {
		t.Fatal(err)
	}
	for name, get := range map[string]func() (string, error){"StateDir": f.StateDir, "DataDir": f.DataDir} {
		if _, err := get(); err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "must be a directory owned by you") {
			t.Errorf("%s of a world-writable directory: %v", name, err)
		}
	}
}
