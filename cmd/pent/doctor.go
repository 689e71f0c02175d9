package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/sandbox"
)

// DoctorOptions are the inputs of `pent doctor`.
type DoctorOptions struct {
	IO     *IOStreams
	Checks func() []sandbox.Check
}

// NewCmdDoctor builds `pent doctor` (alias `check`).
func NewCmdDoctor(f *Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IO, Checks: func() []sandbox.Check {
		home, _ := f.Home()
		return append(sandbox.HostChecks(), shellHookCheck(f.Env, home))
	}}
	return &cobra.Command{
		Use:     "doctor",
		Aliases: []string{"check"},
		Short:   "Check what this host supports and how to fix what is missing",
		Long: `Check each kernel feature pent relies on (Landlock, unprivileged user
namespaces, overlayfs in a user namespace, seccomp) by trying it, and whether
the rc file of your shell ($SHELL) installs the shell hook, and print the
exact fix for anything missing. Exits 1 when something pent run needs is
missing.`,
		Example: "  pent doctor",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(opts)
		},
	}
}

func doctorRun(o *DoctorOptions) error {
	missing := 0
	for _, c := range o.Checks() {
		mark := "ok  "
		switch {
		case !c.OK && c.Required:
			mark = "FAIL"
			missing++
		case !c.OK:
			mark = "warn"
		}
		if o.IO.Color {
			mark = map[string]string{"ok  ": "\x1b[32mok\x1b[0m  ", "FAIL": "\x1b[31mFAIL\x1b[0m", "warn": "\x1b[33mwarn\x1b[0m"}[mark]
		}
		fmt.Fprintf(o.IO.Out, "%s  %-34s %s\n", mark, c.Name, c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(o.IO.Out, "      fix: %s\n", c.Fix)
		}
	}
	if missing > 0 {
		o.IO.Say("%d required feature(s) missing: pent run will refuse to start until they are fixed", missing)
		return exitError{exitFailure}
	}
	return nil
}

// shellHookRC lists, per supported shell, the rc files (relative to home, or
// to $ZDOTDIR for zsh) that may install the hook, and the line to add.
var shellHookRC = map[string]struct {
	files []string
	line  string
}{
	"bash": {[]string{".bashrc"}, `eval "$(pent hook bash)"`},
	"zsh":  {[]string{".zshrc"}, `eval "$(pent hook zsh)"`},
	"fish": {[]string{".config/fish/config.fish", ".config/fish/conf.d/*.fish"}, `pent hook fish | source`},
}

// shellHookCheck looks for an uncommented hook line (`pent hook SHELL`, the
// binary possibly quoted or given as a path) in the rc files of the user's
// shell, $SHELL.
func shellHookCheck(env map[string]string, home string) sandbox.Check {
	sh := filepath.Base(env["SHELL"])
	c := sandbox.Check{Name: "shell hook"}
	rc, ok := shellHookRC[sh]
	if !ok || home == "" {
		c.Detail = fmt.Sprintf("$SHELL is %q, not bash, zsh or fish: no hook to check", config.Escape(env["SHELL"]))
		return c
	}
	c.Name = "shell hook (" + sh + ")"
	dir := home
	if z := env["ZDOTDIR"]; sh == "zsh" && filepath.IsAbs(z) {
		dir = z
	}
	line := regexp.MustCompile(`^[^#]*pent['"]?\s+hook\s+` + sh + `\b`)
	var looked []string
	for _, pattern := range rc.files {
		looked = append(looked, tilde(filepath.Join(dir, pattern), home))
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, file := range files {
			data, err := config.ReadLinkedFile(file)
			if err != nil {
				continue
			}
			for _, l := range strings.Split(string(data), "\n") {
				if line.MatchString(l) {
					c.OK, c.Detail = true, "installed in "+config.Escape(tilde(file, home))
					return c
				}
			}
		}
	}
	c.Detail = "no `pent hook " + sh + "` line in " + config.Escape(strings.Join(looked, " or "))
	c.Fix = fmt.Sprintf("add %s to %s, then open a new shell", rc.line, config.Escape(looked[0]))
	return c
}
