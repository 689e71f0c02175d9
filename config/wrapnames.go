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
	"contains", "count", "emit", "math", "status", "string", "set_color", "commandline", "realpath", "path",
	"random", "block", "breakpoint", "vared", "sched", "compdef", "disable", "rehash", "unhash", "zcompile",
	"zformat", "zparseopts", "zregexparse", "zprof", "zpty", "zsocket", "zsystem", "ttyctl", "noglob",
	// pent itself
	"pent",
}

// shellHookFunctions are functions the shells call or ship themselves (zsh's
// hook points, bash's not-found handler, fish's own prompt helpers and
// directory history): a wrapper by that name would run at every prompt,
// directory change or command, or break the shell's own functions.
var shellHookFunctions = []string{
	"precmd", "preexec", "chpwd", "periodic", "zshaddhistory", "zshexit", "command_not_found_handle",
	"command_not_found_handler", "prompt_pwd", "isatty", "cdh", "nextd", "prevd", "dirh",
}

// reservedPrefixes start names that belong to the shells or the hook, as a
// family rather than one by one: the hook's own functions (_pent_hook,
// _pent_current, the saved copies of shadowed user functions), fish's
// functions and event handlers (fish_prompt, fish_vcs_prompt, __fish_*),
// zsh's widgets (zle-line-init…) and trap functions (TRAPINT…).
var reservedPrefixes = []string{"_pent", "__pent_", "fish_", "__fish", "zle-", "TRAP"}

// reservedSuffixes end names that belong to the shells: zsh's hook helpers
// (add-zsh-hook and its kind).
var reservedSuffixes = []string{"-zsh-hook"}

// reservedCommand refuses a wrap entry that names a shell keyword or
// builtin, a function the shell calls itself, or one of the hook's own.
func reservedCommand(name string) error {
	switch {
	case slices.Contains(shellWords, name):
		return problemf("%q is a shell keyword or builtin, or pent itself: a wrapper function cannot replace it", name)
	case slices.Contains(shellHookFunctions, name):
		return problemf("%q is a function the shell calls on its own: a wrapper by that name would run at every prompt", name)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return problemf("%q starts with %q, which the shells or the shell hook reserve for their own functions", name, p)
		}
	}
	for _, sfx := range reservedSuffixes {
		if strings.HasSuffix(name, sfx) {
			return problemf("%q ends with %q, which zsh reserves for its own functions", name, sfx)
		}
	}
	return nil
}
