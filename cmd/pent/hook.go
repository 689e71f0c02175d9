package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/shells"
	"github.com/pent-sandbox/pent/trust"
)

// HookOptions are the inputs of `pent hook`.
type HookOptions struct {
	IO    *IOStreams
	Shell string
	// Self is the pent binary the hook calls.
	Self string
}

// NewCmdHook builds `pent hook SHELL`. runF replaces the run function in
// tests.
func NewCmdHook(f *Factory, runF func(*HookOptions) error) *cobra.Command {
	opts := &HookOptions{IO: f.IO, Self: f.Self}
	return &cobra.Command{
		Use:   "hook bash|zsh|fish",
		Short: "Print the shell hook that sandboxes a project's commands on cd",
		Long: `Print the code that makes your shell notice a .pent.toml when you cd into a
project: the commands its wrap list names then run through pent run. A prompt
where neither the directory nor a watched file changed starts no process.`,
		Example: `  eval "$(pent hook bash)"       # in ~/.bashrc
  eval "$(pent hook zsh)"        # in ~/.zshrc
  pent hook fish | source        # in ~/.config/fish/config.fish`,
		ValidArgs: shells.Names(),
		Args:      cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Shell = args[0]
			if runF != nil {
				return runF(opts)
			}
			return hookRun(opts)
		},
	}
}

func hookRun(o *HookOptions) error {
	sh, err := shells.Get(o.Shell)
	if err != nil {
		return usageError{err}
	}
	_, err = fmt.Fprint(o.IO.Out, sh.Hook(o.Self))
	return err
}

// ExportOptions are the inputs of `pent export`.
type ExportOptions struct {
	IO      *IOStreams
	Factory *Factory
	Shell   string
	Fresh   bool
}

// NewCmdExport builds `pent export SHELL`, which the hook calls. runF
// replaces the run function in tests.
func NewCmdExport(f *Factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "export bash|zsh|fish",
		Short: "Print the shell code that brings the shell in line with the directory (used by the hook)",
		Long: `Called by the hook when the directory or a watched file changed: prints the
code that defines or removes the wrapper functions and updates the PENT_*
variables. Prints nothing when nothing changed.`,
		Example:   `  eval "$(pent export bash)"`,
		ValidArgs: shells.Names(),
		Args:      cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Shell = args[0]
			if runF != nil {
				return runF(opts)
			}
			return exportRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Fresh, "fresh", false, "the shell has applied no plan yet (nested or new shell)")
	_ = cmd.Flags().MarkHidden("fresh")
	return cmd
}

func exportRun(o *ExportOptions) error {
	sh, err := shells.Get(o.Shell)
	if err != nil {
		return usageError{err}
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	cwd, err := f.Getwd()
	if err != nil {
		return err
	}
	store, err := f.trust()
	if err != nil {
		return err
	}
	global, err := f.GlobalConfigPath()
	if err != nil {
		return err
	}
	plan, err := hook.Decide(hook.Input{
		Cwd: cwd, Env: f.Env, Fresh: o.Fresh, Trust: store,
		GlobalConfig: global, Home: home, Bin: f.Self,
		LoadWrap: loadWrap,
	})
	if err != nil {
		return err
	}
	for _, m := range plan.Messages {
		o.IO.Notice(m)
	}
	fmt.Fprint(o.IO.Out, sh.Render(plan))
	return nil
}

// loadWrap parses the wrap list of a project file as read once.
func loadWrap(s trust.Snapshot) ([]string, error) {
	p, err := config.Parse(s.Path, s.Content, config.Project)
	if err != nil {
		return nil, err
	}
	return p.Wrap, nil
}
