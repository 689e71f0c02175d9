// Package run loads a command's configuration (Load: global, trusted
// project, PENT_*, --config and flags) and runs one command in pent's
// sandbox from it: it assembles the policy and the guard of the projects the
// command may write, starts or joins the proxy, traces the run when asked,
// launches the sandbox and reports how the command ended. cmd/pent gives it
// the host's facts and the flags, and turns the result into pent's exit.
package run

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/keep"
	"github.com/pent-sandbox/pent/quarantine"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/scope"
)

// Output is where a run's messages go: one line each on stderr, prefixed
// "pent: ", with the strings in them escaped by the implementation
// (cmd/pent's IOStreams).
type Output interface {
	Say(format string, args ...any)
	Warn(format string, args ...any)
	// CommandEnded is called when the command has ended: the next message
	// must start on a line of its own, whatever the command's output
	// ended with.
	CommandEnded()
}

// Config is the resolved configuration of one run.
type Config struct {
	// Home is the user's home directory, Cwd the working directory.
	Home, Cwd string
	// ProjectFile and ProjectRoot are the project file in force and its
	// directory, empty when there is none. They are set for an untrusted
	// file too (its protected paths still need protecting), but only a
	// Trusted one grants anything (Root).
	ProjectFile, ProjectRoot string
	// Trusted says the project file is allowed as it is now.
	Trusted bool
	// Effective is the layered configuration (config.Resolve).
	Effective *config.Effective
}

// Root is the project root when the project file is trusted, else "": an
// untrusted file grants nothing, not even its directory.
func (c *Config) Root() string {
	if c.Trusted {
		return c.ProjectRoot
	}
	return ""
}

// Host is what a run needs from outside its configuration.
type Host struct {
	// Env is pent's environment (PATH, XDG_RUNTIME_DIR, …), read once.
	Env map[string]string
	// StateDir is $XDG_STATE_HOME/pent: the shadow overlay's staging, the
	// private proxy's decision log, the trace log.
	StateDir string
	// RuntimeDir returns the private directory of the project proxies'
	// sockets; only a proxy-mode run of an allowed project asks for it.
	RuntimeDir func() (string, error)
	// GlobalConfig is the global configuration file, named in trace hints.
	GlobalConfig string
	// HostExecuted are the locations the host runs or trusts outside the
	// sandbox (scope.HostExecutedLocations and pent's own directories).
	HostExecuted []scope.HostExecuted
	// Quarantine is where the guard moves what the command creates at a
	// protected name.
	Quarantine quarantine.Store
	// Kept is where the writes the sandbox does not let through are kept
	// for `pent keep`; none are kept when it has no directory.
	Kept keep.Store
	// Stdio are the command's streams.
	Stdio sandbox.Stdio
	// Out takes the run's messages.
	Out Output
}

// Request is the command to run and how.
type Request struct {
	// Command is the argv as the user typed it; Command[0] is looked up
	// on the caller's PATH.
	Command []string
	// Trace records every denial with a fix hint (pent run --trace).
	Trace bool
	// Quiet leaves out the proxy's refusals when the command ends.
	Quiet bool
}

// ErrFailed ends a run whose failure Run has already reported (pent exits
// with status 1).
var ErrFailed = errors.New("the run failed")

// runner is one run's inputs.
type runner struct {
	c    *Config
	h    Host
	r    Request
	kept *keep.Pending // the writes the sandbox discards; nil when none are kept
}

// Run runs r.Command under the policy of c and returns how it ended. The
// guard's findings and the trace are reported on h.Out before it returns.
func Run(c *Config, h Host, r Request) (sandbox.Status, error) {
	x := &runner{c: c, h: h, r: r}
	// pent's state directory exists before the guard is made, so that a
	// grant around it does not guard it as a missing location (SPEC §13).
	if err := os.MkdirAll(h.Quarantine.Dir, 0o700); err != nil {
		return sandbox.Status{}, fmt.Errorf("creating the quarantine: %w", err)
	}
	policy, guard, err := Policy(c, h, r.Command)
	if err != nil {
		return sandbox.Status{}, err
	}
	// A traced run records every denial; a proxy-mode run also collects
	// the proxy's refusals to explain them when the command ends.
	var tr *traceRun
	if r.Trace || policy.Network == scope.NetProxy && !r.Quiet {
		tr = x.newTraceRun()
	}
	if r.Trace {
		AdoptTraceLog(h.Out, c.ProjectRoot, h.StateDir, c.Home)
	}
	opts, release, err := x.launchOptions(&policy, tr)
	if err != nil {
		return sandbox.Status{}, err
	}
	// Before the command starts, and finished before anything else after it.
	gr, err := startGuard(h.Quarantine, guard)
	if err != nil {
		release()
		return sandbox.Status{}, err
	}
	x.keepDiscarded(&opts)
	status, err := sandbox.Launch(policy, h.Stdio, opts)
	h.Out.CommandEnded()
	guardErr := gr.finish(h.Out, c.Home)
	release()
	x.reportDiscarded()
	if err != nil {
		return sandbox.Status{}, err
	}
	if tr != nil {
		tr.collect(h.Out)
		if r.Trace {
			if err := tr.finish(h.Out, c.Home); err != nil {
				h.Out.Warn("trace: %v", err)
			}
		}
		if !r.Quiet {
			tr.explainNetwork(h.Out)
		}
	}
	return status, guardErr
}

// launchOptions are what the sandbox needs besides the policy: the proxy,
// the staging directory and the trace observer. release ends what the
// proxy needs ended after the command (see useProxy).
func (x *runner) launchOptions(policy *sandbox.Policy, tr *traceRun) (opts sandbox.LaunchOptions, release func(), err error) {
	opts = sandbox.LaunchOptions{Warn: x.h.Out.Warn, StateDir: x.h.StateDir}
	release = func() {}
	if policy.Network == scope.NetProxy {
		if release, err = x.useProxy(tr, policy, &opts); err != nil {
			return opts, nil, err
		}
	}
	if x.r.Trace { // after the proxy, which gives the hinter the allowlist
		opts.Observe = tr.recorder().AddFile
	}
	return opts, release, nil
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

// Policy builds the sandbox policy of argv from the effective
// configuration of c, and the guard of the projects it writes (SPEC §13):
// the writable root and an untrusted project's root. This is where a run's
// policy is assembled: sandbox.Defaults, then c's grants, then the
// protected and host-executed locations.
func Policy(c *Config, h Host, argv []string) (sandbox.Policy, sandbox.Guard, error) {
	x := &runner{c: c, h: h, r: Request{Command: argv}}
	l, e := x.c, x.c.Effective
	command, err := sandbox.LookPath(x.r.Command[0], x.h.Env["PATH"], l.Cwd)
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
		RuntimeDir:    x.h.Env["XDG_RUNTIME_DIR"],
		Path:          filepath.SplitList(x.h.Env["PATH"]),
		Command:       command,
		WindowsDrives: drives,
	}
	p := sandbox.Defaults(host)
	if p.Withheld != "" && !slices.Contains(e.Paths.ReadWrite, p.Withheld) {
		x.h.Out.Warn("%s is not shared with the sandbox wholesale; pass --write . or --read . to share it", config.Tilde(p.Withheld, l.Home))
	}
	if l.ProjectRoot != "" && l.Root() == "" {
		p.Protected = append(p.Protected, sandbox.ProtectedUnder(l.ProjectRoot)...)
	}
	p.Command = append([]string{command}, x.r.Command[1:]...)
	p.Dir = l.Cwd
	p.Network = e.Network
	p.Read = append(p.Read, e.Paths.Read...)
	p.Execute = append(p.Execute, e.Paths.Execute...)
	p.Write = append(p.Write, e.Paths.ReadWrite...)
	p.Traverse = append(p.Traverse, e.Paths.Traversal...)
	sandbox.ProtectHostExecuted(&p, x.h.HostExecuted)
	p.Env = sandbox.FilterEnv(x.h.Env, e.Env)
	guard, err := x.guard(&p)
	return p, guard, err
}

// guard adds the protected entries of the directories the command may
// write to p, and returns their guard: the working root, an untrusted
// project's root and every directory granted read-write are guarded like
// a project (protected names, .git), since any of them may be a repository
// or a directory the host's direnv or editor opens. Not HOME or an
// ancestor of it: there the list of host-executed locations applies, and
// the names protected in a project (.claude, .vscode…) are the tools' own
// state. Host-executed locations that do not exist yet beneath a grant are
// guarded too; the projects' trees are searched for nested protected names
// (a grant's tree is not: caches and registries hold many files, and their
// content is not a project the host's tools enter).
func (x *runner) guard(p *sandbox.Policy) (sandbox.Guard, error) {
	l := x.c
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
	if err := guard.GuardMissing(p.Write, x.h.HostExecuted); err != nil {
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
