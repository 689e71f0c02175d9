package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/pent-sandbox/pent/profiles"
)

// SetProfiles returns data with its top-level `profiles = [...]` replaced by
// names (canonical, de-duplicated), or with such a line inserted at the top
// when there is none. Every other byte, comments included, is kept. data must
// be valid TOML; names must be valid profile names (whether they exist is the
// caller's check, with profiles.Expand).
func SetProfiles(data []byte, names []string) ([]byte, error) {
	var canon []string
	for _, n := range names {
		c, err := profiles.Normalize(n)
		if err != nil {
			return nil, err
		}
		canon = appendNew(canon, c)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, tomlError("", err)
	}
	out, err := SetArray(data, "profiles", canon)
	if err != nil {
		return nil, err
	}
	if err := checkProfilesValue(out, canon); err != nil {
		return nil, err
	}
	return out, nil
}

// checkProfilesValue checks that the rewritten document is valid TOML whose
// top-level profiles are exactly want; it fails when the file uses the name
// profiles some other way, e.g. as a [profiles] table.
func checkProfilesValue(data []byte, want []string) error {
	var doc struct {
		Profiles []string `toml:"profiles"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("cannot set profiles in this file: %w", tomlError("", err))
	}
	if !slices.Equal(doc.Profiles, want) {
		return fmt.Errorf("cannot set profiles in this file: it uses the key profiles in another way")
	}
	return nil
}

// Starter returns a commented starter file of the given kind listing
// profiles, for `pent config init` and `pent init`. wrap is written only for
// a Project file, the only kind that may wrap commands. The result parses
// with Parse as long as the profile names exist.
func Starter(kind Kind, profileNames, wrap []string) []byte {
	var b strings.Builder
	switch kind {
	case Global:
		b.WriteString("# pent global configuration: applies to every `pent run` and wrapped command.\n")
	case Project:
		b.WriteString("# pent project configuration. It has no effect until you run `pent allow`,\n" +
			"# and editing it asks for `pent allow` again.\n")
	default:
		b.WriteString("# pent configuration, used with `pent run --config FILE`.\n")
	}
	names := make([]string, len(profileNames))
	for i, n := range profileNames {
		names[i] = n
		if c, err := profiles.Normalize(n); err == nil {
			names[i] = c
		}
	}
	b.WriteString("\n# Profiles by name; `pent profiles` lists them and what each grants.\n")
	fmt.Fprintf(&b, "profiles = %s\n", TOMLList(names))
	if kind == Project {
		b.WriteString("\n# Commands the shell hook runs inside the sandbox in this project.\n")
		if len(wrap) > 0 {
			fmt.Fprintf(&b, "wrap = %s\n", TOMLList(wrap))
		} else {
			b.WriteString("# wrap = [\"npm\", \"npx\", \"node\"]\n")
		}
	}
	b.WriteString(starterTables)
	if kind == Global {
		b.WriteString(starterProfile)
	}
	return []byte(b.String())
}

// starterTables documents every section with commented-out examples.
const starterTables = `
[sandbox]
# network = "proxy"               # unrestricted | localhost | proxy | blocked
# env = ["GITHUB_TOKEN"]          # extra variables passed through: KEY or KEY=VALUE

[sandbox.paths]                   # ~ and $HOME expand; relative paths are relative to the project root
# traversal = ["~"]               # directories that can be listed, nothing more
# read = ["~/.npmrc"]
# execute = ["~/.local/bin"]
# read_write = ["~/.npm"]

[proxy]
# domain_allowlist = ["registry.npmjs.org", "*.npmjs.org", "github.com:22"]
# upstream_dns = ["127.0.0.53:53"]  # default: the host's resolvers
# destinations = ["127.0.0.0/8"]    # private or loopback ranges allowed names may resolve to (loopback: localhost:PORT, /etc/hosts names)
`

// starterProfile shows how to define a user profile in the global file.
const starterProfile = `
# Your own profiles, used like the built-in ones (profiles = ["@mytool"]):
# [profile.mytool]
# summary = "what it is for"
# requires = ["@node"]
# domains = ["api.mytool.example"]
# read_write = ["~/.mytool"]
# env = ["MYTOOL_TOKEN"]
`

// TOMLList writes strings as a one-line TOML array of basic strings.
func TOMLList(vals []string) string {
	quoted := make([]string, len(vals))
	for i, v := range vals {
		quoted[i] = TOMLString(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// TOMLString writes s as a TOML basic string.
func TOMLString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
