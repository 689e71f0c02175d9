package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/keep"
	"github.com/pent-sandbox/pent/scope"
)

// keepStore is $XDG_STATE_HOME/pent/kept.
func (f *Factory) keepStore() (keep.Store, error) {
	dir, err := f.StateDir()
	if err != nil {
		return keep.Store{}, err
	}
	return keepStoreIn(dir), nil
}

// keepStoreIn is the store of pending writes in pent's state directory.
func keepStoreIn(stateDir string) keep.Store {
	return keep.Store{Dir: filepath.Join(stateDir, "kept")}
}

// KeepOptions are the inputs of `pent keep`.
type KeepOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Paths select the pending files (a directory selects all in it); none
	// selects every one.
	Paths []string
	// List only lists them; Clear removes them all; Yes writes without
	// asking.
	List, Clear, Yes bool
}

// NewCmdKeep builds `pent keep`. runF replaces keepRun in tests.
func NewCmdKeep(f *Factory, runF func(*KeepOptions) error) *cobra.Command {
	o := &KeepOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "keep [PATH...]",
		Short: "Copy the writes pent did not let through to their real place",
		Long: `A sandboxed command may write where it is not allowed to when the sandbox
shows that directory through an overlay (~ when a file in it is granted):
the write succeeds inside but does not reach your files. pent keeps such
files for a day in $XDG_STATE_HOME/pent/kept and names them when the run ends.

keep shows what it would write (each file's size and, for a text file that
exists, the lines that change), asks, then copies the selected files (all
when no PATH is given) to their real place. It never writes a location the
host runs or trusts (shell rc files, PATH directories, ~/.npmrc, agent
settings…), a project's protected entries (.git, .envrc, .vscode…) or a
credential location (~/.ssh, ~/.aws…), follows no symbolic link, and never
writes an execute bit. Without a terminal it needs --yes.`,
		Example: `  pent keep --list
  pent keep ~/newfile
  pent keep --yes
  pent keep --clear`,
		RunE: func(_ *cobra.Command, args []string) error {
			o.Paths = args
			if runF != nil {
				return runF(o)
			}
			return keepRun(o)
		},
	}
	cmd.Flags().BoolVar(&o.List, "list", false, "list the pending files and do nothing")
	cmd.Flags().BoolVar(&o.Clear, "clear", false, "remove every pending file")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask")
	cmd.MarkFlagsMutuallyExclusive("list", "clear")
	return cmd
}

// keepRun lists, clears or keeps the pending files o selects.
func keepRun(o *KeepOptions) error {
	store, err := o.Factory.keepStore()
	if err != nil {
		return err
	}
	home, _ := o.Factory.Home()
	if o.Clear {
		if len(o.Paths) > 0 {
			return usagef("--clear removes every pending file; it takes no PATH")
		}
		n, err := store.Clear()
		if err != nil {
			return err
		}
		o.IO.Say("removed %d pending file(s)", n)
		return nil
	}
	layers, err := store.Layers()
	if err != nil {
		return err
	}
	entries, err := o.selected(keep.Latest(layers))
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		o.IO.Say("no write is pending: a write pent did not let through is kept here for a day after its run")
		return nil
	}
	if o.List {
		return listKept(o.IO, entries, home)
	}
	plans, refused := o.plan(store, entries, home)
	if len(plans) == 0 {
		if refused > 0 {
			return exitError{exitFailure}
		}
		return nil
	}
	if !o.Yes {
		if !isTerminal(o.IO.In) {
			return usagef("keep writes %d file(s) to your home and projects: pass --yes to confirm when not at a terminal", len(plans))
		}
		if !askYes(o.IO, fmt.Sprintf("pent: write these %d file(s)?", len(plans))) {
			o.IO.Say("wrote nothing; the files stay pending")
			return nil
		}
	}
	failed := false
	for _, p := range plans {
		if err := store.Keep(p.Entry); err != nil {
			o.IO.Warn("%v", err)
			failed = true
			continue
		}
		o.IO.Say("kept %s", tilde(p.Path, home))
	}
	if failed || refused > 0 {
		return exitError{exitFailure}
	}
	return nil
}

// selected are the entries o.Paths name (all without Paths); a PATH that
// names none is an error.
func (o *KeepOptions) selected(all []keep.Entry) ([]keep.Entry, error) {
	if len(o.Paths) == 0 {
		return all, nil
	}
	cwd, err := o.Factory.Getwd()
	if err != nil {
		return nil, err
	}
	var out []keep.Entry
	for _, arg := range o.Paths {
		path := arg
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		path = filepath.Clean(path)
		n := len(out)
		for _, e := range all {
			if scope.Within(e.Path, path) && !slices.ContainsFunc(out, func(s keep.Entry) bool { return s.Path == e.Path }) {
				out = append(out, e)
			}
		}
		if len(out) == n {
			return nil, usagef("no write is pending at %s; `pent keep --list` shows those that are", arg)
		}
	}
	return out, nil
}

// plan shows what keep will write for each entry and returns the plans of
// those it may write: not refused (keep.Guard), readable, and not
// already on the host. refused counts the others, but for those the host
// already holds.
func (o *KeepOptions) plan(store keep.Store, entries []keep.Entry, home string) (plans []keep.Plan, refused int) {
	guard := keep.NewGuard(home, o.Factory.hostExecuted(home, ""))
	for _, e := range entries {
		path := tilde(e.Path, home)
		if where, why := guard.Refusal(e.Path, e.Layer.Project); where != "" {
			o.IO.Say("not keeping %s: pent never writes %s from a sandbox (%s); read %s and copy what you want yourself", path, tilde(where, home), why, e.Source())
			refused++
			continue
		}
		p, err := store.Preview(e)
		if err != nil {
			o.IO.Say("not keeping %s: %v", path, err)
			refused++
			continue
		}
		switch {
		case p.Same:
			o.IO.Say("%s already holds the pending content", path)
			continue
		case p.Exists:
			o.IO.Line("%s: %d bytes, replacing %d bytes", path, p.Size, p.HostSize)
		default:
			o.IO.Line("%s: %d bytes, new", path, p.Size)
		}
		if p.Diff != "" {
			for _, l := range strings.Split(strings.TrimSuffix(p.Diff, "\n"), "\n") {
				o.IO.Line("    %s", l)
			}
		}
		plans = append(plans, p)
	}
	return plans, refused
}

// listKept prints the pending files: path, size, when the run ended, the
// project of the run.
func listKept(io *IOStreams, entries []keep.Entry, home string) error {
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tSIZE\tTIME\tPROJECT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", config.Escape(tilde(e.Path, home)), e.Size,
			e.Layer.Time.Local().Format("2006-01-02 15:04:05"), config.Escape(tilde(e.Layer.Project, home)))
	}
	return tw.Flush()
}
