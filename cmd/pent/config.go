package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/run"
)

// ConfigOptions are the inputs of the `pent config` subcommands.
type ConfigOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Action is the subcommand: show, add, rm, init, edit or path.
	Action string
	Global bool
	Format string
	Names  []string
}

// NewCmdConfig builds `pent config` and its subcommands. runF replaces the
// run function of every subcommand in tests.
func NewCmdConfig(f *Factory, runF func(*ConfigOptions) error) *cobra.Command {
	opts := &ConfigOptions{IO: f.IO, Factory: f}
	run := func(action string) func(*cobra.Command, []string) error {
		return func(_ *cobra.Command, args []string) error {
			opts.Action = action
			if len(args) > 0 {
				opts.Names = args
			}
			if runF != nil {
				return runF(opts)
			}
			return configRun(opts)
		}
	}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and edit pent's configuration",
		Long: `pent reads the global file ($XDG_CONFIG_HOME/pent/pent.toml) for every
run, then the nearest .pent.toml above the working directory once you have
allowed it. Subcommands act on the project file unless --global is given.`,
		Example: `  pent config show
  pent config add --global @claude @gh
  pent config rm @npm
  pent config edit --global`,
		Args: cobra.NoArgs,
	}
	withGlobal := func(c *cobra.Command) *cobra.Command {
		c.Flags().BoolVar(&opts.Global, "global", false, "act on the global file instead of the project's")
		return c
	}
	show := &cobra.Command{
		Use:     "show",
		Short:   "Print the effective configuration (profiles by name)",
		Example: "  pent config show\n  pent config show --format json | jq .profiles",
		Args:    cobra.NoArgs,
		RunE:    run("show"),
	}
	show.Flags().StringVar(&opts.Format, "format", "toml", "output format: toml or json")
	add := withGlobal(&cobra.Command{
		Use:     "add @PROFILE...",
		Short:   "Add profiles to a config file",
		Example: "  pent config add --global @claude @gh\n  pent config add @npm",
		Args:    cobra.MinimumNArgs(1),
		RunE:    run("add"),
	})
	rm := withGlobal(&cobra.Command{
		Use:     "rm @PROFILE...",
		Short:   "Remove profiles from a config file",
		Example: "  pent config rm @npm",
		Args:    cobra.MinimumNArgs(1),
		RunE:    run("rm"),
	})
	initCmd := withGlobal(&cobra.Command{
		Use:     "init",
		Short:   "Write a commented starter config file",
		Example: "  pent config init --global",
		Args:    cobra.NoArgs,
		RunE:    run("init"),
	})
	edit := withGlobal(&cobra.Command{
		Use:     "edit",
		Short:   "Open a config file in $VISUAL or $EDITOR and check it",
		Example: "  pent config edit --global",
		Args:    cobra.NoArgs,
		RunE:    run("edit"),
	})
	path := withGlobal(&cobra.Command{
		Use:     "path",
		Short:   "Print the path of a config file",
		Example: "  pent config path --global",
		Args:    cobra.NoArgs,
		RunE:    run("path"),
	})
	cmd.AddCommand(show, add, rm, initCmd, edit, path)
	return cmd
}

// configRun runs the subcommand o.Action names.
func configRun(o *ConfigOptions) error {
	switch o.Action {
	case "show":
		return configShow(o)
	case "add":
		return configEditProfiles(o, addNames)
	case "rm":
		return configEditProfiles(o, removeNames)
	case "init":
		return configInit(o)
	case "edit":
		return configEdit(o)
	case "path":
		return configPath(o)
	}
	return fmt.Errorf("pent config: no subcommand %q", o.Action)
}

// configPath prints the path of the file the subcommands act on.
func configPath(o *ConfigOptions) error {
	p, _, err := o.target()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.IO.Out, p)
	return err
}

// target is the file a subcommand acts on and its kind.
func (o *ConfigOptions) target() (string, config.Kind, error) {
	if o.Global {
		p, err := o.Factory.GlobalConfigPath()
		return p, config.Global, err
	}
	wd, err := o.Factory.Getwd()
	if err != nil {
		return "", config.Project, err
	}
	if file, _, ok := hook.FindProject(wd); ok {
		return file, config.Project, nil
	}
	return filepath.Join(wd, ".pent.toml"), config.Project, nil
}

func configShow(o *ConfigOptions) error {
	if o.Format != "toml" && o.Format != "json" {
		return usagef("--format %q: use toml or json", o.Format)
	}
	l, err := o.Factory.load(run.LoadRequest{Flags: &config.File{Path: "command line"}})
	if err != nil {
		return err
	}
	out, err := config.Show(l.Effective, o.Format)
	if err != nil {
		return err
	}
	_, err = o.IO.Out.Write(out)
	return err
}

func addNames(have, names []string) []string {
	for _, n := range names {
		if !contains(have, n) {
			have = append(have, n)
		}
	}
	return have
}

func removeNames(have, names []string) []string {
	var kept []string
	for _, h := range have {
		if !contains(names, h) {
			kept = append(kept, h)
		}
	}
	return kept
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// configEditProfiles rewrites the profiles list of the target file, keeping
// every other line, and checks the result before writing it.
func configEditProfiles(o *ConfigOptions, change func(have, names []string) []string) error {
	path, kind, err := o.target()
	if err != nil {
		return err
	}
	data, err := config.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if kind == config.Project {
			return fmt.Errorf("no project file here; create one with `pent init` or use --global")
		}
		data, err = nil, nil
	}
	if err != nil {
		return err
	}
	for i, n := range o.Names {
		if n != "" && n[0] != '@' {
			o.Names[i] = "@" + n
		}
	}
	var have []string
	if len(data) > 0 {
		current, err := config.Parse(path, data, kind)
		if err != nil {
			return err
		}
		have = current.Profiles
	}
	out, err := config.SetProfiles(data, change(have, o.Names))
	if err != nil {
		return err
	}
	if err := o.checkAndWrite(path, kind, out); err != nil {
		return err
	}
	o.IO.Say("updated %s", path)
	if kind == config.Project {
		o.IO.Say("the project file changed: run `pent allow` to trust it again")
	}
	return nil
}

// checkAndWrite validates new content (including profile names against the
// global file's user profiles) and writes it atomically.
func (o *ConfigOptions) checkAndWrite(path string, kind config.Kind, data []byte) error {
	layer, err := config.Parse(path, data, kind)
	if err != nil {
		return err
	}
	home, err := o.Factory.Home()
	if err != nil {
		return err
	}
	layers := []*config.File{layer}
	if kind == config.Project {
		global, err := o.Factory.loadGlobal()
		if err != nil {
			return err
		}
		layers = []*config.File{global, layer}
	}
	dir := filepath.Dir(path)
	if _, err := config.Resolve(layers, config.Expand{Home: home, ProjectRoot: dir, Cwd: dir}); err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o644)
}

func configInit(o *ConfigOptions) error {
	path, kind, err := o.target()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists; edit it with `pent config edit%s`", path, map[bool]string{true: " --global"}[o.Global])
	}
	if err := o.checkAndWrite(path, kind, config.Starter(kind, nil, nil)); err != nil {
		return err
	}
	o.IO.Say("wrote %s", path)
	return nil
}

// configEdit opens the file in the user's editor and refuses to leave a
// broken file unreported.
func configEdit(o *ConfigOptions) error {
	path, kind, err := o.target()
	if err != nil {
		return err
	}
	before, _ := config.ReadFile(path)
	if err := o.Factory.editFile(path); err != nil {
		return err
	}
	after, err := config.ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := config.Parse(path, after, kind); err != nil {
		o.IO.Say("%v", err)
		o.IO.Say("the file is saved as you left it; fix it with `pent config edit`")
		return exitError{exitFailure}
	}
	if kind == config.Project && !bytes.Equal(before, after) {
		o.IO.Say("the project file changed: run `pent allow` to trust it again")
	}
	return nil
}

// editFile runs $VISUAL, $EDITOR or vi on path, attached to the terminal.
func (f *Factory) editFile(path string) error {
	editor := f.Env["VISUAL"]
	if editor == "" {
		editor = f.Env["EDITOR"]
	}
	if editor == "" {
		editor = "vi"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("/bin/sh", "-c", editor+` "$1"`, "editor", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("editor %q: %w", editor, err)
	}
	return nil
}

// writeFileAtomic replaces path with data via a temporary file and rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pent-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
