package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/quarantine"
	"github.com/pent-sandbox/pent/sandbox"
)

// quarantineStore is $XDG_STATE_HOME/pent/quarantine.
func (f *Factory) quarantineStore() (quarantine.Store, error) {
	dir, err := f.StateDir()
	if err != nil {
		return quarantine.Store{}, err
	}
	return quarantine.Store{Dir: filepath.Join(dir, "quarantine")}, nil
}

// guardRun keeps a run's guard: the record for the next pent if this one is
// killed, the host-side watch, and the entries it moved.
type guardRun struct {
	mover
	record *quarantine.Run
	watch  *sandbox.GuardWatch
}

// startGuard records g and starts watching it; call finish after the run.
func startGuard(store quarantine.Store, g sandbox.Guard) (*guardRun, error) {
	data, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("recording the protected entries: %w", err)
	}
	r := &guardRun{mover: mover{store: store}}
	if r.record, err = store.BeginRun(data); err != nil {
		return nil, err
	}
	if r.watch, err = sandbox.WatchGuard(g, r.move); err != nil {
		_ = r.record.End()
		return nil, err
	}
	return r, nil
}

// mover quarantines the entries a guard finds and keeps what it did.
type mover struct {
	store quarantine.Store

	mu    sync.Mutex
	moved []quarantine.Entry
}

// move quarantines one entry; one already renamed in place is left so.
func (m *mover) move(root, path string) error {
	if quarantine.IsKept(path) {
		return nil
	}
	e, err := m.store.Put(root, path)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.moved = append(m.moved, e)
	m.mu.Unlock()
	return nil
}

// report names each moved entry and how to get it back, and fails (one
// line, exit status 1) when something could not be moved: err, the
// guard's error, or an entry left in place under another name.
func (m *mover) report(io *IOStreams, home string, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inPlace := 0
	for _, e := range m.moved {
		if e.Kept != "" {
			inPlace++
			io.Warn("the sandboxed command created %s, which pent protects: pent could not move it to the quarantine and renamed it in place to %s; review it, then `pent quarantine restore %s` or `drop %s`",
				tilde(e.Path, home), tilde(e.Kept, home), e.ID, e.ID)
			continue
		}
		io.Warn("the sandboxed command created %s, which pent protects: moved it to the quarantine as %s; review it with `pent quarantine list`, then `pent quarantine restore %s` or `drop %s`",
			tilde(e.Path, home), e.ID, e.ID, e.ID)
	}
	switch {
	case err != nil:
		io.Say("%v: it may still be where the sandboxed command put it; check the project's protected entries (.git, .envrc, .claude…) before using it outside the sandbox", err)
	case inPlace > 0:
		io.Say("%d protected entries could not be moved to the quarantine and were renamed in place; the run counts as failed", inPlace)
	default:
		return nil
	}
	return exitError{exitFailure}
}

// finish stops the watch (a last sweep included), removes the record and
// says what was moved aside; it fails when something could not be.
func (r *guardRun) finish(io *IOStreams, home string) error {
	err := r.watch.Stop()
	for _, p := range r.watch.Replaced() {
		io.Say("the sandboxed command tried to replace %s (it created %s.lock), which pent keeps read-only in the sandbox; make that change outside the sandbox, e.g. run `git config` there",
			tilde(p, home), filepath.Base(p))
	}
	if rerr := r.record.End(); rerr != nil {
		io.Warn("%v", rerr)
	}
	return r.report(io, home, err)
}

// recoverGuards finishes the guard of runs whose pent was killed: what
// appeared in their guarded directories since they started is quarantined.
func recoverGuards(f *Factory) {
	store, err := f.quarantineStore()
	if err != nil {
		return
	}
	home, _ := f.Home()
	err = store.Abandoned(func(data []byte) error {
		var g sandbox.Guard
		if err := json.Unmarshal(data, &g); err != nil {
			return fmt.Errorf("reading the record of a killed run: %w", err)
		}
		if err := g.Check(home); err != nil {
			return fmt.Errorf("the record of a killed run: %w", err)
		}
		m := &mover{store: store}
		_ = m.report(f.IO, home, g.FinalSweep(m.move))
		return nil
	})
	if err != nil {
		f.IO.Warn("recovering after a killed run: %v", err)
	}
}

// QuarantineOptions are the inputs of `pent quarantine`.
type QuarantineOptions struct {
	IO      *IOStreams
	Factory *Factory
	All     bool
	Yes     bool
}

// NewCmdQuarantine builds `pent quarantine list|restore|drop`.
func NewCmdQuarantine(f *Factory) *cobra.Command {
	o := &QuarantineOptions{IO: f.IO, Factory: f}
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
		RunE:    func(*cobra.Command, []string) error { return o.list() },
	}
	list.Flags().BoolVar(&o.All, "all", false, "list the entries of every project")
	restore := &cobra.Command{
		Use:     "restore ID",
		Short:   "Put a quarantined entry back where it was",
		Example: "  pent quarantine restore 20261202T031500.000000000-1",
		Args:    cobra.ExactArgs(1),
		RunE:    func(_ *cobra.Command, args []string) error { return o.restore(args[0]) },
	}
	drop := &cobra.Command{
		Use:     "drop ID",
		Short:   "Delete a quarantined entry for good",
		Example: "  pent quarantine drop --yes 20261202T031500.000000000-1",
		Args:    cobra.ExactArgs(1),
		RunE:    func(_ *cobra.Command, args []string) error { return o.drop(args[0]) },
	}
	drop.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask")
	cmd.AddCommand(list, restore, drop)
	return cmd
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
	l, err := o.Factory.load(loadRequest{})
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
