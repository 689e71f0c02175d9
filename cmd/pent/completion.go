package main

import (
	"github.com/spf13/cobra"
)

// CompletionOptions are the inputs of `pent completion`.
type CompletionOptions struct {
	IO    *IOStreams
	Shell string
	// Root is the command tree to complete (set when the command runs).
	Root *cobra.Command
}

// NewCmdCompletion builds `pent completion SHELL`. runF replaces the run
// function in tests.
func NewCmdCompletion(f *Factory, runF func(*CompletionOptions) error) *cobra.Command {
	opts := &CompletionOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script",
		Example: `  pent completion bash > ~/.local/share/bash-completion/completions/pent
  pent completion zsh > "${fpath[1]}/_pent"
  pent completion fish > ~/.config/fish/completions/pent.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell, opts.Root = args[0], cmd.Root()
			if runF != nil {
				return runF(opts)
			}
			return completionRun(opts)
		},
	}
}

func completionRun(o *CompletionOptions) error {
	switch o.Shell {
	case "bash":
		return o.Root.GenBashCompletionV2(o.IO.Out, true)
	case "zsh":
		return o.Root.GenZshCompletion(o.IO.Out)
	default:
		return o.Root.GenFishCompletion(o.IO.Out, true)
	}
}
