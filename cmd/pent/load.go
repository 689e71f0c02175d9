package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/trust"
)

// loadRequest says where a command's configuration comes from.
type loadRequest struct {
	// ProjectDir overrides the directory the project file is searched from.
	ProjectDir string
	// NoConfig skips the global and project files (flags still apply).
	NoConfig bool
	// ExtraConfig is a --config file, layered after the project.
	ExtraConfig string
	// Flags is the layer made from command-line flags, applied last.
	Flags *config.File
}

// loaded is the configuration of one invocation, with where it came from.
type loaded struct {
	Home, Cwd string
	// ProjectFile and ProjectRoot are empty when no project file was found;
	// they are set for an untrusted file too (its protected paths still
	// need protecting), but only Root() grants anything.
	ProjectFile, ProjectRoot string
	// Trust is the project file's trust state; its layer is used only when
	// it is Allowed.
	Trust trust.State
	// Unreadable is why a Changed project file (one allowed before) cannot
	// be read now: it is gone or no longer a file pent reads.
	Unreadable error
	// Skipped are the untrusted project files nearer to the working
	// directory that were passed over (they never weaken the project).
	Skipped   []hook.Found
	Global    *config.File
	Project   *config.File
	Effective *config.Effective
}

// load finds, checks and layers every configuration source (§3): built-in
// defaults ⊕ global ⊕ trusted project ⊕ PENT_* ⊕ --config ⊕ flags. Any error
// in any layer is returned: a config error never starts a child.
func (f *Factory) load(req loadRequest) (*loaded, error) {
	home, err := f.Home()
	if err != nil {
		return nil, err
	}
	cwd, err := f.Getwd()
	if err != nil {
		return nil, fmt.Errorf("reading the working directory: %w", err)
	}
	l := &loaded{Home: home, Cwd: cwd}
	var layers []*config.File
	if !req.NoConfig {
		if l.Global, err = f.loadGlobal(); err != nil {
			return nil, err
		}
		layers = append(layers, l.Global)
		if err := f.loadProject(l, req.ProjectDir); err != nil {
			return nil, err
		}
		if l.Trust == trust.Allowed {
			layers = append(layers, l.Project)
		}
	}
	envLayer, err := config.FromEnv(f.Env)
	if err != nil {
		return nil, err
	}
	layers = append(layers, envLayer)
	if req.ExtraConfig != "" {
		extra, err := config.Load(req.ExtraConfig, config.Extra)
		if err != nil {
			return nil, err
		}
		layers = append(layers, extra)
	}
	layers = append(layers, req.Flags)
	l.Effective, err = config.Resolve(layers, config.Expand{Home: home, ProjectRoot: l.Root(), Cwd: cwd})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Root is the project root when the project file is trusted, else "": an
// untrusted file grants nothing, not even its directory.
func (l *loaded) Root() string {
	if l.Trust == trust.Allowed {
		return l.ProjectRoot
	}
	return ""
}

// loadGlobal reads the global file; a missing one is an empty layer.
func (f *Factory) loadGlobal() (*config.File, error) {
	path, err := f.GlobalConfigPath()
	if err != nil {
		return nil, err
	}
	g, err := config.Load(path, config.Global)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return g, err
}

// loadProject selects the project in force (hook.Select: the nearest
// allowed or changed project file, passing over untrusted nested ones) and
// its trust state. Each file is read once, and the bytes whose trust was
// checked are the bytes parsed: a file swapped between the two can never
// lend its policy to another's trust record. An unreadable project file that
// was never allowed, with no trusted project above it, is an error; one that
// was allowed is Changed (its wrapped commands refuse to run).
func (f *Factory) loadProject(l *loaded, from string) error {
	if from == "" {
		from = l.Cwd
	}
	from, err := filepath.Abs(from)
	if err != nil {
		return err
	}
	store, err := f.trust()
	if err != nil {
		return err
	}
	sel, err := hook.Select(from, store)
	if err != nil {
		return err
	}
	p := sel.Project
	if p.File == "" {
		return nil
	}
	if p.Err != nil && p.State != trust.Changed {
		return p.Err
	}
	l.ProjectFile, l.ProjectRoot, l.Trust, l.Skipped, l.Unreadable = p.File, p.Root, p.State, sel.Skipped, p.Err
	if l.Trust == trust.Allowed {
		l.Project, err = config.Parse(p.Snap.Path, p.Snap.Content, config.Project)
		return err
	}
	return nil
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

// runConfig is the part of l a run needs (run.Config).
func (l *loaded) runConfig() *run.Config {
	return &run.Config{Home: l.Home, Cwd: l.Cwd, ProjectFile: l.ProjectFile, ProjectRoot: l.ProjectRoot,
		Trusted: l.Trust == trust.Allowed, Effective: l.Effective}
}
