package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/pent-sandbox/pent/trust"
)

// allowState is the trust state of the project file in dir.
func allowState(t *testing.T, f *Factory, file string) trust.State {
	t.Helper()
	store, err := f.trust()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := trust.ReadProject(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Check(snap)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAllowReview: pent allow escapes control characters from the file,
// refuses without a terminal unless --yes, asks [y/N] on a terminal and
// trusts nothing until "y", and on a re-allow shows what changed first.
func TestAllowReview(t *testing.T) {
	project := t.TempDir()
	file := filepath.Join(project, ".pent.toml")
	// An env value that would erase the line above and return the cursor.
	mustWrite(t, file, "[sandbox]\nenv = [\"EVIL=\\u001b[1A\\u001b[2K\\rnothing to see\"]\n")

	t.Run("no terminal, no --yes", func(t *testing.T) {
		f, _, errOut := testFactory(t, project)
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer devnull.Close()
		f.IO.In = devnull
		if code := Execute(f, []string{"allow"}); code == 0 {
			t.Fatalf("pent allow without a terminal or --yes succeeded:\n%s", errOut)
		}
		if !strings.Contains(errOut.String(), "--yes") {
			t.Errorf("the refusal does not name --yes:\n%s", errOut)
		}
		if strings.ContainsRune(errOut.String(), 0x1b) || strings.ContainsRune(errOut.String(), '\r') {
			t.Errorf("control characters from the file reached the terminal: %q", errOut)
		}
		if !strings.Contains(errOut.String(), `env: EVIL=\x1b[1A\x1b[2K\rnothing to see`) {
			t.Errorf("the env grant is not shown escaped:\n%s", errOut)
		}
		if s := allowState(t, f, file); s != trust.Unknown {
			t.Errorf("trusted without an answer: %v", s)
		}
	})

	t.Run("terminal", func(t *testing.T) {
		f, _, errOut := testFactory(t, project)
		for _, tc := range []struct {
			answer string
			want   trust.State
		}{{"\n", trust.Unknown}, {"n\n", trust.Unknown}, {"y\n", trust.Allowed}} {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			f.IO.In = tty
			if _, err := ptmx.WriteString(tc.answer); err != nil {
				t.Fatal(err)
			}
			errOut.Reset()
			code := Execute(f, []string{"allow"})
			ptmx.Close()
			tty.Close()
			if !strings.Contains(errOut.String(), "Trust "+file+"? [y/N] ") {
				t.Errorf("answer %q: no question:\n%s", tc.answer, errOut)
			}
			if s := allowState(t, f, file); s != tc.want || (code == 0) != (tc.want == trust.Allowed) {
				t.Errorf("answer %q: exit %d, state %v; want %v", tc.answer, code, s, tc.want)
			}
		}

		// Re-allow: the change since the trusted version comes first.
		mustWrite(t, file, "[sandbox.paths]\nread = [\"~/.ssh\"]\n")
		errOut.Reset()
		if code := Execute(f, []string{"allow", "--yes"}); code != 0 {
			t.Fatalf("allow --yes: exit %d\n%s", code, errOut)
		}
		home := f.Env["HOME"]
		out := errOut.String()
		changed := strings.Index(out, "changed since you allowed it:")
		widens := strings.Index(out, "+ read: "+filepath.Join(home, ".ssh")+"   (widens)")
		narrows := strings.Index(out, `- env: EVIL=\x1b[1A\x1b[2K\rnothing to see`)
		grants := strings.Index(out, "grants, beyond your global policy:")
		if changed < 0 || widens < changed || narrows < changed || grants < widens || grants < narrows {
			t.Errorf("re-allow does not show the change (widening marked) before the grants:\n%s", out)
		}
	})
}

// TestAllowFoldsProfiles: a profile's grants are one counted line unless
// --verbose; the project's own grants and a network change always show.
func TestAllowFoldsProfiles(t *testing.T) {
	project := t.TempDir()
	mustWrite(t, filepath.Join(project, ".pent.toml"), "profiles = [\"@npm\"]\n[sandbox.paths]\nread = [\"~/extra\"]\n")
	f, _, errOut := testFactory(t, project)
	home := f.Env["HOME"]
	if code := Execute(f, []string{"allow", "--yes"}); code != 0 {
		t.Fatalf("allow: exit %d\n%s", code, errOut)
	}
	out := errOut.String()
	for _, want := range []string{"network: proxy (instead of blocked)", "read: " + filepath.Join(home, "extra"), "domain"} {
		if !strings.Contains(out, want) {
			t.Errorf("compact summary lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^  profile: @npm \(\d+ domain, .*--verbose lists them\)$`).MatchString(out) || strings.Contains(out, "domain: registry.npmjs.org") {
		t.Errorf("the profile's grants are not folded into one line:\n%s", out)
	}
	errOut.Reset()
	if code := Execute(f, []string{"allow", "--yes", "--verbose"}); code != 0 {
		t.Fatalf("allow --verbose: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut.String(), "domain: registry.npmjs.org") {
		t.Errorf("--verbose does not list the profile's domains:\n%s", errOut)
	}
}

// TestStatusNestedUntrusted: in a subdirectory with an untrusted project file
// below an allowed project, status shows the allowed project in force and
// the nested file as ignored; outside a hooked shell it lists no wrappers.
func TestStatusNestedUntrusted(t *testing.T) {
	project := t.TempDir()
	mustWrite(t, filepath.Join(project, ".pent.toml"), "wrap = [\"npm\"]\n")
	mustWrite(t, filepath.Join(project, "sub", ".pent.toml"), "wrap = []\n")
	f, out, errOut := testFactory(t, project)
	if code := Execute(f, []string{"allow", "--yes"}); code != 0 {
		t.Fatalf("allow: exit %d\n%s", code, errOut)
	}
	f.Getwd = func() (string, error) { return filepath.Join(project, "sub"), nil }
	if code := Execute(f, []string{"status"}); code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"project:  " + filepath.Join(project, ".pent.toml") + " (allowed)",
		"ignored:  " + filepath.Join(project, "sub", ".pent.toml") + " (unknown;",
		"hook:     not active in this shell",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "wrapped:") {
		t.Errorf("status lists wrappers a shell without the hook does not have:\n%s", out)
	}
	out.Reset()
	f.Env["PENT_STAMP"], f.Env["PENT_PROJECT"], f.Env["PENT_WRAPPED"] = "s-0123456789abcdef", filepath.Join(project, ".pent.toml"), "npm"
	if code := Execute(f, []string{"status"}); code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out.String(), "hook:     active in this shell\nwrapped:  npm\n") {
		t.Errorf("status in a hooked shell does not list its wrappers:\n%s", out)
	}
}
