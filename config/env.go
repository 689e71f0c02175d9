package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/pent-sandbox/pent/profiles"
)

// EnvLayer is the Path of the layer FromEnv returns.
const EnvLayer = "environment"

// envVars are the PENT_* variables FromEnv reads, each with what it sets.
var envVars = map[string]func(f *File, value string) error{
	"PENT_NETWORK": func(f *File, v string) error {
		n, err := ParseNetwork(v)
		f.Network = string(n)
		return err
	},
	"PENT_PROFILES": func(f *File, v string) error {
		for _, s := range splitList(v, ", \t\n") {
			name, err := profileName(s)
			if err != nil {
				return err
			}
			f.Profiles = appendNew(f.Profiles, name)
		}
		return nil
	},
	"PENT_ALLOW":    envList(", \t\n", discard(NormalizeDomain), func(f *File) *[]string { return &f.DomainAllowlist }),
	"PENT_READ":     envList(":", checkRelPath, func(f *File) *[]string { return &f.Paths.Read }),
	"PENT_WRITE":    envList(":", checkRelPath, func(f *File) *[]string { return &f.Paths.ReadWrite }),
	"PENT_EXECUTE":  envList(":", checkRelPath, func(f *File) *[]string { return &f.Paths.Execute }),
	"PENT_TRAVERSE": envList(":", checkRelPath, func(f *File) *[]string { return &f.Paths.Traversal }),
	"PENT_ENV":      envList(",", checkEnv, func(f *File) *[]string { return &f.Env }),
}

// RuntimeVars are PENT_* variables that pent itself sets or reads for its own
// running (shell-hook state, the wrapper, nesting, logging) and that are never
// configuration. FromEnv ignores them, as it ignores every other PENT_*
// variable that does not look like a misspelt configuration variable.
var RuntimeVars = []string{
	"PENT_BIN", "PENT_CONFIG", "PENT_DEBUG", "PENT_DEPTH", "PENT_DIR", "PENT_EXE", "PENT_HOOK",
	"PENT_LOG", "PENT_PROJECT", "PENT_PROXY", "PENT_RUNTIME_DIR", "PENT_SANDBOX", "PENT_SHELL",
	"PENT_STATE", "PENT_TRACE", "PENT_TRUST", "PENT_WATCH", "PENT_WRAP", "PENT_WRAPPED",
}

// FromEnv returns the layer that PENT_* variables in env describe:
//
//	PENT_NETWORK   network mode (as [sandbox] network)
//	PENT_PROFILES  profile names, separated by commas or spaces
//	PENT_ALLOW     allowlist entries, separated by commas or spaces
//	PENT_READ, PENT_WRITE, PENT_EXECUTE, PENT_TRAVERSE
//	               paths separated by ':' ([sandbox.paths] read, read_write,
//	               execute, traversal)
//	PENT_ENV       KEY or KEY=VALUE entries separated by commas
//
// An empty variable counts as unset. A bad value is an *Error naming the
// variable. A PENT_* variable that is none of these but is within a typo of
// one (PENT_NETWROK) is an error too, unless it is one of RuntimeVars; all
// other PENT_* variables belong to pent's runtime and are ignored.
func FromEnv(env map[string]string) (*File, error) {
	f := &File{Path: EnvLayer}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		value := env[name]
		if !strings.HasPrefix(name, "PENT_") || value == "" {
			continue
		}
		set, ok := envVars[name]
		if !ok {
			if hint := suggestVar(name); hint != "" {
				return nil, &Error{File: EnvLayer, Key: name, Msg: "not a pent variable", Hint: hint}
			}
			continue
		}
		if err := set(f, value); err != nil {
			return nil, at(EnvLayer, Pos{}, name, err)
		}
	}
	return f, nil
}

// suggestVar returns the config variable that name is probably a typo of, or
// "" when name is a runtime variable or not close to any. Names are compared
// without their common PENT_ prefix.
func suggestVar(name string) string {
	if slices.Contains(RuntimeVars, name) {
		return ""
	}
	var suffixes []string
	for v := range envVars {
		suffixes = append(suffixes, strings.TrimPrefix(v, "PENT_"))
	}
	if hint := profiles.Suggest(strings.TrimPrefix(name, "PENT_"), suffixes); hint != "" {
		return "PENT_" + hint
	}
	return ""
}

// envList returns a setter for a variable holding a list separated by any of
// seps, checking each element and appending it to the list target selects.
func envList(seps string, check func(string) error, target func(*File) *[]string) func(*File, string) error {
	return func(f *File, v string) error {
		dst := target(f)
		for _, s := range splitList(v, seps) {
			if err := check(s); err != nil {
				return err
			}
			*dst = appendNew(*dst, s)
		}
		return nil
	}
}

// splitList splits v at any of seps, trimming spaces and dropping empty
// elements.
func splitList(v, seps string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
