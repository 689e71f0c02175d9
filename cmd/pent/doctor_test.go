package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pent-sandbox/pent/sandbox"
)

func TestShellHookCheck(t *testing.T) {
	tests := []struct {
		name, shell, file, content string
		env                        map[string]string
		ok                         bool
		detail                     string
	}{
		{"bash installed", "/bin/bash", ".bashrc", "PS1='$ '\neval \"$(pent hook bash)\"\n", nil, true, "installed in ~/.bashrc"},
		{"bash quoted path", "/bin/bash", ".bashrc", "eval \"$('/opt/pent/bin/pent' hook bash)\"\n", nil, true, "installed in ~/.bashrc"},
		{"bash commented out", "/bin/bash", ".bashrc", "# eval \"$(pent hook bash)\"\n", nil, false, "no `pent hook bash` line in ~/.bashrc"},
		{"bash hook for another shell", "/bin/bash", ".bashrc", "eval \"$(pent hook zsh)\"\n", nil, false, "no `pent hook bash` line"},
		{"bash no rc", "/bin/bash", "", "", nil, false, "no `pent hook bash` line in ~/.bashrc"},
		{"zsh in ZDOTDIR", "/usr/bin/zsh", "zdot/.zshrc", "eval \"$(pent hook zsh)\"\n", map[string]string{"ZDOTDIR": "zdot"}, true, "installed in ~/zdot/.zshrc"},
		{"fish conf.d", "/usr/bin/fish", ".config/fish/conf.d/pent.fish", "pent hook fish | source\n", nil, true, "installed in ~/.config/fish/conf.d/pent.fish"},
		{"fish missing", "/usr/bin/fish", ".config/fish/config.fish", "set -x A b\n", nil, false, "no `pent hook fish` line in ~/.config/fish/config.fish or ~/.config/fish/conf.d/*.fish"},
		{"unsupported shell", "/bin/tcsh", "", "", nil, false, `$SHELL is "/bin/tcsh", not bash, zsh or fish`},
		{"control characters in SHELL", "/bin/\x1b[2Jsh", "", "", nil, false, `\x1b[2Jsh`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			env := map[string]string{"SHELL": tt.shell}
			for k, v := range tt.env {
				env[k] = filepath.Join(home, v)
			}
			if tt.file != "" {
				path := filepath.Join(home, tt.file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := shellHookCheck(env, home)
			if c.OK != tt.ok || !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("check = ok %v, %q; want ok %v and a detail containing %q", c.OK, c.Detail, tt.ok, tt.detail)
			}
			if !c.OK && tt.file != "" && !strings.Contains(c.Fix, "pent hook") {
				t.Errorf("no fix naming the hook line: %q", c.Fix)
			}
		})
	}
}

// TestShellHookCheckSpecialFiles: an rc file that is a named pipe (or
// another file that blocks on open or read) must not stall doctor, and an
// rc file that is a symbolic link to the real one (a dotfiles manager) is
// read through the link.
func TestShellHookCheckSpecialFiles(t *testing.T) {
	home := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(home, ".bashrc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, "dotfiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "dotfiles", "zshrc"), []byte("eval \"$(pent hook zsh)\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dotfiles/zshrc", filepath.Join(home, ".zshrc")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		shell  string
		ok     bool
		detail string
	}{
		{"/bin/bash", false, "no `pent hook bash` line in ~/.bashrc"},
		{"/usr/bin/zsh", true, "installed in ~/.zshrc"},
	} {
		done := make(chan sandbox.Check, 1)
		go func() { done <- shellHookCheck(map[string]string{"SHELL": tt.shell}, home) }()
		select {
		case c := <-done:
			if c.OK != tt.ok || !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("%s: check = ok %v, %q; want ok %v and a detail containing %q", tt.shell, c.OK, c.Detail, tt.ok, tt.detail)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the shell hook check stalled on an rc file that is a named pipe", tt.shell)
		}
	}
}
