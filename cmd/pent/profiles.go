package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/profiles"
)

// ProfilesOptions are the inputs of `pent profiles`.
type ProfilesOptions struct {
	IO   *IOStreams
	Name string
}

// NewCmdProfiles builds `pent profiles`.
func NewCmdProfiles(f *Factory, runF func(*ProfilesOptions) error) *cobra.Command {
	opts := &ProfilesOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "profiles [@NAME]",
		Short: "List built-in profiles, or show what one grants",
		Example: `  pent profiles
  pent profiles @npm`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return profilesRun(opts)
		},
	}
}

func profilesRun(o *ProfilesOptions) error {
	if o.Name == "" {
		w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
		for _, p := range profiles.Builtin() {
			fmt.Fprintf(w, "%s\t%s\n", p.Name, p.Summary)
		}
		return w.Flush()
	}
	p, ok := profiles.Lookup(o.Name)
	if !ok {
		return fmt.Errorf("no profile %q; `pent profiles` lists them", o.Name)
	}
	out := o.IO.Out
	fmt.Fprintf(out, "%s — %s\n", p.Name, p.Summary)
	section := func(title string, items []string) {
		if len(items) > 0 {
			fmt.Fprintf(out, "  %-10s %s\n", title+":", strings.Join(items, ", "))
		}
	}
	section("requires", p.Requires)
	if len(p.Why) == 0 {
		section("domains", p.Domains)
	} else {
		fmt.Fprintf(out, "  %s\n", "domains:")
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, d := range p.Domains {
			fmt.Fprintf(w, "    %s\t%s\n", d, p.Why[d])
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	section("read", p.Read)
	section("execute", p.Execute)
	section("read_write", p.ReadWrite)
	section("traversal", p.Traversal)
	section("env", p.Env)
	for _, n := range p.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	return nil
}
