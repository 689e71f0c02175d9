package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/sandbox"
)

// Exit statuses of pent's own failures; a sandboxed command's status is
// passed through unchanged.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a mistake in how pent was invoked (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError ends pent with a given status without printing anything more
// (the message, if any, was already printed).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "pent",
		Short: "Run commands in a sandbox with an allowlist of paths and domain names",
		Long: `pent wraps a command in a lightweight sandbox built from the kernel's own
mechanisms (Landlock and namespaces on Linux, Seatbelt on macOS). The command
sees only the paths you allow; its network is blocked, limited to its own
loopback, or limited to an allowlist of domain names through pent's proxy.

With the shell hook, entering a project whose .pent.toml you have allowed runs
the commands it lists (npm, cargo, claude, ...) inside the sandbox.`,
		Example: `  pent run -- sh -c 'ls ~'                 # your home directory is hidden
  pent run --write ~/.npm -- npm ci       # grant one more path
  pent init @npm && pent allow             # start a project policy
  eval "$(pent hook bash)"                 # in ~/.bashrc`,
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: true,
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	// A run killed with SIGKILL may have left writes to allowed files in
	// staging, and protected entries its guard did not move: every pent
	// command first puts them where they belong.
	root.PersistentPreRun = func(*cobra.Command, []string) {
		recoverStaging(f)
		recoverGuards(f)
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		NewCmdRun(f, nil),
		NewCmdAllow(f, nil),
		NewCmdDeny(f, nil),
		NewCmdConfig(f, nil),
		NewCmdProfiles(f, nil),
		NewCmdDoctor(f, nil),
		NewCmdVersion(f, nil),
		NewCmdCompletion(f, nil),
		NewCmdHook(f, nil),
		NewCmdExport(f, nil),
		NewCmdStatus(f, nil),
		NewCmdEdit(f, nil),
		NewCmdShell(f, nil),
		NewCmdPrune(f, nil),
		NewCmdInit(f, nil),
		NewCmdProxy(f, nil),
		NewCmdTrace(f, nil),
		NewCmdQuarantine(f, nil),
		NewCmdKeep(f, nil),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra(f))
	}
	return root
}

// extraCommands are added by files built only with a build tag (man.go).
var extraCommands []func(*Factory) *cobra.Command

// recoverStaging finishes what a killed run left in staging (one lstat
// when there is nothing to do), keeps what it would have discarded (see
// `pent keep`) and says what it recovered.
func recoverStaging(f *Factory) {
	dir, err := f.StateDir()
	if err != nil {
		return
	}
	pending := keepStoreIn(dir).Begin("")
	msgs, err := sandbox.RecoverStaging(dir, pending.Add)
	for _, m := range msgs {
		f.IO.Say("%s", m)
	}
	if err != nil {
		f.IO.Warn("%v", err)
	}
	layer, err := pending.Close()
	if err != nil {
		f.IO.Warn("some writes of the killed run outside the allowed paths were lost: %v", err)
	}
	if len(layer.Files) > 0 {
		home, _ := f.Home()
		f.IO.Say("%s", run.DiscardedSummary(layer, home, f.hostExecuted(home, "")))
	}
}

// Execute runs pent with args and returns the process exit status.
func Execute(f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.Execute()
	var exit exitError
	var usage usageError
	var notRun *sandbox.NotRunnable
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, &notRun): // 127 or 126, as a shell would
		f.IO.Say("%v", notRun)
		return notRun.Code
	case errors.As(err, &usage) || isCobraUsage(err):
		f.IO.Say("%v", err)
		f.IO.Say("run `pent --help` or `pent COMMAND --help` for usage")
		return exitUsage
	default:
		f.IO.Say("%v", err)
		return exitFailure
	}
}

// isCobraUsage recognises the argument errors cobra itself produces.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") ||
		strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least") ||
		strings.HasPrefix(msg, "invalid argument")
}
