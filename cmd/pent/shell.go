package main

import (
	"path/filepath"

	"github.com/spf13/cobra"
)

// NewCmdShell builds `pent shell`: a `pent run` of the user's shell, so it
// takes RunOptions. runF replaces the run function in tests.
func NewCmdShell(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "Start your shell inside the project's sandbox, to contain everything",
		Long: `Start your shell ($SHELL, else /bin/sh) under the same policy as pent run
in this directory: the allowed project's .pent.toml, or the default policy.
Wrapper functions only catch the names they wrap: ` + "`command npm`" + `, /usr/bin/npm
or a Makefile calling a binary bypass them. Inside pent shell every command is
sandboxed. Leave it with exit.`,
		Example: `  pent shell
  pent run --allow registry.npmjs.org -- "$SHELL"   # the same, with flags`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			sh := f.Env["SHELL"]
			if !filepath.IsAbs(sh) {
				sh = "/bin/sh"
			}
			opts.Command = []string{sh}
			if runF != nil {
				return runF(opts)
			}
			return shellRun(opts)
		},
	}
	return cmd
}

func shellRun(o *RunOptions) error {
	o.IO.Say("starting %s in the sandbox; every command in it is sandboxed (leave with exit)", o.Command[0])
	return runRun(o)
}
