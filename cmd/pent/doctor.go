package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/sandbox"
)

// DoctorOptions are the inputs of `pent doctor`.
type DoctorOptions struct {
	IO     *IOStreams
	Checks func() []sandbox.Check
}

// NewCmdDoctor builds `pent doctor` (alias `check`).
func NewCmdDoctor(f *Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IO, Checks: sandbox.HostChecks}
	return &cobra.Command{
		Use:     "doctor",
		Aliases: []string{"check"},
		Short:   "Check what this host supports and how to fix what is missing",
		Long: `Check each kernel feature pent relies on (Landlock, unprivileged user
namespaces, overlayfs in a user namespace, seccomp) by trying it, and print the
exact fix for anything missing. Exits 1 when something pent needs is missing.`,
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
