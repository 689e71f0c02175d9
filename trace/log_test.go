package trace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogPath: a project's log is in its own directory of the state
// directory, never in the project; without a project, in the state
// directory itself.
func TestLogPath(t *testing.T) {
	got := LogPath("/home/u/src/app", "/home/u/.local/state/pent")
	if !strings.HasPrefix(got, "/home/u/.local/state/pent/projects/app-") || filepath.Base(got) != "trace.log" {
		t.Errorf("LogPath of a project = %q", got)
	}
	if got := LogPath("", "/s"); got != "/s/trace.log" {
		t.Errorf("LogPath without a project = %q", got)
	}
}

// TestAdoptLegacyLog: a log an earlier pent kept in the project is moved
// to the end of the state directory's log, and .pent goes if it is empty;
// a link, a special file or a log that does not parse stays where it is.
func TestAdoptLegacyLog(t *testing.T) {
	line := `{"time":"2026-01-02T03:04:05Z","last":"2026-01-02T03:04:05Z","kind":"file","op":"read","target":"~/.npmrc","pid":7,"command":"npm","count":1,"hint":"h"}` + "\n"
	tests := []struct {
		name    string
		setup   func(t *testing.T, root, outside string)
		moved   bool
		err     string
		keepDir bool // .pent stays (not empty, or not pent's)
	}{
		{name: "no .pent", setup: func(*testing.T, string, string) {}},
		{name: "a log", moved: true, setup: func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, ".pent", "trace.log"), line)
		}},
		{name: "a log beside .pent/pent.toml", moved: true, keepDir: true, setup: func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, ".pent", "trace.log"), line)
			write(t, filepath.Join(root, ".pent", "pent.toml"), "")
		}},
		{name: "a linked log", err: "not a regular file", keepDir: true, setup: func(t *testing.T, root, outside string) {
			write(t, filepath.Join(outside, "trace.log"), line)
			mkdir(t, filepath.Join(root, ".pent"))
			symlink(t, filepath.Join(outside, "trace.log"), filepath.Join(root, ".pent", "trace.log"))
		}},
		{name: "a linked .pent", keepDir: true, setup: func(t *testing.T, root, outside string) {
			write(t, filepath.Join(outside, "trace.log"), line)
			symlink(t, outside, filepath.Join(root, ".pent"))
		}},
		{name: "a log that does not parse", err: "line 1", keepDir: true, setup: func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, ".pent", "trace.log"), "not json\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, state, outside := t.TempDir(), t.TempDir(), t.TempDir()
			tt.setup(t, root, outside)
			old, err := AdoptLegacyLog(root, state)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("AdoptLegacyLog: %v, want an error with %q", err, tt.err)
			}
			if (old != "") != tt.moved {
				t.Errorf("AdoptLegacyLog returned %q, moved %v", old, tt.moved)
			}
			data, _ := os.ReadFile(LogPath(root, state))
			if entries, err := Read(strings.NewReader(string(data))); err != nil || tt.moved != (len(entries) == 1) ||
				tt.moved && !entries[0].Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("the state directory's log holds %q (%v)", data, err)
			}
			if _, err := os.Lstat(filepath.Join(root, ".pent")); (err == nil) != tt.keepDir {
				t.Errorf(".pent after the move: %v, want kept %v", err, tt.keepDir)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "trace.log")); tt.setup != nil && len(b) > 0 && string(b) != line {
				t.Errorf("a file outside the project changed: %q", b)
			}
			if _, err := os.Stat(filepath.Join(outside, "trace.log")); strings.Contains(tt.name, "linked") && err != nil {
				t.Errorf("the file behind the link is gone: %v", err)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
