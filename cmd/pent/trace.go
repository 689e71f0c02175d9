package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/trace"
)

// TraceOptions are the inputs of `pent trace`.
type TraceOptions struct {
	IO      *IOStreams
	Factory *Factory

	// Action is the subcommand: show, clear or suggest.
	Action  string
	Project string
	JSON    bool
	Apply   bool
	// Yes applies the suggestion without asking; without a terminal
	// --apply needs it.
	Yes bool
}

// NewCmdTrace builds `pent trace show|clear|suggest`. runF replaces the run
// function of every subcommand in tests.
func NewCmdTrace(f *Factory, runF func(*TraceOptions) error) *cobra.Command {
	opts := &TraceOptions{IO: f.IO, Factory: f}
	run := func(action string) func(*cobra.Command, []string) error {
		return func(*cobra.Command, []string) error {
			opts.Action = action
			if runF != nil {
				return runF(opts)
			}
			return traceRun(opts)
		}
	}
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Read the denials `pent run --trace` recorded, with fix hints",
		Long: `pent run --trace runs a command under the same policy and records every file
access and every DNS query or connection the policy denied, with the process,
how often, and the config key and value that would allow it. The log is
in pent's state directory, never in the project: $XDG_STATE_HOME/pent/
projects/NAME-HASH/trace.log for a project, $XDG_STATE_HOME/pent/trace.log
without one. A log an earlier pent left in the project (.pent/trace.log) is
moved there on first use.

Existence checks (stat, access, readlink) of a file the sandbox hides are
recorded as probes: git finding no ~/.gitconfig gets a hint naming @git. A
file hidden from the sandbox (ENOENT inside) that exists on the host is
reported as the denial it is. What tracing cannot see: accesses through
descriptors opened earlier or passed in (mmap, read of an open file) and
files the kernel opens itself (a script's interpreter).

Suggestions never name a secret (~/.ssh/id_*, ~/.aws, ~/.gnupg, keyrings,
tokens), a write where the host runs or trusts files, or the home directory,
/home or / wholesale; host-specific paths are generalised or left out, each
with the reason.`,
		Example: `  pent run --trace -- npm test
  pent trace show
  pent trace suggest --apply && pent allow
  pent trace clear`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&opts.Project, "project", "", "the project `DIR` (default: found from the working directory)")
	show := &cobra.Command{
		Use: "show", Short: "List the recorded denials, grouped, with counts and hints", Args: cobra.NoArgs,
		Example: "  pent trace show\n  pent trace show --json",
		RunE:    run("show"),
	}
	show.Flags().BoolVar(&opts.JSON, "json", false, "print the merged entries as JSON lines")
	clearCmd := &cobra.Command{
		Use: "clear", Short: "Delete the trace log", Args: cobra.NoArgs,
		Example: "  pent trace clear",
		RunE:    run("clear"),
	}
	suggest := &cobra.Command{
		Use: "suggest", Short: "Print a TOML snippet that would allow what was denied", Args: cobra.NoArgs,
		Example: "  pent trace suggest\n  pent trace suggest --apply   # then: pent allow",
		RunE:    run("suggest"),
	}
	suggest.Flags().BoolVar(&opts.Apply, "apply", false, "add the snippet to the project's .pent.toml after showing the change (it then needs `pent allow` again)")
	suggest.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "with --apply: change the file as shown without asking (needed without a terminal)")
	cmd.AddCommand(show, clearCmd, suggest)
	return cmd
}

// traceRun runs the subcommand o.Action names.
func traceRun(o *TraceOptions) error {
	switch o.Action {
	case "show":
		return traceShow(o)
	case "clear":
		return traceClear(o)
	case "suggest":
		return traceSuggest(o)
	}
	return fmt.Errorf("pent trace: no subcommand %q", o.Action)
}

// traceLog finds the log the way a run writes it, and the configuration.
func (o *TraceOptions) traceLog() (string, *run.Loaded, error) {
	l, err := o.Factory.load(run.LoadRequest{ProjectDir: o.Project, Flags: &config.File{Path: "command line"}})
	if err != nil {
		return "", nil, err
	}
	state, err := o.Factory.StateDir()
	if err != nil {
		return "", nil, err
	}
	run.AdoptTraceLog(o.IO, l.ProjectRoot, state, l.Home)
	return trace.LogPath(l.ProjectRoot, state), l, nil
}

// readTrace reads and merges the log; a missing log is empty.
func (o *TraceOptions) readTrace() ([]trace.Entry, string, *run.Loaded, error) {
	path, l, err := o.traceLog()
	if err != nil {
		return nil, "", nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, l, nil
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("opening the trace log: %w", err)
	}
	defer f.Close()
	entries, err := trace.Read(f)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return trace.Merge(entries), path, l, nil
}

func traceShow(o *TraceOptions) error {
	entries, path, l, err := o.readTrace()
	if err != nil {
		return err
	}
	if o.JSON {
		return trace.Append(o.IO.Out, entries)
	}
	if len(entries) == 0 {
		o.IO.Say("no denials recorded in %s (run a command with `pent run --trace`)", tilde(path, l.Home))
		return nil
	}
	return trace.Show(o.IO.Out, entries)
}

func traceClear(o *TraceOptions) error {
	path, l, err := o.traceLog()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clearing the trace log: %w", err)
	}
	o.IO.Say("cleared %s", tilde(path, l.Home))
	return nil
}

func traceSuggest(o *TraceOptions) error {
	entries, path, l, err := o.readTrace()
	if err != nil {
		return err
	}
	h := trace.Hinter{Home: l.Home, HostExecuted: o.Factory.hostExecuted(l.Home, cmp.Or(l.Root(), l.Cwd))}
	s := h.Suggest(entries)
	for _, note := range s.Notes {
		o.IO.Say("generalised: %s", note)
	}
	for _, sk := range s.Skipped {
		o.IO.Say("not suggested: %s: %s", sk.What, sk.Why)
	}
	if s.Empty() {
		o.IO.Say("nothing to suggest: %s records no denial a config value can safely allow", tilde(path, l.Home))
		return nil
	}
	if !o.Apply {
		_, err := fmt.Fprint(o.IO.Out, s.TOML())
		return err
	}
	if l.ProjectFile == "" {
		fmt.Fprint(o.IO.Out, s.TOML())
		return errors.New("no project file to apply to: add the snippet above to your pent.toml yourself")
	}
	name := tilde(l.ProjectFile, l.Home)
	data, err := config.ReadFile(l.ProjectFile)
	if err != nil {
		return fmt.Errorf("reading %s: %w", l.ProjectFile, err)
	}
	out, err := trace.Apply(data, s)
	if err != nil {
		fmt.Fprint(o.IO.Out, s.TOML())
		return fmt.Errorf("%s: %w; add the snippet above by hand", name, err)
	}
	if _, err := config.Parse(l.ProjectFile, out, config.Project); err != nil {
		return fmt.Errorf("the edited %s would not be valid: %w", name, err)
	}
	fmt.Fprintf(o.IO.Out, "%s:\n%s", config.Escape(name), trace.Diff(data, out))
	if ok, err := o.confirm(name); err != nil || !ok {
		return err
	}
	if err := writeFileKeepMode(l.ProjectFile, out); err != nil {
		return err
	}
	o.IO.Say("changed %s as shown; its content changed, so run `pent allow` to review and trust it again", name)
	return nil
}

// confirm asks whether to change the project file as shown; without a
// terminal it requires --yes, so that nothing is changed without a review.
func (o *TraceOptions) confirm(name string) (bool, error) {
	if o.Yes {
		return true, nil
	}
	if !isTerminal(o.IO.In) {
		return false, fmt.Errorf("nothing was changed: there is no terminal to ask on; run `pent trace suggest --apply --yes` to change %s as shown above", name)
	}
	if askYes(o.IO, "Change "+name+" as shown?") {
		return true, nil
	}
	o.IO.Say("nothing was changed")
	return false, exitError{exitFailure}
}

// writeFileKeepMode replaces path's content atomically, keeping its mode.
func writeFileKeepMode(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("updating %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pent-edit-*")
	if err != nil {
		return fmt.Errorf("updating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("updating %s: %w", path, err)
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return fmt.Errorf("updating %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("updating %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("updating %s: %w", path, err)
	}
	return nil
}
