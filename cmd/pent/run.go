package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/sandbox"
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
		layer.Network = string(sandbox.NetProxy)
	}
	return layer, nil
}

func validNetwork(s string) bool {
	for _, n := range sandbox.Networks {
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
	l, err := f.load(loadRequest{ProjectDir: o.Project, NoConfig: o.NoConfig, ExtraConfig: o.Config, Flags: flags})
	if err != nil {
		return err
	}
	if err := o.checkTrust(l); err != nil {
		return err
	}
	store, err := f.quarantineStore()
	if err != nil {
		return err
	}
	// pent's state directory exists before the guard is made, so that a
	// grant around it does not guard it as a missing location (SPEC §13).
	if err := os.MkdirAll(store.Dir, 0o700); err != nil {
		return fmt.Errorf("creating the quarantine: %w", err)
	}
	policy, guard, err := o.policy(l)
	if err != nil {
		return err
	}
	// A traced run records every denial; a proxy-mode run also collects
	// the proxy's refusals to explain them when the command ends.
	var tr *traceRun
	if o.Trace || policy.Network == sandbox.NetProxy && !o.Quiet {
		if tr, err = o.newTraceRun(l); err != nil {
			return err
		}
	}
	opts, release, err := o.launchOptions(l, &policy, tr)
	if err != nil {
		return err
	}
	// Before the command starts, and finished before anything else after it.
	gr, err := startGuard(store, guard)
	if err != nil {
		release()
		return err
	}
	status, err := sandbox.Launch(policy, sandbox.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, opts)
	guardErr := gr.finish(o.IO, l.Home)
	release()
	if err != nil {
		return err
	}
	if tr != nil {
		tr.collect(o.IO)
		if o.Trace {
			if err := tr.finish(o.IO, l.Home); err != nil {
				o.IO.Warn("trace: %v", err)
			}
		}
		if !o.Quiet {
			tr.explainNetwork(o.IO)
		}
	}
	if guardErr != nil {
		return guardErr
	}
	return exitLike(status)
}

// launchOptions are what the sandbox needs besides the policy: the proxy
// (which may add to the policy's environment), the staging directory and
// the trace observer. release ends what the proxy needs ended after the
// command (see useProxy).
func (o *RunOptions) launchOptions(l *loaded, policy *sandbox.Policy, tr *traceRun) (opts sandbox.LaunchOptions, release func(), err error) {
	opts = sandbox.LaunchOptions{Warn: o.IO.Warn}
	if opts.StateDir, err = o.Factory.StateDir(); err != nil {
		return opts, nil, err
	}
	release = func() {}
	if policy.Network == sandbox.NetProxy {
		if release, err = o.useProxy(l, tr, policy, &opts); err != nil {
			return opts, nil, err
		}
	}
	if o.Trace { // after the proxy, which gives the hinter the allowlist
		opts.Observe = tr.recorder().AddFile
	}
	return opts, release, nil
}

// checkTrust says what happens to the project file: a wrapped command
// refuses to run unless the file is allowed as it is now; a plain run
// ignores an untrusted file with one line.
func (o *RunOptions) checkTrust(l *loaded) error {
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
	case hook.Allowed:
		return nil
	case hook.Changed:
		why = "changed since you allowed it"
		if l.Unreadable != nil {
			why = fmt.Sprintf("gone or unreadable since you allowed it (%v)", l.Unreadable)
		}
	case hook.Denied:
		why = "denied"
	default:
		why = "not allowed yet"
	}
	if o.Wrapped != "" {
		o.IO.Say("refusing to run %s: %s is %s — review it with `pent allow`, or run `pent deny` to stop sandboxing here", o.Wrapped, file, why)
		return exitError{exitFailure}
	}
	if l.Trust != hook.Denied {
		o.IO.Warn("ignoring %s: %s — run `pent allow` to review it", file, why)
	}
	return nil
}

// windowsDrives are the Windows file systems WSL mounts on this host
// (sandbox.WindowsDrives), read from /proc/self/mountinfo; none where that
// file does not exist (macOS).
func windowsDrives() ([]string, error) {
	info, err := os.ReadFile("/proc/self/mountinfo")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the mounts, to keep Windows drives out of the sandbox: %w", err)
	}
	return sandbox.WindowsDrives(info), nil
}

// policy builds the sandbox policy from the effective configuration, and
// the guard of the projects it writes (SPEC §13): the writable root and an
// untrusted project's root.
func (o *RunOptions) policy(l *loaded) (sandbox.Policy, sandbox.Guard, error) {
	e := l.Effective
	command, err := resolveCommand(o.Command[0], o.Factory.Env["PATH"], l.Cwd)
	if err != nil {
		return sandbox.Policy{}, sandbox.Guard{}, err
	}
	drives, err := windowsDrives()
	if err != nil {
		return sandbox.Policy{}, sandbox.Guard{}, err
	}
	host := sandbox.Host{
		Home:          l.Home,
		Cwd:           l.Cwd,
		ProjectRoot:   l.Root(),
		RuntimeDir:    o.Factory.Env["XDG_RUNTIME_DIR"],
		Path:          filepath.SplitList(o.Factory.Env["PATH"]),
		Command:       command,
		WindowsDrives: drives,
	}
	p := sandbox.Defaults(host)
	if p.Withheld != "" && !containsPath(e.Paths.ReadWrite, p.Withheld) {
		o.IO.Warn("%s is not shared with the sandbox wholesale; pass --write . or --read . to share it", tilde(p.Withheld, l.Home))
	}
	if l.ProjectRoot != "" && l.Root() == "" {
		p.Protected = append(p.Protected, sandbox.ProtectedUnder(l.ProjectRoot)...)
	}
	p.Command = append([]string{command}, o.Command[1:]...)
	p.Dir = l.Cwd
	p.Network = e.Network
	p.Read = append(p.Read, e.Paths.Read...)
	p.Execute = append(p.Execute, e.Paths.Execute...)
	p.Write = append(p.Write, e.Paths.ReadWrite...)
	p.Traverse = append(p.Traverse, e.Paths.Traversal...)
	sandbox.ProtectHostExecuted(&p, o.hostExecuted(l))
	p.Env = sandbox.FilterEnv(o.Factory.Env, e.Env)
	guard, err := o.guard(l, &p)
	return p, guard, err
}

// guard adds the protected entries of the directories the command may
// write to p, and returns their guard: the working root, an untrusted
// project's root and every directory granted read-write are guarded like
// a project (protected names, .git, and the repositories inside them),
// since any of them may be a repository or a directory the host's direnv
// or editor opens. Not HOME or an
// ancestor of it: there the list of host-executed locations applies, and
// the names protected in a project (.claude, .vscode…) are the tools' own
// state. Host-executed locations that do not exist yet beneath a grant are
// guarded too; the projects' trees are searched for nested protected names
// (a grant's tree is not: caches and registries hold many files, and their
// content is not a project the host's tools enter).
func (o *RunOptions) guard(l *loaded, p *sandbox.Policy) (sandbox.Guard, error) {
	var roots, trees, grants []string
	projects := []string{cmp.Or(l.Root(), l.Cwd), l.ProjectRoot}
	for i, root := range append(projects, p.Write...) {
		grant := i >= len(projects)
		if root == "" || root == "/" || slices.Contains(roots, root) || grant && l.Home != "" && (root == l.Home || strings.HasPrefix(l.Home, root+"/")) ||
			!slices.ContainsFunc(p.Write, func(w string) bool { return root == w || strings.HasPrefix(root, w+"/") }) {
			continue
		}
		if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
			continue // a file grant, or nothing there yet
		}
		roots = append(roots, root)
		if grant {
			grants = append(grants, root)
		} else {
			trees = append(trees, root)
		}
		for _, name := range l.Effective.Protect {
			p.Protected = append(p.Protected, filepath.Join(root, name))
		}
	}
	guard, err := sandbox.NewGuard(roots, l.Effective.Protect)
	if err != nil {
		return sandbox.Guard{}, err
	}
	if err := guard.GuardMissing(p.Write, o.hostExecuted(l)); err != nil {
		return sandbox.Guard{}, err
	}
	if err := guard.AddTrees(trees, l.Effective.Protect); err != nil {
		return sandbox.Guard{}, err
	}
	if err := guard.AddGrantRepos(grants); err != nil {
		return sandbox.Guard{}, err
	}
	p.Protected = append(p.Protected, guard.Protected()...)
	slices.Sort(p.Protected)
	p.Protected = slices.Compact(p.Protected)
	p.Guarded = guard.Paths()
	return guard, nil
}

// hostExecuted lists what the host runs or trusts outside the sandbox for
// this run; a PATH directory inside the writable project root is project
// content and not listed.
func (o *RunOptions) hostExecuted(l *loaded) []sandbox.HostExecuted {
	root := l.Root()
	if root == "" {
		root = l.Cwd
	}
	return o.Factory.hostExecuted(l.Home, root)
}

// hostExecuted lists what the host runs or trusts outside the sandbox
// (sandbox.HostExecutedLocations) and pent's own directories where the
// XDG_* variables put them: the next pent reads its configuration, trust
// records and run records from there (SPEC §13).
func (f *Factory) hostExecuted(home, projectRoot string) []sandbox.HostExecuted {
	locs := sandbox.HostExecutedLocations(home, filepath.SplitList(f.Env["PATH"]), projectRoot)
	for _, d := range []struct{ variable, fallback, why string }{
		{"XDG_CONFIG_HOME", ".config", "pent's own global configuration"},
		{"XDG_DATA_HOME", ".local/share", "pent's trust store"},
		{"XDG_STATE_HOME", ".local/state", "pent's quarantine and run records, which the next pent acts on"},
	} {
		dir, err := f.xdgDir(d.variable, d.fallback)
		if err == nil && !slices.ContainsFunc(locs, func(l sandbox.HostExecuted) bool { return l.Path == dir }) {
			locs = append(locs, sandbox.HostExecuted{Path: dir, Why: d.why})
		}
	}
	return locs
}

func containsPath(list []string, p string) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

// resolveCommand finds argv[0] the way a shell would, with the caller's PATH.
func resolveCommand(name, path, cwd string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	if filepath.Base(name) != name {
		return filepath.Join(cwd, name), nil
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		candidate := filepath.Join(dir, name)
		if fi, err := os.Stat(candidate); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH", name)
}

// runNested runs the command inside the sandbox pent is already in: it
// cannot build a second one and must not pretend to widen the first.
func runNested(o *RunOptions) error {
	command, err := exec.LookPath(o.Command[0])
	if err != nil {
		return fmt.Errorf("%s: %w", o.Command[0], err)
	}
	o.IO.Say("already inside a pent sandbox: running %s in it, under its policy (flags that widen it have no effect)", o.Command[0])
	env := os.Environ()
	return syscall.Exec(command, o.Command, env)
}

// exitLike ends pent the way the sandboxed command ended: the same exit
// status, or death by the same signal.
func exitLike(s sandbox.Status) error {
	if s.Signal == 0 {
		return exitError{s.Code}
	}
	signal.Reset(s.Signal)
	_ = syscall.Kill(os.Getpid(), s.Signal)
	// A signal that does not kill (or is blocked) falls back to the shell's
	// convention.
	time.Sleep(100 * time.Millisecond)
	return exitError{128 + int(s.Signal)}
}
