package run

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/hook"
	"github.com/pent-sandbox/pent/trust"
)

// LoadRequest says where a command's configuration comes from.
type LoadRequest struct {
	// ProjectDir overrides the directory the project file is searched from.
	ProjectDir string
	// NoConfig skips the global and project files (flags still apply).
	NoConfig bool
	// ExtraConfig is a --config file, layered after the project.
	ExtraConfig string
	// Flags is the layer made from command-line flags, applied last.
	Flags *config.File
}

// Sources are the places a configuration is read from: the caller's
// environment and directories.
type Sources struct {
	// Home is the user's home directory, Cwd the working directory.
	Home, Cwd string
	// Env is the process environment, for the PENT_* layer.
	Env map[string]string
	// GlobalConfig returns the global file's path and Trust opens the trust
	// store; neither is asked for when the request skips the config files.
	GlobalConfig func() (string, error)
	Trust        func() (trust.Trust, error)
}

// Loaded is the configuration of one invocation, with where it came from.
// Its Config is what a run needs; Trusted is set only when Trust is
// trust.Allowed.
type Loaded struct {
	Config
	// Trust is the project file's trust state; its layer is used only when
	// it is Allowed.
	Trust trust.State
	// Unreadable is why a Changed project file (one allowed before) cannot
	// be read now: it is gone or no longer a file pent reads.
	Unreadable error
	// Skipped are the untrusted project files nearer to the working
	// directory that were passed over (they never weaken the project).
	Skipped []hook.Found
	Global  *config.File
	Project *config.File
}

// Load finds, checks and layers every configuration source (§3): built-in
// defaults ⊕ global ⊕ trusted project ⊕ PENT_* ⊕ --config ⊕ flags. Any error
// in any layer is returned: a config error never starts a child.
func Load(src Sources, req LoadRequest) (*Loaded, error) {
	l := &Loaded{Config: Config{Home: src.Home, Cwd: src.Cwd}}
	var layers []*config.File
	if !req.NoConfig {
		global, err := src.GlobalConfig()
		if err != nil {
			return nil, err
		}
		if l.Global, err = LoadGlobal(global); err != nil {
			return nil, err
		}
		layers = append(layers, l.Global)
		store, err := src.Trust()
		if err != nil {
			return nil, err
		}
		if err := l.loadProject(store, req.ProjectDir); err != nil {
			return nil, err
		}
		if l.Trusted {
			layers = append(layers, l.Project)
		}
	}
	envLayer, err := config.FromEnv(src.Env)
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
	l.Effective, err = config.Resolve(layers, config.Expand{Home: src.Home, ProjectRoot: l.Root(), Cwd: src.Cwd})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// LoadGlobal reads the global file at path; a missing one is an empty layer.
func LoadGlobal(path string) (*config.File, error) {
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
func (l *Loaded) loadProject(store trust.Trust, from string) error {
	if from == "" {
		from = l.Cwd
	}
	from, err := filepath.Abs(from)
	if err != nil {
		return fmt.Errorf("finding the project from %s: %w", from, err)
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
	l.Trusted = l.Trust == trust.Allowed
	if l.Trusted {
		l.Project, err = config.Parse(p.Snap.Path, p.Snap.Content, config.Project)
		return err
	}
	return nil
}
