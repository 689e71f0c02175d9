// Package shells turns pent's shell-independent hook decisions into code for
// one shell: the hook script that `pent hook SHELL` prints and the code that
// `pent export SHELL` prints to bring a shell in line with a hook.Plan. Adding
// a shell is adding one file with a type that satisfies Shell.
//
// Every generated script runs only shell builtins on a prompt where nothing
// changed: the freshness check `_pent_current`, which Render defines from
// Plan.Watch, compares $PWD and file times with test builtins (all three
// shells compare nanosecond mtimes), and `pent export` runs only when it
// fails. `_pent_current` is per shell process (functions are not inherited),
// so a nested or exec'd shell starts with the hook's default, which returns 2
// and makes the hook run `pent export SHELL --fresh=1`.
package shells

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pent-sandbox/pent/hook"
)

// Shell is one supported shell.
type Shell interface {
	// Name is the shell's name as typed in `pent hook NAME`.
	Name() string
	// Hook returns the script that installs the prompt hook; selfPath is the
	// pent binary, embedded quoted and unresolved.
	Hook(selfPath string) string
	// Render returns code that applies p in the shell.
	Render(p hook.Plan) string
}

var all = map[string]Shell{"bash": Bash{}, "zsh": Zsh{}, "fish": Fish{}}

// Get returns the shell called name.
func Get(name string) (Shell, error) {
	if s, ok := all[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unsupported shell %q (supported: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the supported shells, sorted.
func Names() []string {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// savedName is the function that holds a user function shadowed by a wrapper.
func savedName(name string) string { return "__pent_saved_" + name }

// builtinNotice is what a shell prints instead of wrapping name, a builtin
// or keyword of its own: a function could not replace it (or would break the
// shell), and pent refuses such names at allow time only as far as it knows
// them.
func builtinNotice(shell, name string) string {
	return "pent: " + name + " is a " + shell + " builtin or keyword: not wrapped; it runs unsandboxed"
}

// goneMessage is what the hook prints once when the pent binary vanished.
func goneMessage(self string) string {
	return "pent: " + self + " is gone; the shell hook is off in this shell until pent is installed again"
}
