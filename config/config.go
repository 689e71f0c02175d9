// Package config reads, checks, layers and edits pent's configuration files
// (SPEC §3): the global file, a project's .pent.toml, an extra --config file
// and PENT_* environment overrides.
//
// Parse is strict: an unknown key, a value of the wrong type or a bad value is
// an *Error that names the file, line, column and key and suggests the closest
// valid name. Resolve layers parsed files over the built-in defaults, expands
// profiles (package profiles) and paths, and yields the Effective policy that
// cmd/pent turns into a sandbox.Policy. SetProfiles and Starter write files for
// `pent config add|rm|init` and `pent init`, keeping the user's comments.
package config

import (
	"fmt"

	"github.com/pent-sandbox/pent/profiles"
)

// Kind is the role a config file plays; some keys are only allowed in one kind.
type Kind int

// The kinds of config file.
const (
	// Global is $XDG_CONFIG_HOME/pent/pent.toml; only it may define
	// [profile.NAME].
	Global Kind = iota
	// Project is a project's .pent.toml (or .pent/pent.toml); only it may set
	// wrap.
	Project
	// Extra is a file named with --config.
	Extra
)

// String names the kind for messages.
func (k Kind) String() string {
	switch k {
	case Global:
		return "global config"
	case Project:
		return "project config"
	case Extra:
		return "--config file"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Paths are filesystem grants by access level (SPEC §3 [sandbox.paths]).
type Paths struct {
	// Traversal directories can be listed; only entries another rule allows
	// are visible in them.
	Traversal []string `toml:"traversal,omitempty" json:"traversal,omitempty"`
	// Read paths can be read and listed.
	Read []string `toml:"read,omitempty" json:"read,omitempty"`
	// Execute paths can be read and executed.
	Execute []string `toml:"execute,omitempty" json:"execute,omitempty"`
	// ReadWrite paths can be read, written, created, renamed and deleted.
	ReadWrite []string `toml:"read_write,omitempty" json:"read_write,omitempty"`
}

// File is one configuration layer with its values as written, except that
// profile names are canonical ("@npm") and Network is a scope.Network value
// (seed forms such as "proxy_only" are translated).
type File struct {
	// Path names the layer in messages: the file name, "environment" for
	// FromEnv, or whatever the caller chose for layers it builds itself.
	Path string
	// Profiles are profile names, not expanded.
	Profiles []string
	// Wrap lists the commands the shell hook runs sandboxed (project files only).
	Wrap []string
	// Network is "" when the layer does not set it.
	Network string
	// Env entries are KEY or KEY=VALUE.
	Env []string
	// Protect are more project entries (relative paths) that the sandboxed
	// command may neither change nor create, beside the built-in ones.
	Protect []string
	// Paths may start with ~ or $HOME, or be relative to the project root.
	Paths Paths
	// DomainAllowlist entries are exact names, *.x, **.x, each with an
	// optional :port.
	DomainAllowlist []string
	// UpstreamDNS entries are IP or IP:port.
	UpstreamDNS []string
	// Destinations are CIDR ranges (or single addresses) in private or
	// loopback space that allowed names may resolve to.
	Destinations []string
	// UserProfiles are the [profile.NAME] tables, keyed by canonical name
	// (global files only).
	UserProfiles map[string]profiles.Profile

	// refs records where each profile name in Profiles was written, so that
	// Resolve can point at an unknown name that only turns out to be unknown
	// once the global file's user profiles are known.
	refs map[string]Pos
}

// Load reads the file at path once with ReadFile (regular files only,
// bounded) and parses it. A missing file gives an error that wraps
// os.ErrNotExist.
func Load(path string, kind Kind) (*File, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", kind, err)
	}
	return Parse(path, data, kind)
}
