package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/quarantine"
	"github.com/pent-sandbox/pent/run"
)

// quarantineStore is $XDG_STATE_HOME/pent/quarantine.
func (f *Factory) quarantineStore() (quarantine.Store, error) {
	dir, err := f.StateDir()
	if err != nil {
		return quarantine.Store{}, err
	}
	return quarantine.Store{Dir: filepath.Join(dir, "quarantine")}, nil
}

// recoverGuards finishes the guard of runs whose pent was killed
// (run.RecoverGuards).
func recoverGuards(f *Factory) {
	store, err := f.quarantineStore()
	if err != nil {
		return
	}
	home, _ := f.Home()
	if err := run.RecoverGuards(store, home, f.IO); err != nil {
		f.IO.Warn("recovering after a killed run: %v", err)
	}
}

// QuarantineOptions are the inputs of `pent quarantine`.
type QuarantineOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Action is the subcommand: list, restore or drop.
	Action string
	// ID names the entry to restore or drop.
	ID  string
	All bool
	Yes bool
}

// NewCmdQuarantine builds `pent quarantine list|restore|drop`. runF
// replaces the run function of every subcommand in tests.
func NewCmdQuarantine(f *Factory, runF func(*QuarantineOptions) error) *cobra.Command {
	o := &QuarantineOptions{IO: f.IO, Factory: f}
	run := func(action string) func(*cobra.Command, []string) error {
		return func(_ *cobra.Command, args []string) error {
			o.Action = action
			if len(args) == 1 {
				o.ID = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return quarantineRun(o)
		}
	}
	cmd := &cobra.Command{
		Use:   "quarantine list|restore|drop",
		Short: "Review what a sandboxed command created where pent protects the project",
		Long: `A sandboxed command may not create the project entries that configure pent,
git, an editor or an agent (.pent.toml, .envrc, .claude/, .vscode/, .mcp.json,
.git/commondir, .git/hooks/...): whatever it creates there is moved at once
into pent's state directory ($XDG_STATE_HOME/pent/quarantine), content kept.

list shows the entries of the current project (--all: of every project);
restore puts one back where it was, after you have reviewed it (never over an
existing file); drop deletes it for good.`,
		Example: `  pent quarantine list
  cat ~/.local/state/pent/quarantine/*/20261202T031500.000000000-1/entry
  pent quarantine restore 20261202T031500.000000000-1
  pent quarantine drop --yes 20261202T031500.000000000-1`,
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List quarantined entries",
		Example: "  pent quarantine list --all",
		Args:    cobra.NoArgs,
		RunE:    run("list"),
	}
	list.Flags().BoolVar(&o.All, "all", false, "list the entries of every project")
	restore := &cobra.Command{
		Use:     "restore ID",
		Short:   "Put a quarantined entry back where it was",
		Example: "  pent quarantine restore 20261202T031500.000000000-1",
		Args:    cobra.ExactArgs(1),
		RunE:    run("restore"),
	}
	drop := &cobra.Command{
		Use:     "drop ID",
		Short:   "Delete a quarantined entry for good",
		Example: "  pent quarantine drop --yes 20261202T031500.000000000-1",
		Args:    cobra.ExactArgs(1),
		RunE:    run("drop"),
	}
	drop.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask")
	cmd.AddCommand(list, restore, drop)
	return cmd
}

// quarantineRun runs the subcommand o.Action names.
func quarantineRun(o *QuarantineOptions) error {
	switch o.Action {
	case "list":
		return o.list()
	case "restore":
		return o.restore(o.ID)
	case "drop":
		return o.drop(o.ID)
	}
	return fmt.Errorf("pent quarantine: no subcommand %q", o.Action)
}

func (o *QuarantineOptions) list() error {
	store, err := o.Factory.quarantineStore()
	if err != nil {
		return err
	}
	root := ""
	if !o.All {
		if root, err = o.projectRoot(); err != nil {
			return err
		}
	}
	entries, err := store.List(root)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		if o.All {
			o.IO.Say("nothing is quarantined")
		} else {
			o.IO.Say("nothing is quarantined for this project; --all lists every project's entries")
		}
		return nil
	}
	home, _ := o.Factory.Home()
	tw := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tPATH")
	for _, e := range entries {
		path := config.Escape(tilde(e.Path, home))
		if e.Path == "" {
			path = "(origin unknown, content in " + config.Escape(e.Content()) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.ID, e.Time.Local().Format("2006-01-02 15:04:05"), path)
	}
	return tw.Flush()
}

// projectRoot is the project of the working directory, or the directory
// itself without a project (the root a plain run guards).
func (o *QuarantineOptions) projectRoot() (string, error) {
	l, err := o.Factory.load(run.LoadRequest{})
	if err != nil {
		return "", err
	}
	if l.ProjectRoot != "" {
		return l.ProjectRoot, nil
	}
	return l.Cwd, nil
}

// find is the quarantined entry id and its store.
func (o *QuarantineOptions) find(id string) (quarantine.Store, quarantine.Entry, error) {
	store, err := o.Factory.quarantineStore()
	if err != nil {
		return quarantine.Store{}, quarantine.Entry{}, err
	}
	e, err := store.Find(id)
	return store, e, err
}

func (o *QuarantineOptions) restore(id string) error {
	store, e, err := o.find(id)
	if err != nil {
		return err
	}
	if err := store.Restore(e); err != nil {
		return err
	}
	home, _ := o.Factory.Home()
	o.IO.Say("restored %s", tilde(e.Path, home))
	return nil
}

func (o *QuarantineOptions) drop(id string) error {
	store, e, err := o.find(id)
	if err != nil {
		return err
	}
	home, _ := o.Factory.Home()
	if !o.Yes {
		if !isTerminal(o.IO.In) {
			return usagef("drop deletes %s for good: pass --yes to confirm when not at a terminal", tilde(e.Path, home))
		}
		if !askYes(o.IO, "pent: delete the quarantined "+tilde(e.Path, home)+" for good?") {
			o.IO.Say("kept %s", e.ID)
			return nil
		}
	}
	if err := store.Drop(e); err != nil {
		return err
	}
	o.IO.Say("dropped %s", tilde(e.Path, home))
	return nil
}
