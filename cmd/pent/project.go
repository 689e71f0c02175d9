package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/termtext"
)

// StatusOptions are the inputs of `pent status`.
type StatusOptions struct {
	IO      *IOStreams
	Factory *Factory
	JSON    bool
}

// NewCmdStatus builds `pent status`. runF replaces the run function in
// tests.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the current project, its trust state and the effective policy",
		Example: `  pent status
  pent status --json | jq .trust`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print machine-readable JSON on stdout")
	return cmd
}

// statusReport is what `pent status --json` prints.
type statusReport struct {
	Project string `json:"project,omitempty"`
	Root    string `json:"root,omitempty"`
	Trust   string `json:"trust"`
	// Hook says whether the calling shell runs the hook (it exported the
	// hook's state).
	Hook bool `json:"hook"`
	// Wrapped are the wrapper functions the calling shell has for this
	// project, as its exported state says; Wrap is what the project's
	// configuration wraps.
	Wrapped []string `json:"wrapped"`
	Wrap    []string `json:"wrap"`
	Network string   `json:"network"`
	Grants  []string `json:"grants"`
	Proxy   string   `json:"proxy"`
}

func statusRun(o *StatusOptions) error {
	f := o.Factory
	l, err := f.load(run.LoadRequest{Flags: &config.File{Path: "command line"}})
	if err != nil {
		return err
	}
	r := statusReport{Trust: "no project", Network: string(l.Effective.Network), Grants: config.Grants(nil, l.Effective, f.hostExecuted(l.Home, l.ProjectRoot)),
		Hook: f.Env[hook.VarStamp] != "", Wrapped: []string{}, Wrap: l.Effective.Wrap, Proxy: proxyState(f, l)}
	if l.ProjectFile != "" {
		r.Project, r.Root, r.Trust = l.ProjectFile, l.ProjectRoot, l.Trust.String()
	}
	if r.Hook && r.Project != "" && f.Env[hook.VarProject] == r.Project {
		for _, n := range strings.Fields(f.Env[hook.VarWrapped]) {
			if hook.ValidName(n) {
				r.Wrapped = append(r.Wrapped, n)
			}
		}
	}
	if r.Wrap == nil {
		r.Wrap = []string{}
	}
	if o.JSON {
		out, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the status as JSON: %w", err)
		}
		_, err = o.IO.Out.Write(append(termtext.JSON(out), '\n'))
		return err
	}
	line := o.IO.Line
	if r.Project == "" {
		line("project:  none (the working directory is writable in the sandbox)")
	} else {
		line("project:  %s (%s)", tilde(r.Project, l.Home), r.Trust)
	}
	for _, sk := range l.Skipped {
		line("ignored:  %s (%s; it has no effect until you allow it)", tilde(sk.File, l.Home), sk.Status())
	}
	switch {
	case !r.Hook:
		line("hook:     not active in this shell (no PENT_* state): no command is wrapped; `pent doctor` checks your shell's rc file")
	case len(r.Wrapped) > 0:
		line("hook:     active in this shell")
		line("wrapped:  %s", strings.Join(r.Wrapped, ", "))
	default:
		line("hook:     active in this shell; it wraps no command here")
	}
	line("network:  %s (set by %s)", r.Network, l.Effective.NetworkSource)
	line("proxy:    %s", r.Proxy)
	if len(r.Grants) > 0 {
		line("grants:")
		for _, g := range r.Grants {
			line("  %s", g)
		}
	}
	return nil
}

// EditOptions are the inputs of `pent edit`.
type EditOptions struct {
	IO      *IOStreams
	Factory *Factory
}

// NewCmdEdit builds `pent edit`. runF replaces the run function in tests.
func NewCmdEdit(f *Factory, runF func(*EditOptions) error) *cobra.Command {
	opts := &EditOptions{IO: f.IO, Factory: f}
	return &cobra.Command{
		Use:   "edit",
		Short: "Edit the project's .pent.toml, then review and allow it again",
		Long: `Open the nearest .pent.toml in $VISUAL or $EDITOR. When you changed it, pent
checks it, shows what it grants and records your trust in the new content.`,
		Example: "  pent edit",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return editRun(opts)
		},
	}
}

func editRun(o *EditOptions) error {
	f := o.Factory
	allow := &TrustOptions{IO: o.IO, Factory: f}
	file, err := allow.projectFile()
	if err != nil {
		return err
	}
	before, err := config.ReadFile(file)
	if err != nil {
		return err
	}
	if err := f.editFile(file); err != nil {
		return err
	}
	after, err := config.ReadFile(file)
	if err != nil {
		return err
	}
	if bytes.Equal(before, after) {
		o.IO.Say("%s unchanged", file)
		return nil
	}
	if _, err := config.Parse(file, after, config.Project); err != nil {
		o.IO.Say("%v", err)
		o.IO.Say("the file is saved as you left it and is not allowed; fix it with `pent edit`")
		return exitError{exitFailure}
	}
	allow.Path = file
	return allowRun(allow)
}

// PruneOptions are the inputs of `pent prune`.
type PruneOptions struct {
	IO      *IOStreams
	Factory *Factory
}

// NewCmdPrune builds `pent prune`. runF replaces the run function in tests.
func NewCmdPrune(f *Factory, runF func(*PruneOptions) error) *cobra.Command {
	opts := &PruneOptions{IO: f.IO, Factory: f}
	return &cobra.Command{
		Use:     "prune",
		Short:   "Drop trust records of project files that are gone or changed, naming each",
		Example: "  pent prune",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return pruneRun(opts)
		},
	}
}

func pruneRun(o *PruneOptions) error {
	store, err := o.Factory.trust()
	if err != nil {
		return err
	}
	removed, err := store.Prune()
	if err != nil {
		return err
	}
	stamps, err := hook.PruneStamps(store, time.Now(), 7*24*time.Hour)
	if err != nil {
		return err
	}
	home, _ := o.Factory.Home()
	for _, r := range removed {
		o.IO.Say("dropped the trust record of %s", tilde(r, home))
	}
	o.IO.Say("pruned %d trust record(s) and %d stale hook stamp(s)", len(removed), len(stamps))
	return nil
}

// InitOptions are the inputs of `pent init`.
type InitOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Profiles are the profiles the starter file lists, as typed.
	Profiles []string
}

// NewCmdInit builds `pent init`. runF replaces the run function in tests.
func NewCmdInit(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IO, Factory: f}
	return &cobra.Command{
		Use:   "init [@PROFILE...]",
		Short: "Write a commented starter .pent.toml in the working directory",
		Long: `Write a starter .pent.toml with the given profiles and a wrap list of the
commands they are for. Review it, then run pent allow to activate it.`,
		Example: `  pent init @npm
  pent init @cargo @gh`,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Profiles = args
			if runF != nil {
				return runF(opts)
			}
			return initRun(opts)
		},
	}
}

func initRun(o *InitOptions) error {
	wd, err := o.Factory.Getwd()
	if err != nil {
		return err
	}
	path := filepath.Join(wd, ".pent.toml")
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists; change it with `pent edit`", path)
	}
	names := o.Profiles
	var wrap []string
	for i, n := range names {
		p, ok := profiles.Lookup(n)
		if !ok {
			return usagef("no profile %q; `pent profiles` lists them", n)
		}
		names[i] = p.Name
		wrap = append(wrap, p.Commands...)
	}
	starter := &ConfigOptions{IO: o.IO, Factory: o.Factory}
	if err := starter.checkAndWrite(path, config.Project, config.Starter(config.Project, names, wrap)); err != nil {
		return err
	}
	o.IO.Say("wrote %s; review it, then run `pent allow` to activate it", path)
	return nil
}
