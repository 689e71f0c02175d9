package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/sandbox"
)

// TrustOptions are the inputs of `pent allow` and `pent deny`.
type TrustOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Path is a project file or a directory to search upward from.
	Path string
}

// NewCmdAllow builds `pent allow`.
func NewCmdAllow(f *Factory, runF func(*TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "allow [PATH]",
		Short: "Trust a project's .pent.toml after showing what it grants",
		Long: `Show what the project file grants beyond your global policy (paths,
domains, network mode, environment, wrapped commands) and record that you
trust it as it is now. Editing the file later blocks it again until you run
pent allow once more.`,
		Example: `  pent allow                 # the nearest .pent.toml above the working directory
  pent allow ~/src/app`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return allowRun(opts)
		},
	}
	return cmd
}

// NewCmdDeny builds `pent deny`.
func NewCmdDeny(f *Factory, runF func(*TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{IO: f.IO, Factory: f}
	return &cobra.Command{
		Use:     "deny [PATH]",
		Short:   "Block a project's .pent.toml",
		Long:    "Record that the project file must have no effect, whatever its content, until you allow it.",
		Example: "  pent deny\n  pent deny ~/src/app/.pent.toml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return denyRun(opts)
		},
	}
}

// projectFile resolves PATH (a file, a directory, or empty for the working
// directory) to a project file.
func (o *TrustOptions) projectFile() (string, error) {
	start := o.Path
	if start == "" {
		wd, err := o.Factory.Getwd()
		if err != nil {
			return "", err
		}
		start = wd
	}
	start, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(start); err == nil && !fi.IsDir() {
		return start, nil
	}
	file, _, ok := hook.FindProject(start)
	if !ok {
		return "", fmt.Errorf("no .pent.toml in %s or above; create one with `pent init`", start)
	}
	return file, nil
}

func allowRun(o *TrustOptions) error {
	file, err := o.projectFile()
	if err != nil {
		return err
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	project, err := config.Load(file, config.Project)
	if err != nil {
		return err
	}
	global, err := f.loadGlobal()
	if err != nil {
		return err
	}
	root := filepath.Dir(file)
	if filepath.Base(root) == ".pent" {
		root = filepath.Dir(root)
	}
	x := config.Expand{Home: home, ProjectRoot: root, Cwd: root}
	base, err := config.Resolve([]*config.File{global}, x)
	if err != nil {
		return err
	}
	with, err := config.Resolve([]*config.File{global, project}, x)
	if err != nil {
		return err
	}
	grants := config.Grants(base, with, sandbox.HostExecutedLocations(home, filepath.SplitList(f.Env["PATH"]), root))
	o.IO.Say("%s grants, beyond your global policy:", tilde(file, home))
	if len(grants) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "  nothing (the project directory itself is writable)")
	}
	for _, g := range grants {
		fmt.Fprintf(o.IO.ErrOut, "  %s\n", g)
	}
	trust, err := f.trust()
	if err != nil {
		return err
	}
	if err := trust.Allow(file); err != nil {
		return err
	}
	o.IO.Say("allowed %s", tilde(file, home))
	return nil
}

func denyRun(o *TrustOptions) error {
	file, err := o.projectFile()
	if err != nil {
		return err
	}
	trust, err := o.Factory.trust()
	if err != nil {
		return err
	}
	if err := trust.Deny(file); err != nil {
		return err
	}
	home, _ := o.Factory.Home()
	o.IO.Say("denied %s: it has no effect until you run `pent allow`", tilde(file, home))
	return nil
}
