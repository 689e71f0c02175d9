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
func init() { extraCommands = append(extraCommands, NewCmdMan) }

// NewCmdMan builds the hidden `pent man DIR`, which writes a section 1 man
// page for pent and each of its commands into DIR (for packagers and
// install.sh). The date in the pages is SOURCE_DATE_EPOCH when set, for
// reproducible packages. It prints nothing on success; it takes the Factory
// like every command constructor but needs nothing from it.
func NewCmdMan(_ *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "man DIR",
		Short:   "Write pent's man pages into DIR",
		Example: "  pent man /usr/local/share/man/man1",
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("creating the man page directory: %w", err)
			}
			header := &doc.GenManHeader{Section: "1", Source: "pent " + version, Manual: "pent manual"}
			if err := doc.GenManTree(cmd.Root(), header, dir); err != nil {
				return fmt.Errorf("writing man pages to %s: %w", dir, err)
			}
			return nil
		},
	}
}
