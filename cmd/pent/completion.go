package main

import (
	"github.com/spf13/cobra"
)

// NewCmdCompletion builds `pent completion SHELL`.
func NewCmdCompletion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script",
		Example: `  pent completion bash > ~/.local/share/bash-completion/completions/pent
  pent completion zsh > "${fpath[1]}/_pent"
  pent completion fish > ~/.config/fish/completions/pent.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(f.IO.Out, true)
			case "zsh":
				return root.GenZshCompletion(f.IO.Out)
			default:
				return root.GenFishCompletion(f.IO.Out, true)
			}
		},
	}
}
