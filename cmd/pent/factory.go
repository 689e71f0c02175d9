package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	return &Factory{IO: SystemIO(env), Env: env, Getwd: os.Getwd, Self: selfPath()}
}

// selfPath is the path of the running binary as the user would type it:
// absolute, found on PATH like the shell found it, with symlinks left alone
// so that an upgrade that swaps the link target keeps working.
func selfPath() string {
	if p, err := exec.LookPath(os.Args[0]); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
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

// DataDir is $XDG_DATA_HOME/pent (trust records).
func (f *Factory) DataDir() (string, error) { return f.xdgDir("XDG_DATA_HOME", ".local/share") }

// StateDir is $XDG_STATE_HOME/pent (logs of runs without a project).
func (f *Factory) StateDir() (string, error) { return f.xdgDir("XDG_STATE_HOME", ".local/state") }

// GlobalConfigPath is the global configuration file.
func (f *Factory) GlobalConfigPath() (string, error) {
	dir, err := f.ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "pent.toml"), nil
}

// RuntimeDir is the private 0700 base directory for sockets:
// $XDG_RUNTIME_DIR, or /tmp/pent-UID when the session has none. The latter is
// created if missing and refused if someone else owns it or others can enter.
func (f *Factory) RuntimeDir() (string, error) {
	if d := f.Env["XDG_RUNTIME_DIR"]; filepath.IsAbs(d) {
		return d, nil
	}
	dir := fmt.Sprintf("/tmp/pent-%d", os.Getuid())
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("creating runtime directory: %w", err)
	}
	if err := checkPrivateDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}
