//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/statedir"
)

// traceLog is where pent keeps the runner's project's trace log.
func (r *runner) traceLog() string {
	return filepath.Join(statedir.Project(filepath.Join(r.home, ".local", "state", "pent"), r.project), "trace.log")
}

// TestStateDir_OutOfTheProject: a traced run leaves nothing of pent's in
// the project (no .pent/, no warning about a protected path pent created
// itself); the log is in the project's directory of pent's state
// directory, where `pent trace` finds it and the sandbox cannot write,
// even with a grant around it. A log an earlier pent left in the project
// is moved there on first use.
func TestStateDir_OutOfTheProject(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.allow()
		denied := "/etc/pent-e2e-state-" + r.mode
		for i := range 2 { // the second run finds what the first left
			res := r.sandboxSh("touch "+denied+" || true", "--trace")
			res.wantCode(t, 0)
			assertOwnLines(t, res)
			if !strings.Contains(res.stderr, "pent: trace: 1 denial(s) recorded in ~/.local/state/pent/projects/app-") ||
				strings.Contains(res.stderr, "protects") {
				t.Errorf("run %d: want the denial recorded in the state directory and no protected-path warning:\n%s", i+1, res)
			}
		}
		if _, err := os.Lstat(filepath.Join(r.project, ".pent")); err == nil {
			t.Errorf("a traced run created .pent in the project")
		}
		if n := len(traceEntries(t, r)); n != 1 {
			t.Errorf("pent trace show lists %d entries, want the one denial (merged)", n)
		}
		log, err := os.ReadFile(r.traceLog())
		if err != nil {
			t.Fatalf("the trace log is not where pent keeps it: %v", err)
		}

		script := fmt.Sprintf(`for f in %q %q; do echo '{"kind":"file"}' >> "$f" && echo "WROTE $f"; done; true`,
			r.traceLog(), filepath.Join(filepath.Dir(r.traceLog()), "planted"))
		res := r.sandboxSh(script, "--write", filepath.Join(r.home, ".local"))
		if strings.Contains(res.stdout, "WROTE") {
			t.Errorf("the sandbox wrote pent's state directory:\n%s", res)
		}
		r.assertFile(r.traceLog(), string(log))
		r.assertAbsent(filepath.Join(filepath.Dir(r.traceLog()), "planted"))

		// An earlier pent's log in the project: moved on first use.
		if err := os.Remove(r.traceLog()); err != nil {
			t.Fatal(err)
		}
		r.writeFile(filepath.Join(r.project, ".pent", "trace.log"), string(log), 0o644)
		show := r.pent("trace", "show")
		show.wantCode(t, 0)
		if !strings.Contains(show.stderr, "pent: moved the trace log from ~/src/app/.pent/trace.log to ~/.local/state/pent/projects/app-") ||
			!strings.Contains(show.stdout, denied) {
			t.Errorf("pent trace show did not move and show the old log:\n%s", show)
		}
		if _, err := os.Lstat(filepath.Join(r.project, ".pent")); err == nil {
			t.Errorf(".pent is still in the project after the move")
		}
		r.assertFile(r.traceLog(), string(log))
	})
}
