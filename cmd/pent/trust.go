package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/trust"
)

// TrustOptions are the inputs of `pent allow` and `pent deny`.
type TrustOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Path is a project file or a directory to search upward from.
	Path string
	// Yes trusts the file without asking; without a terminal `pent allow`
	// refuses unless it is set.
	Yes bool
	// Verbose lists every grant a profile brings instead of counting them.
	Verbose bool
}

// NewCmdAllow builds `pent allow`.
func NewCmdAllow(f *Factory, runF func(*TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "allow [PATH]",
		Short: "Trust a project's .pent.toml after showing what it grants",
		Long: `Show what the project file grants beyond your global policy (paths,
domains, network mode, environment, wrapped commands) and, on a re-allow, what
changed since the version you last trusted; then ask whether to trust it as it
is now. Without a terminal, pass --yes. Editing the file later blocks its
wrapped commands until you run pent allow once more (or pent deny).`,
		Example: `  pent allow                 # the nearest .pent.toml above the working directory
  pent allow ~/src/app
  pent allow --yes           # in a script: trust what is shown without asking`,
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
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "trust the file as shown without asking (needed without a terminal)")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "list every path and domain a profile grants")
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
// directory) to a project file: the nearest one that exists or that was
// allowed and is gone (so that `pent deny` can release its wrappers).
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
	store, err := o.Factory.trust()
	if err != nil {
		return "", err
	}
	file, _, ok, err := hook.FindProjectOrRecord(store, start)
	if err != nil {
		return "", err
	}
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
	store, err := f.trust()
	if err != nil {
		return err
	}
	// One read: the bytes shown are the bytes trusted.
	snap, err := trust.ReadProject(file)
	if err != nil {
		return err
	}
	name := tilde(snap.Path, home)
	grants, shown, err := o.grants(snap, home)
	if err != nil {
		return err
	}
	if err := o.showChanges(store, snap, name, grants, home); err != nil {
		return err
	}
	o.IO.Say("%s grants, beyond your global policy:", name)
	if len(shown) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "  nothing (the project directory itself is writable)")
	}
	for _, g := range shown {
		fmt.Fprintf(o.IO.ErrOut, "  %s\n", config.Escape(g))
	}
	if ok, err := o.confirm(name); err != nil || !ok {
		return err
	}
	if err := store.Allow(snap); err != nil {
		return err
	}
	o.IO.Say("allowed %s", name)
	return nil
}

// grants lists what the project file's content grants beyond the global
// policy (config.Grants), one line each (all), and the lines to show: unless
// --verbose, the lines a profile brings are folded into the profile's own
// line with counts ("profile: @npm (2 domain, 3 read_write)"). A change of
// network mode is always shown.
func (o *TrustOptions) grants(snap trust.Snapshot, home string) (all, shown []string, err error) {
	project, err := config.Parse(snap.Path, snap.Content, config.Project)
	if err != nil {
		return nil, nil, err
	}
	global, err := o.Factory.loadGlobal()
	if err != nil {
		return nil, nil, err
	}
	root := filepath.Dir(snap.Path)
	if filepath.Base(root) == ".pent" {
		root = filepath.Dir(root)
	}
	x := config.Expand{Home: home, ProjectRoot: root, Cwd: root}
	base, err := config.Resolve([]*config.File{global}, x)
	if err != nil {
		return nil, nil, err
	}
	with, err := config.Resolve([]*config.File{global, project}, x)
	if err != nil {
		return nil, nil, err
	}
	hostExec := o.Factory.hostExecuted(home, root)
	all = config.Grants(base, with, hostExec)
	if o.Verbose {
		return all, all, nil
	}
	folded, counts := map[string]bool{}, map[string]string{}
	for _, p := range project.Profiles {
		only, err := config.Resolve([]*config.File{global, {Path: snap.Path, Profiles: []string{p}}}, x)
		if err != nil {
			return nil, nil, err
		}
		var profile string
		var kinds []string
		n := map[string]int{}
		for _, l := range config.Grants(base, only, hostExec) {
			switch label, value, _ := strings.Cut(l, ": "); label {
			case "profile":
				profile = value
			case "network":
			default:
				folded[l] = true
				if n[label] == 0 {
					kinds = append(kinds, label)
				}
				n[label]++
			}
		}
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%d %s", n[k], k)
		}
		counts[profile] = strings.Join(parts, ", ")
	}
	for _, l := range all {
		label, value, _ := strings.Cut(l, ": ")
		switch {
		case label == "profile" && counts[value] != "":
			shown = append(shown, l+" ("+counts[value]+"; --verbose lists them)")
		case !folded[l]:
			shown = append(shown, l)
		}
	}
	return all, shown, nil
}

// showChanges prints, on a re-allow, how the grants changed since the content
// the user last trusted; a grant that was not there before is a widening.
func (o *TrustOptions) showChanges(store trust.Trust, snap trust.Snapshot, name string, grants []string, home string) error {
	prev, ok, err := store.LastTrusted(snap.Path)
	if err != nil || !ok {
		return err
	}
	if bytes.Equal(prev, snap.Content) {
		o.IO.Say("%s is unchanged since you allowed it", name)
		return nil
	}
	before, _, err := o.grants(trust.Snapshot{Path: snap.Path, Content: prev}, home)
	if err != nil {
		o.IO.Say("%s changed since you allowed it (the earlier version no longer loads: %v)", name, err)
		return nil
	}
	added, removed := config.GrantChanges(before, grants)
	o.IO.Say("%s changed since you allowed it:", name)
	if len(added)+len(removed) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "  no change in what it grants")
	}
	for _, g := range added {
		fmt.Fprintf(o.IO.ErrOut, "  + %s   (widens)\n", config.Escape(g))
	}
	for _, g := range removed {
		fmt.Fprintf(o.IO.ErrOut, "  - %s\n", config.Escape(g))
	}
	return nil
}

// confirm asks whether to trust the file; without a terminal it requires
// --yes, so that nothing is trusted without a review.
func (o *TrustOptions) confirm(name string) (bool, error) {
	if o.Yes {
		return true, nil
	}
	if !isTerminal(o.IO.In) {
		return false, fmt.Errorf("nothing was trusted: there is no terminal to ask on; run `pent allow --yes` to trust %s as shown above", name)
	}
	if askYes(o.IO, "Trust "+name+"?") {
		return true, nil
	}
	o.IO.Say("not trusted: %s has no effect (its wrapped commands refuse to run) until you allow it", name)
	return false, exitError{exitFailure}
}

func denyRun(o *TrustOptions) error {
	file, err := o.projectFile()
	if err != nil {
		return err
	}
	store, err := o.Factory.trust()
	if err != nil {
		return err
	}
	if err := store.Deny(file); err != nil {
		return err
	}
	home, _ := o.Factory.Home()
	o.IO.Say("denied %s: it has no effect, and the commands it wrapped now run unsandboxed here (the hook removes the wrappers at the next prompt); `pent allow` sandboxes them again", tilde(file, home))
	return nil
}

// askYes asks question (escaped) on the terminal with [y/N] and reports
// whether the answer was yes.
func askYes(io *IOStreams, question string) bool {
	fmt.Fprintf(io.ErrOut, "%s [y/N] ", config.Escape(question))
	answer, _ := bufio.NewReader(io.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true
	}
	return false
}
