//go:build linux

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes_LikeAShell: a command pent cannot run ends pent with the
// status a shell gives it — 127 not found, 126 not executable — and one line
// saying why: plain, with --wrapped, and through the shell hook's wrapper
// functions in a real bash. A command the host has but the sandbox hides (a
// script directly in HOME) is 127 too, and the line says it is hidden
// rather than missing.
func TestExitCodes_LikeAShell(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.writeFile(filepath.Join(r.project, "plain.sh"), "echo ran\n", 0o644)
		hidden := filepath.Join(r.home, "tool.sh")
		r.writeFile(hidden, "#!/bin/sh\necho HIDDEN-RAN\n", 0o755)
		r.writeFile(filepath.Join(r.project, ".pent.toml"), `wrap = ["pent-no-such-command", "plain.sh"]`+"\n"+projectConfig, 0o644)
		r.allow()
		tests := []struct {
			name string
			args []string
			code int
			line string // the exact line, or a part of it when part is set
			part bool
		}{
			{"not found", []string{"run", "--", "pent-no-such-command"}, 127, "pent: pent-no-such-command: command not found", false},
			{"not found, wrapped", []string{"run", "--wrapped", "pent-no-such-command", "--", "pent-no-such-command"}, 127,
				"pent: pent-no-such-command: command not found", false},
			{"not executable", []string{"run", "--", "./plain.sh"}, 126, "plain.sh: permission denied", true},
			{"not executable, wrapped", []string{"run", "--wrapped", "plain.sh", "--", "./plain.sh"}, 126, "plain.sh: permission denied", true},
			{"a directory", []string{"run", "--", "/usr"}, 126, "pent: /usr: is a directory", false},
			{"hidden in the sandbox", []string{"run", "--", hidden}, 127, "not visible inside the sandbox", true},
		}
		for _, tt := range tests {
			checkNotRun(t, tt.name, r.pent(tt.args...), tt.code, tt.line, tt.part)
		}
		for _, tt := range []struct {
			name, line string
			code       int
		}{
			{"pent-no-such-command", "pent: pent-no-such-command: command not found", 127},
			{"plain.sh", "pent: plain.sh: permission denied (it is not executable: chmod +x it)", 126},
		} {
			script := `eval "$(pent export bash 2>/dev/null)" && type ` + tt.name + ` >/dev/null && PATH="$PWD:$PATH" && ` + tt.name
			checkNotRun(t, tt.name+" through the hook's wrapper in bash", r.shellWithPent(r.project, script), tt.code, tt.line, false)
		}
	})
}

// checkNotRun fails unless res ended with code and printed line (exactly,
// or as a part when part is set) as its one line on stderr, and the command
// printed nothing.
func checkNotRun(t *testing.T, name string, res result, code int, line string, part bool) {
	t.Helper()
	if res.code != code {
		t.Errorf("%s: want exit status %d, got:\n%s", name, code, res)
	}
	lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "pent: ") || part && !strings.Contains(lines[0], line) || !part && lines[0] != line {
		t.Errorf("%s: want one line with %q on stderr, got:\n%s", name, line, res)
	}
	if strings.Contains(res.stdout, "ran") || strings.Contains(res.stdout, "HIDDEN-RAN") {
		t.Errorf("%s: the command ran:\n%s", name, res)
	}
}
