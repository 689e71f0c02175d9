//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// assertOwnLines fails unless every message pent printed on stderr is a
// whole line of its own: "pent: " only at the start of a line, and a final
// newline. A message without its newline glues the next one to it.
func assertOwnLines(t *testing.T, res result) {
	t.Helper()
	if res.stderr != "" && !strings.HasSuffix(res.stderr, "\n") {
		t.Errorf("stderr does not end with a newline:\n%s", res)
	}
	for _, line := range strings.Split(res.stderr, "\n") {
		if i := strings.Index(line, "pent: "); i > 0 {
			t.Errorf("a pent message runs on after other text: %q\n%s", line, res)
		}
	}
}

// TestMessages_CreatedNotDenied: a protected name the command creates (the
// guard moves it to the quarantine after) was created, not denied: the
// trace records only the real denial beside it, and every message pent
// prints is a line of its own.
func TestMessages_CreatedNotDenied(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.allow()
		denied := "/etc/pent-e2e-msg-" + r.mode
		res := r.sandboxSh("echo made > .envrc && echo CREATED; touch "+denied+" || true", "--trace")
		res.wantCode(t, 0)
		assertOwnLines(t, res)
		if !hasExactLine(res.stdout, "CREATED") || !strings.Contains(res.stderr, "created ~/src/app/.envrc, which pent protects") {
			t.Errorf("want .envrc created and quarantined with a warning:\n%s", res)
		}
		if !strings.Contains(res.stderr, "pent: trace: 1 denial(s) recorded") {
			t.Errorf("want one denial (the file in /etc), not the created .envrc:\n%s", res)
		}
		for _, e := range traceEntries(t, r) {
			if strings.HasSuffix(e.Target, ".envrc") {
				t.Errorf("the trace reports the created .envrc as denied: %v", e)
			}
		}
		if _, err := os.Lstat(filepath.Join(r.project, ".envrc")); err == nil {
			t.Errorf(".envrc is still in the project")
		}
	})
}

// TestMessages_FreshLineOnTerminal: when the command's output ends without
// a newline, pent's next message on the terminal still starts a line of
// its own instead of running on after the output.
func TestMessages_FreshLineOnTerminal(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		const cols = 80
		cmd := r.command(t.Context(), r.project, pentBin, "run", "--trace", "--", "sh", "-c", "printf 'no newline'")
		p := r.startOnPty(cmd, &pty.Winsize{Rows: 24, Cols: cols})
		p.expect("pent: trace: nothing was denied", 30*time.Second)
		p.wait(30 * time.Second)
		out := p.output()
		end, msg := strings.Index(out, "no newline"), strings.Index(out, "pent: trace:")
		if end < 0 || msg < end {
			t.Fatalf("the terminal showed:\n%q", out)
		}
		endLine, _ := cursorAt(out[:end+len("no newline")], cols)
		msgLine, msgCol := cursorAt(out[:msg], cols)
		if msgCol != 0 || msgLine <= endLine {
			t.Errorf("pent's message starts at column %d of line %d, after the output ending on line %d:\n%q", msgCol, msgLine, endLine, out)
		}
	})
}

// cursorAt is where a terminal cols wide that auto-wraps (with the pending
// wrap of xterm and its kin) leaves the cursor after out: line and column,
// from 0. Escape sequences move nothing here (colour only).
func cursorAt(out string, cols int) (line, col int) {
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case c == '\x1b':
			for i++; i < len(out) && (out[i] < '@' || out[i] > '~' || out[i] == '['); i++ {
			}
		case c == '\r':
			col = 0
		case c == '\n':
			line++
		case c >= ' ' && c&0xc0 != 0x80: // one cell per character, not per byte
			if col == cols {
				line, col = line+1, 0
			}
			col++
		}
	}
	return line, col
}
