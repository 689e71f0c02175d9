package config

import (
	"slices"
	"strings"
)

// shellWords are the keywords and builtins of bash, zsh and fish. A wrapper
// function of such a name would change how the shell itself (or the hook,
// which uses several of them) behaves, and `cd` and `pent` would break the
// hook outright.
var shellWords = []string{
	// keywords
	"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do", "done",
	"in", "function", "time", "coproc", "begin", "end", "and", "or", "not", "switch", "repeat", "foreach",
	"nocorrect", "noglob", "always",
	// builtins (bash, zsh, fish)
	"alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete", "compopt",
	"continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit", "export", "false",
	"fc", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let", "local", "logout", "mapfile",
	"popd", "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "set", "shift", "shopt",
	"source", "suspend", "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias",
	"unset", "wait", "autoload", "bindkey", "emulate", "functions", "print", "setopt", "unsetopt",
	"unfunction", "whence", "where", "which", "zle", "zmodload", "zstyle", "zparseopts", "abbr", "argparse",
	"contains", "count", "emit", "math", "status", "string", "set_color", "commandline",
	// pent itself
	"pent",
}

// shellHookFunctions are functions the shells call on their own: a wrapper
// by that name would run at every prompt, directory change or command.
var shellHookFunctions = []string{
	"precmd", "preexec", "chpwd", "periodic", "zshaddhistory", "zshexit", "command_not_found_handle",
	"command_not_found_handler", "fish_prompt", "fish_right_prompt", "fish_mode_prompt", "fish_greeting",
	"fish_title", "fish_preexec", "fish_postexec", "fish_command_not_found",
}

// hookPrefixes start the names of the hook's own functions (_pent_hook,
// _pent_current, the saved copies of shadowed user functions) and zsh's
// trap functions (TRAPINT…).
var hookPrefixes = []string{"_pent_", "__pent_", "TRAP"}

// reservedCommand refuses a wrap entry that names a shell keyword or
// builtin, a function the shell calls itself, or one of the hook's own.
func reservedCommand(name string) error {
	switch {
	case slices.Contains(shellWords, name):
		return problemf("%q is a shell keyword or builtin, or pent itself: a wrapper function cannot replace it", name)
	case slices.Contains(shellHookFunctions, name):
		return problemf("%q is a function the shell calls on its own: a wrapper by that name would run at every prompt", name)
	}
	for _, p := range hookPrefixes {
		if strings.HasPrefix(name, p) {
			return problemf("%q starts with %q, which the shell hook reserves for its own functions", name, p)
		}
	}
	return nil
}
