//go:build mangen

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// The man page generator pulls in a markdown renderer that every pent start
// would pay for; it is built only with -tags mangen (install.sh and
// packaging/build-deb build a generator binary that way).
func init() {
	extraCommands = append(extraCommands, func(f *Factory) *cobra.Command { return NewCmdMan(f, nil) })
}

// ManOptions are the inputs of `pent man`.
type ManOptions struct {
	// Dir is the directory the pages are written into.
	Dir string
	// Root is the command tree to document (set when the command runs).
	Root *cobra.Command
}

// NewCmdMan builds the hidden `pent man DIR`, which writes a section 1 man
// page for pent and each of its commands into DIR (for packagers and
// install.sh). The date in the pages is SOURCE_DATE_EPOCH when set, for
// reproducible packages. It prints nothing on success; it takes the Factory
// like every command constructor but needs nothing from it. runF replaces
// the run function in tests.
func NewCmdMan(_ *Factory, runF func(*ManOptions) error) *cobra.Command {
	opts := &ManOptions{}
	return &cobra.Command{
		Use:     "man DIR",
		Short:   "Write pent's man pages into DIR",
		Example: "  pent man /usr/local/share/man/man1",
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir, opts.Root = args[0], cmd.Root()
			if runF != nil {
				return runF(opts)
			}
			return manRun(opts)
		},
	}
}

func manRun(o *ManOptions) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("creating the man page directory: %w", err)
	}
	header := &doc.GenManHeader{Section: "1", Source: "pent " + version, Manual: "pent manual"}
	if err := doc.GenManTree(o.Root, header, o.Dir); err != nil {
		return fmt.Errorf("writing man pages to %s: %w", o.Dir, err)
	}
	return nil
}
