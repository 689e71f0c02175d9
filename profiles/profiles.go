// Package profiles holds pent's built-in profiles: named sets of domains,
// paths and environment variables that a tool needs, with dependencies between
// them (SPEC §3.1). The table in table.go is the single source of truth;
// `pent profiles` prints it and the config package expands names through it.
//
// User profiles, defined under [profile.NAME] in the global config file, share
// the namespace: Expand takes them as a map beside the built-in table.
package profiles

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Profile is a named grant. Paths may start with ~ (the home directory) but
// are never relative; Domains use the allowlist syntax of [proxy]
// domain_allowlist.
type Profile struct {
	// Name is the canonical name, with its leading "@", e.g. "@npm".
	Name string
	// Summary is one line for `pent profiles`.
	Summary string
	// Requires names other profiles this one builds on, e.g. @npm requires @node.
	Requires []string
	// Domains are allowlist entries: exact, *.x (one label), **.x (any depth),
	// each with an optional :port.
	Domains []string
	// Why says, per entry of Domains, what the tool contacts it for; `pent
	// profiles @NAME` shows it. The agent profiles give every domain a reason.
	Why map[string]string
	// Notes are lines for `pent profiles @NAME`: the modes a profile leaves
	// out on purpose and the exact keys that turn them on.
	Notes []string
	// Read paths may be read and listed.
	Read []string
	// Execute paths may be read and executed.
	Execute []string
	// ReadWrite paths may be read, written, created and deleted.
	ReadWrite []string
	// Traversal directories exist and can be listed, nothing more.
	Traversal []string
	// Env entries are KEY (pass the variable through) or KEY=VALUE (set it).
	Env []string
	// Commands are the programs this profile is for; `pent init` proposes
	// them for a project's wrap list.
	Commands []string
}

// Builtin returns the built-in profiles sorted by name. The result is a copy:
// changing it does not change the table.
func Builtin() []Profile {
	out := make([]Profile, len(builtin))
	for i, p := range builtin {
		out[i] = p.clone()
	}
	return out
}

// Names returns the names of the built-in profiles, sorted.
func Names() []string {
	names := make([]string, len(builtin))
	for i, p := range builtin {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the built-in profile called name; "npm" and "@npm" are the
// same name.
func Lookup(name string) (Profile, bool) {
	canon, err := Normalize(name)
	if err != nil {
		return Profile{}, false
	}
	i, found := slices.BinarySearchFunc(builtin, canon, func(p Profile, n string) int {
		return strings.Compare(p.Name, n)
	})
	if !found {
		return Profile{}, false
	}
	return builtin[i].clone(), true
}

// Normalize returns the canonical form "@name" of a profile name written with
// or without its "@". A name is lower-case letters, digits, '-' and '_', and
// starts with a letter or digit.
func Normalize(name string) (string, error) {
	bare := strings.TrimPrefix(name, "@")
	if bare == "" {
		return "", fmt.Errorf("empty profile name")
	}
	for i, r := range bare {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')
		if !ok {
			return "", fmt.Errorf("invalid profile name %q: use lower-case letters, digits, '-' and '_'", name)
		}
	}
	return "@" + bare, nil
}

// UnknownError reports a profile name that is neither built in nor defined by
// the user.
type UnknownError struct {
	// Name is the unknown name as written.
	Name string
	// RequiredBy is the profile that requires Name, or "" when Name was asked
	// for directly.
	RequiredBy string
	// Suggestion is the closest known name, or "" when none is close.
	Suggestion string
}

// Error implements error.
func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("unknown profile %q", e.Name)
	if e.RequiredBy != "" {
		msg += fmt.Sprintf(" (required by %s)", e.RequiredBy)
	}
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return msg
}

// CycleError reports profiles that require each other.
type CycleError struct {
	// Cycle lists the profiles in requirement order; the first is repeated at
	// the end, e.g. [@a @b @a].
	Cycle []string
}

// Error implements error.
func (e *CycleError) Error() string {
	return "profiles require each other: " + strings.Join(e.Cycle, " → ")
}

// Expand resolves names to profiles, adding everything they require. The
// result holds each profile once, every profile after the profiles it requires,
// and otherwise in the order asked for. user holds the user-defined profiles
// keyed by canonical name; it may be nil. Unknown names give an *UnknownError
// and requirement cycles a *CycleError.
func Expand(names []string, user map[string]Profile) ([]Profile, error) {
	x := expander{user: user, state: map[string]int{}}
	for _, name := range names {
		if err := x.visit(name, ""); err != nil {
			return nil, err
		}
	}
	return x.out, nil
}

// Visit states of the depth-first walk in expander.
const (
	unvisited = iota
	visiting
	done
)

// expander is the state of one Expand call: a depth-first walk emitting each
// profile after its requirements.
type expander struct {
	user  map[string]Profile
	state map[string]int
	stack []string
	out   []Profile
}

func (x *expander) visit(name, requiredBy string) error {
	p, err := Find(name, x.user)
	if err != nil {
		var ue *UnknownError
		if errors.As(err, &ue) {
			ue.RequiredBy = requiredBy
		}
		return err
	}
	switch x.state[p.Name] {
	case done:
		return nil
	case visiting:
		start := slices.Index(x.stack, p.Name)
		return &CycleError{Cycle: append(slices.Clone(x.stack[start:]), p.Name)}
	}
	x.state[p.Name] = visiting
	x.stack = append(x.stack, p.Name)
	for _, req := range p.Requires {
		if err := x.visit(req, p.Name); err != nil {
			return err
		}
	}
	x.stack = x.stack[:len(x.stack)-1]
	x.state[p.Name] = done
	x.out = append(x.out, p)
	return nil
}

// Find returns the profile called name ("npm" or "@npm") among the user
// profiles (keyed by canonical name; nil is fine) and the built-in ones. An
// unknown name gives an *UnknownError suggesting the closest known name.
func Find(name string, user map[string]Profile) (Profile, error) {
	if canon, err := Normalize(name); err == nil {
		if p, ok := user[canon]; ok {
			p = p.clone()
			p.Name = canon
			return p, nil
		}
		if p, ok := Lookup(canon); ok {
			return p, nil
		}
	}
	known := Names()
	for n := range user {
		known = append(known, n)
	}
	guess := "@" + strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "@")
	return Profile{}, &UnknownError{Name: name, Suggestion: Suggest(guess, known)}
}

func (p Profile) clone() Profile {
	p.Requires = slices.Clone(p.Requires)
	p.Domains = slices.Clone(p.Domains)
	p.Why = maps.Clone(p.Why)
	p.Notes = slices.Clone(p.Notes)
	p.Read = slices.Clone(p.Read)
	p.Execute = slices.Clone(p.Execute)
	p.ReadWrite = slices.Clone(p.ReadWrite)
	p.Traversal = slices.Clone(p.Traversal)
	p.Env = slices.Clone(p.Env)
	return p
}
