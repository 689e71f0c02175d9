package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/trust"
)

// Factory carries what every command needs from the outside world: the
// environment (as a map, read once in main), the working directory, the
// streams and the directories pent keeps its files in.
type Factory struct {
	IO  *IOStreams
	Env map[string]string
	// Getwd returns the working directory.
	Getwd func() (string, error)
	// Self is the path this binary was started as (unresolved), for the hook.
	Self string
}

// NewFactory builds a Factory from KEY=VALUE pairs.
func NewFactory(environ []string) *Factory {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return &Factory{IO: SystemIO(env), Env: env, Getwd: os.Getwd, Self: selfPath(env["PATH"])}
}

// selfPath is the path of the running binary as the user would type it:
// absolute, found on path (PATH's format) like the shell found it, with
// symlinks left alone so that an upgrade that swaps the link target keeps
// working. A lookup that fails (a hung network mount on PATH: the lookup is
// bounded) falls back to the kernel's path of the binary.
func selfPath(path string) string {
	if cwd, err := os.Getwd(); err == nil {
		if p, err := sandbox.LookPath(os.Args[0], path, cwd); err == nil {
			return p
		}
	}
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "pent"
}

// Home is the user's home directory; pent refuses to guess.
func (f *Factory) Home() (string, error) {
	if h := f.Env["HOME"]; filepath.IsAbs(h) {
		return filepath.Clean(h), nil
	}
	return "", fmt.Errorf("HOME is not set to an absolute path; pent needs it to find its configuration")
}

// xdgDir returns $VAR or ~/fallback, joined with "pent".
func (f *Factory) xdgDir(variable, fallback string) (string, error) {
	if d := f.Env[variable]; filepath.IsAbs(d) {
		return filepath.Join(d, "pent"), nil
	}
	home, err := f.Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, fallback, "pent"), nil
}

// ConfigDir is $XDG_CONFIG_HOME/pent.
func (f *Factory) ConfigDir() (string, error) { return f.xdgDir("XDG_CONFIG_HOME", ".config") }

// DataDir is $XDG_DATA_HOME/pent (trust records). It is refused if it
// exists and is not this user's own (checkOwnDir).
func (f *Factory) DataDir() (string, error) { return f.ownXDGDir("XDG_DATA_HOME", ".local/share") }

// StateDir is $XDG_STATE_HOME/pent (logs of runs without a project, the
// runtime directory's record). It is refused if it exists and is not this
// user's own (checkOwnDir).
func (f *Factory) StateDir() (string, error) { return f.ownXDGDir("XDG_STATE_HOME", ".local/state") }

// ownXDGDir is xdgDir for a directory pent keeps state in: if it exists,
// it must be this user's own.
func (f *Factory) ownXDGDir(variable, fallback string) (string, error) {
	dir, err := f.xdgDir(variable, fallback)
	if err != nil {
		return "", err
	}
	if err := checkOwnDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return dir, nil
}

// GlobalConfigPath is the global configuration file.
func (f *Factory) GlobalConfigPath() (string, error) {
	dir, err := f.ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "pent.toml"), nil
}

// RuntimeDir is the private 0700 base directory for sockets:
// $XDG_RUNTIME_DIR (refused unless it is this user's and mode 0700: its
// owner could swap the daemon's socket), or when the session has none a directory with a random
// name in the system's temporary directory, created by this user and
// recorded in the state directory. A predictable name there (/tmp/pent-UID)
// could be created first by another user and block proxy mode for good.
func (f *Factory) RuntimeDir() (string, error) {
	if d := f.Env["XDG_RUNTIME_DIR"]; filepath.IsAbs(d) {
		if checkPrivateDir(d) != nil {
			return "", fmt.Errorf("$XDG_RUNTIME_DIR %s must be a directory owned by you with mode 0700; fix it or unset XDG_RUNTIME_DIR, and run pent again", d)
		}
		return d, nil
	}
	state, err := f.StateDir()
	if err != nil {
		return "", err
	}
	base := f.Env["TMPDIR"]
	if !filepath.IsAbs(base) {
		base = "/tmp"
	}
	return recordedPrivateDir(filepath.Join(state, "runtime-dir"), base, fmt.Sprintf("pent-%d-", os.Getuid()))
}

// load reads the configuration of this invocation (run.Load).
func (f *Factory) load(req run.LoadRequest) (*run.Loaded, error) {
	src, err := f.sources()
	if err != nil {
		return nil, err
	}
	return run.Load(src, req)
}

// sources are where this invocation's configuration is read from: the
// Factory's environment and directories.
func (f *Factory) sources() (run.Sources, error) {
	home, err := f.Home()
	if err != nil {
		return run.Sources{}, err
	}
	cwd, err := f.Getwd()
	if err != nil {
		return run.Sources{}, fmt.Errorf("reading the working directory: %w", err)
	}
	return run.Sources{Home: home, Cwd: cwd, Env: f.Env, GlobalConfig: f.GlobalConfigPath, Trust: f.trust}, nil
}

// loadGlobal reads the global file; a missing one is an empty layer.
func (f *Factory) loadGlobal() (*config.File, error) {
	path, err := f.GlobalConfigPath()
	if err != nil {
		return nil, err
	}
	return run.LoadGlobal(path)
}

// trust opens the trust store.
func (f *Factory) trust() (trust.Trust, error) {
	dir, err := f.DataDir()
	if err != nil {
		return trust.Trust{}, err
	}
	return trust.Trust{Dir: dir}, nil
}

// tilde shortens a path under home for messages (config.Tilde).
func tilde(path, home string) string { return config.Tilde(path, home) }
