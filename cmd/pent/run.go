package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/trust"
)

// RunOptions are the inputs of `pent run`.
type RunOptions struct {
	IO      *IOStreams
	Factory *Factory

	Network  string
	Allow    []string
	Read     []string
	Write    []string
	Execute  []string
	Traverse []string
	Profiles []string
	Env      []string
	Config   string
	NoConfig bool
	Trace    bool
	Quiet    bool
	Project  string
	// Wrapped is set by the shell hook's wrapper functions: the command
	// name the user typed. A wrapped run insists on a trusted project file.
	Wrapped string

	Command []string
}

// NewCmdRun builds `pent run`. runF replaces the run function in tests.
func NewCmdRun(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]",
		Short: "Run a command in the sandbox",
		Long: `Run COMMAND under the effective policy: built-in defaults, the global
config, the project's .pent.toml (only once you have allowed it), PENT_*
variables, --config and these flags, in that order.

By default the command may read and execute system paths, write the project
(or the working directory), and nothing else: $HOME is hidden, /tmp is private
and the network is blocked. pent exits with the command's status; if the
command is killed by a signal, pent dies by the same signal.

With --allow (or network = "proxy") every TCP connection and DNS query of the
command goes through pent's proxy, which lets through only allowed names. An
allowed project's runs share the project's proxy (see pent proxy); other runs,
and runs whose flags change the allowlist, get a private proxy that logs its
decisions to $XDG_STATE_HOME/pent/proxy.log.`,
		Example: `  pent run -- make test
  pent run --allow example.com -- curl https://example.com
  pent run --network localhost -- npm test        # own loopback only
  pent run --write ~/.cache/go-build -- go build ./...
  pent run --profile @npm -- npm ci`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("pent run needs a command, e.g. `pent run -- make`")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Command = args
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVar(&opts.Network, "network", "", "network mode: unrestricted, localhost, proxy or blocked")
	fl.StringArrayVar(&opts.Allow, "allow", nil, "allow a domain (`DOMAIN[:PORT]`, *.x, **.x); implies --network proxy")
	fl.StringArrayVar(&opts.Read, "read", nil, "allow reading `PATH`")
	fl.StringArrayVar(&opts.Write, "write", nil, "allow reading and writing `PATH`")
	fl.StringArrayVar(&opts.Execute, "execute", nil, "allow reading and executing `PATH`")
	fl.StringArrayVar(&opts.Traverse, "traverse", nil, "show directory `PATH` (only allowed entries inside)")
	fl.StringArrayVar(&opts.Profiles, "profile", nil, "add a profile (`@NAME`, see `pent profiles`)")
	fl.StringArrayVar(&opts.Env, "env", nil, "pass variable `KEY` or set KEY=VALUE")
	fl.StringVar(&opts.Config, "config", "", "layer this config `FILE` after the project's")
	fl.BoolVar(&opts.NoConfig, "no-config", false, "ignore the global and project config files")
	fl.BoolVar(&opts.Trace, "trace", false, "log every denial with a fix hint")
	fl.BoolVar(&opts.Quiet, "quiet", false, "do not list the proxy's refusals when the command ends")
	fl.StringVar(&opts.Project, "project", "", "look for the project file from `DIR` instead of the working directory")
	fl.StringVar(&opts.Wrapped, "wrapped", "", "set by the shell hook: the wrapped command's name")
	_ = fl.MarkHidden("wrapped")
	return cmd
}

// flagLayer turns the flags into the last configuration layer.
func (o *RunOptions) flagLayer() (*config.File, error) {
	layer := &config.File{
		Path:            "command line",
		Profiles:        o.Profiles,
		Env:             o.Env,
		DomainAllowlist: o.Allow,
		Paths: config.Paths{
			Read:      o.Read,
			ReadWrite: o.Write,
			Execute:   o.Execute,
			Traversal: o.Traverse,
		},
	}
	switch {
	case o.Network != "":
		if !validNetwork(o.Network) {
			return nil, usagef("--network %q: use one of unrestricted, localhost, proxy, blocked", o.Network)
		}
		layer.Network = o.Network
	case len(o.Allow) > 0:
		layer.Network = string(scope.NetProxy)
	}
	return layer, nil
}

func validNetwork(s string) bool {
	for _, n := range scope.Networks {
		if string(n) == s {
			return true
		}
	}
	return false
}

func runRun(o *RunOptions) error {
	f := o.Factory
	if nested, err := sandbox.Nested(); err != nil {
		return err
	} else if nested {
		return runNested(o)
	}
	flags, err := o.flagLayer()
	if err != nil {
		return err
	}
	l, err := f.load(run.LoadRequest{ProjectDir: o.Project, NoConfig: o.NoConfig, ExtraConfig: o.Config, Flags: flags})
	if err != nil {
		return err
	}
	if err := o.checkTrust(l); err != nil {
		return err
	}
	host, err := f.runHost(l)
	if err != nil {
		return err
	}
	status, err := run.Run(&l.Config, host, run.Request{Command: o.Command, Trace: o.Trace, Quiet: o.Quiet})
	if errors.Is(err, run.ErrFailed) {
		return exitError{exitFailure}
	}
	if err != nil {
		return err
	}
	return exitLike(status)
}

// runHost is what run.Run needs from this process: its environment,
// directories and streams.
func (f *Factory) runHost(l *run.Loaded) (run.Host, error) {
	state, err := f.StateDir()
	if err != nil {
		return run.Host{}, err
	}
	store, err := f.quarantineStore()
	if err != nil {
		return run.Host{}, err
	}
	global, _ := f.GlobalConfigPath() // only named in trace hints
	return run.Host{
		Env:          f.Env,
		StateDir:     state,
		RuntimeDir:   f.RuntimeDir,
		GlobalConfig: global,
		HostExecuted: f.hostExecuted(l.Home, cmp.Or(l.Root(), l.Cwd)),
		Quarantine:   store,
		Kept:         keepStoreIn(state),
		Stdio:        sandbox.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr},
		Out:          f.IO,
	}, nil
}

// checkTrust says what happens to the project file: a wrapped command
// refuses to run unless the file is allowed as it is now; a plain run
// ignores an untrusted file with one line.
func (o *RunOptions) checkTrust(l *run.Loaded) error {
	if l.ProjectFile == "" {
		if o.Wrapped != "" {
			o.IO.Say("%s is wrapped by pent but no project file is here any more; run `command %s` to run it unsandboxed", o.Wrapped, o.Wrapped)
			return exitError{exitFailure}
		}
		return nil
	}
	file := tilde(l.ProjectFile, l.Home)
	for _, sk := range l.Skipped {
		o.IO.Warn("ignoring %s (%s): %s stays in force", tilde(sk.File, l.Home), sk.Status(), file)
	}
	var why string
	switch l.Trust {
	case trust.Allowed:
		return nil
	case trust.Changed:
		why = "changed since you allowed it"
		if l.Unreadable != nil {
			why = fmt.Sprintf("gone or unreadable since you allowed it (%v)", l.Unreadable)
		}
	case trust.Denied:
		why = "denied"
	default:
		why = "not allowed yet"
	}
	if o.Wrapped != "" {
		o.IO.Say("refusing to run %s: %s is %s — review it with `pent allow`, or run `pent deny` to stop sandboxing here", o.Wrapped, file, why)
		return exitError{exitFailure}
	}
	if l.Trust != trust.Denied {
		o.IO.Warn("ignoring %s: %s — run `pent allow` to review it", file, why)
	}
	return nil
}

// hostExecuted lists what the host runs or trusts outside the sandbox
// (scope.HostExecutedLocations) and pent's own directories where the
// XDG_* variables put them: the next pent reads its configuration, trust
// records and run records from there (SPEC §13).
func (f *Factory) hostExecuted(home, projectRoot string) []scope.HostExecuted {
	locs := scope.HostExecutedLocations(home, filepath.SplitList(f.Env["PATH"]), projectRoot)
	for _, d := range []struct{ variable, fallback, why string }{
		{"XDG_CONFIG_HOME", ".config", "pent's own global configuration"},
		{"XDG_DATA_HOME", ".local/share", "pent's trust store"},
		{"XDG_STATE_HOME", ".local/state", "pent's quarantine, trace logs and run records, which the next pent acts on"},
	} {
		dir, err := f.xdgDir(d.variable, d.fallback)
		if err == nil && !slices.ContainsFunc(locs, func(l scope.HostExecuted) bool { return l.Path == dir }) {
			locs = append(locs, scope.HostExecuted{Path: dir, Why: d.why})
		}
	}
	return locs
}

// runNested runs the command inside the sandbox pent is already in: it
// cannot build a second one and must not pretend to widen the first.
func runNested(o *RunOptions) error {
	cwd, err := o.Factory.Getwd()
	if err != nil {
		return fmt.Errorf("finding the working directory: %w", err)
	}
	command, err := sandbox.LookPath(o.Command[0], o.Factory.Env["PATH"], cwd)
	if err != nil {
		return err
	}
	o.IO.Say("already inside a pent sandbox: running %s in it, under its policy (flags that widen it have no effect)", o.Command[0])
	err = syscall.Exec(command, o.Command, os.Environ())
	if errno, ok := err.(syscall.Errno); ok {
		return sandbox.ExecFailure(command, errno)
	}
	return err
}

// exitLike ends pent the way the sandboxed command ended: the same exit
// status, or death by the same signal.
func exitLike(s sandbox.Status) error {
	if s.Signal == 0 {
		return exitError{s.Code}
	}
	dieBy(s.Signal)
	// A signal that does not kill (or is blocked) falls back to the shell's
	// convention.
	time.Sleep(100 * time.Millisecond)
	return exitError{128 + int(s.Signal)}
}
