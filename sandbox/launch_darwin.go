//go:build darwin

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/seatbelt"
)

// nestedEnv marks the environment of a command pent started; Nested trusts
// it only after checking that this process really is sandboxed.
const nestedEnv = "PENT_SANDBOX"

// Launch runs p.Command under /usr/bin/sandbox-exec with the profile
// seatbelt.SBPL generates from p and returns how it ended. The command gets
// a private temporary directory (TMPDIR) that is removed afterwards. An error means
// the command did not run: pent never runs it without the sandbox, and it
// refuses when sandbox-exec is missing or proxy mode has no proxy port. A
// profile that macOS rejects makes sandbox-exec fail before the command
// starts (its message on stderr). With opts.Observe it traces the command
// through the unified log (see seatbelt.Observer) and refuses to run it
// when the log cannot be read.
func Launch(p Policy, stdio Stdio, opts LaunchOptions) (Status, error) {
	if p.Network == scope.NetProxy {
		if opts.ProxyPort == 0 {
			return Status{}, errors.New("proxy mode on macOS needs the port of pent's authenticated loopback proxy (LaunchOptions.ProxyPort); refusing to run with a wider network")
		}
		p = withLoopbackProxy(p, opts)
	}
	p, err := p.normalized()
	if err != nil {
		return Status{}, err
	}
	if err := sandboxExecPresent(); err != nil {
		return Status{}, err
	}
	tmp, err := privateTmpDir()
	if err != nil {
		return Status{}, err
	}
	defer os.RemoveAll(tmp)
	resolved := withResolvedPaths(p)
	profile, err := seatbelt.SBPL(seatbeltProfile(resolved, tmp, opts.ProxyPort))
	if err != nil {
		return Status{}, fmt.Errorf("building the macOS sandbox profile: %w", err)
	}
	profilePath, err := writeProfile(profile)
	if err != nil {
		return Status{}, err
	}
	defer os.Remove(profilePath)
	var obs *seatbelt.Observer
	if opts.Observe != nil {
		if obs, err = seatbelt.StartObserver(p.Command[0], resolved.Protected, opts.Observe, observeWarn(opts, stdio.Stderr)); err != nil {
			return Status{}, err
		}
	}

	cmd := &exec.Cmd{
		Path: seatbelt.SandboxExec,
		Args: append([]string{"sandbox-exec", "-f", profilePath, "--"}, p.Command...),
		Dir:  p.Dir,
		Env:  setEnv(p.Env, "TMPDIR="+tmp+"/", nestedEnv+"=1"),
	}
	// A nil *os.File must not become a non-nil io.Reader/io.Writer.
	if stdio.Stdin != nil {
		cmd.Stdin = stdio.Stdin
	}
	if stdio.Stdout != nil {
		cmd.Stdout = stdio.Stdout
	}
	if stdio.Stderr != nil {
		cmd.Stderr = stdio.Stderr
	}
	return superviseSeatbelt(cmd, obs)
}

// sandboxExecPresent refuses to go on without sandbox-exec.
func sandboxExecPresent() error {
	fi, err := os.Stat(seatbelt.SandboxExec)
	if err != nil {
		return fmt.Errorf("%s is missing (%w): pent cannot sandbox commands on this Mac and will not run them unsandboxed", seatbelt.SandboxExec, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable: pent cannot sandbox commands on this Mac and will not run them unsandboxed", seatbelt.SandboxExec)
	}
	return nil
}

// privateTmpDir creates the run's temporary directory, 0700, under the
// user's own temporary directory (on macOS a per-user /var/folders/...
// directory), and returns its real path, which is what Seatbelt matches.
func privateTmpDir() (string, error) {
	dir, err := os.MkdirTemp("", "pent-tmp-")
	if err != nil {
		return "", fmt.Errorf("creating the sandbox's private temporary directory: %w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("resolving the sandbox's private temporary directory: %w", err)
	}
	return real, nil
}

// writeProfile stores the profile in a new 0600 file beside (not inside) the
// private temporary directory, where the command cannot reach it.
func writeProfile(profile string) (string, error) {
	f, err := os.CreateTemp("", "pent-*.sb")
	if err != nil {
		return "", fmt.Errorf("writing the macOS sandbox profile: %w", err)
	}
	_, werr := f.WriteString(profile)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the macOS sandbox profile: %w", err)
	}
	return f.Name(), nil
}

// seatbeltProfile is what the Seatbelt profile of p is built from, with the
// run's private temporary directory tmp (empty for none) and the port of
// pent's loopback proxy (0 outside proxy mode). The masked paths and the
// private /tmp directories are both hidden on macOS.
func seatbeltProfile(p Policy, tmp string, proxyPort int) seatbelt.Profile {
	return seatbelt.Profile{
		Read:      p.Read,
		Execute:   p.Execute,
		Write:     p.Write,
		Traverse:  p.Traverse,
		Protected: p.Protected,
		Hidden:    append(slices.Clone(p.Masked), p.PrivateTmp...),
		Dir:       p.Dir,
		Network:   p.Network,
		ProxyPort: proxyPort,
		TmpDir:    tmp,
	}
}

// withResolvedPaths adds, beside each policy path that leads through a
// symlink, its resolved form: Seatbelt matches the real path of what is
// opened. Paths that do not exist (yet) are kept as they are.
func withResolvedPaths(p Policy) Policy {
	for _, list := range []*[]string{&p.Read, &p.Execute, &p.Write, &p.Traverse, &p.Protected, &p.Guarded, &p.Masked, &p.PrivateTmp} {
		out := slices.Clone(*list)
		for _, path := range *list {
			if real, err := filepath.EvalSymlinks(path); err == nil && real != path && !slices.Contains(out, real) {
				out = append(out, real)
			}
		}
		*list = out
	}
	return p
}

// setEnv is env with each KEY=VALUE of set replacing any earlier KEY.
func setEnv(env []string, set ...string) []string {
	out := make([]string, 0, len(env)+len(set))
	for _, e := range env {
		key, _, _ := strings.Cut(e, "=")
		if !slices.ContainsFunc(set, func(s string) bool { return strings.HasPrefix(s, key+"=") }) {
			out = append(out, e)
		}
	}
	return append(out, set...)
}

// superviseSeatbelt starts cmd, forwards signals to it until it ends and
// returns how it ended, after the trace observer obs (nil without --trace)
// made its last report. sandbox-exec executes the command in its own
// process, so the signals and the exit status are the command's.
func superviseSeatbelt(cmd *exec.Cmd, obs *seatbelt.Observer) (Status, error) {
	sigs := catchSignals()
	defer sigs.stop()
	if err := cmd.Start(); err != nil {
		if obs != nil {
			obs.Stop(0)
		}
		return Status{}, fmt.Errorf("starting %s: %w", seatbelt.SandboxExec, err)
	}
	if obs != nil {
		obs.Follow(cmd.Process.Pid)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs.C:
			sig := s.(syscall.Signal)
			if !shouldForward(sig) {
				continue
			}
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			if obs != nil {
				obs.Stop(cmd.Process.Pid)
			}
			if cmd.ProcessState == nil {
				return Status{}, fmt.Errorf("waiting for the sandboxed command: %w", err)
			}
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok {
				return Status{}, fmt.Errorf("waiting for the sandboxed command: %w", err)
			}
			return statusOf(ws), nil
		}
	}
}

// Main returns immediately: the macOS sandbox has no re-executed stage.
func Main() {}

// LandlockABI is 0: Landlock is Linux-only.
func LandlockABI() int { return 0 }

// observeWarn is opts.Warn, or a "pent: warning:" line on stderr.
func observeWarn(opts LaunchOptions, stderr *os.File) func(format string, args ...any) {
	if opts.Warn != nil {
		return opts.Warn
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	return func(format string, args ...any) { fmt.Fprintf(stderr, "pent: warning: "+format+"\n", args...) }
}
