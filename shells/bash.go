package shells

import (
	"strings"

	"github.com/pent-sandbox/pent/hook"
)

// Bash is GNU bash (4.4 or later).
type Bash struct{}

// Name implements Shell.
func (Bash) Name() string { return "bash" }

// Hook implements Shell. It prepends _pent_hook to PROMPT_COMMAND, in its
// string or array form, unless it is already there. Bash has no directory
// change hook, so cd, pushd and popd become functions that run the builtin
// (or the user's own function of that name, kept as __pent_user_NAME) and
// then _pent_hook: `cd app && npm i` on one line runs the project's wrapper.
// This costs nothing at a prompt or a command; a DEBUG trap would run before
// every simple command and fight other tools for the one trap.
func (Bash) Hook(self string) string {
	bin := PosixQuote(self)
	return `_pent_hook() {
  local _pent_status=$? _pent_r=0
  _pent_current || _pent_r=$?
  if (( _pent_r != 0 )); then
    if [[ -x ` + bin + ` ]]; then
      eval "$(` + bin + ` export bash --fresh=$(( _pent_r == 2 )))"
    else
      printf '%s\n' ` + PosixQuote(goneMessage(self)) + ` >&2
      _pent_hook() { return; }
    fi
  fi
  return "$_pent_status"
}
declare -F _pent_current >/dev/null || _pent_current() { return 2; }
if ! declare -F _pent_chdir >/dev/null; then
  _pent_chdir() { "$@" || return; _pent_hook; }
  for _pent_f in cd pushd popd; do
    if declare -F "$_pent_f" >/dev/null; then
      _pent_b=$(declare -f "$_pent_f")
      eval "__pent_user_$_pent_f ${_pent_b#"$_pent_f"}"
      eval "function $_pent_f { _pent_chdir __pent_user_$_pent_f \"\$@\"; }"
    else
      eval "function $_pent_f { _pent_chdir builtin $_pent_f \"\$@\"; }"
    fi
  done
  unset _pent_f _pent_b
fi
if [[ ${PROMPT_COMMAND+${PROMPT_COMMAND@a}} == *a* ]]; then
  [[ " ${PROMPT_COMMAND[*]} " == *" _pent_hook "* ]] || PROMPT_COMMAND=(_pent_hook "${PROMPT_COMMAND[@]}")
else
  [[ ${PROMPT_COMMAND-} == *_pent_hook* ]] || PROMPT_COMMAND="_pent_hook${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}"
fi
`
}

// Render implements Shell. Saving a shadowed user function costs one
// subshell (bash has no other way to copy a function); nothing else forks.
// A name that is a bash builtin or keyword is not wrapped (compgen, a
// builtin, tells), with a notice.
func (Bash) Render(p hook.Plan) string {
	var b strings.Builder
	bin := PosixQuote(p.Bin)
	for _, n := range p.Unwrap {
		s := savedName(n)
		b.WriteString("if ! { " + bashBuiltin(n) + "; }; then unset -f " + n + "\n")
		b.WriteString("if declare -F " + s + " >/dev/null; then " + s + "; unset -f " + s + "; fi; fi\n")
	}
	for _, n := range p.Wrap {
		s := savedName(n)
		b.WriteString("if " + bashBuiltin(n) + "; then printf '%s\\n' " + PosixQuote(builtinNotice("bash", n)) + " >&2; else\n")
		b.WriteString("if declare -F " + n + " >/dev/null && ! declare -F " + s + " >/dev/null; then " +
			`eval "function ` + s + ` {"$'\n'"$(declare -f ` + n + `)"$'\n'"}"; fi` + "\n")
		b.WriteString("function " + n + " { " + bin + " run --wrapped " + n + " -- " + n + ` "$@"; }` + "\n")
		b.WriteString("fi\n")
	}
	writePosixVars(&b, p)
	b.WriteString("function _pent_current { [[ " + posixWatch(p.Watch) + " ]]; }\n")
	return b.String()
}

// bashBuiltin is the condition that name is a bash builtin or keyword
// (a name the wrappers never replace).
func bashBuiltin(name string) string {
	return "compgen -b -X '!" + name + "' -- " + name + " >/dev/null || compgen -k -X '!" + name + "' -- " + name + " >/dev/null"
}

// writePosixVars exports and unsets the plan's variables (bash and zsh).
func writePosixVars(b *strings.Builder, p hook.Plan) {
	for _, v := range p.Set {
		b.WriteString("export " + v.Name + "=" + PosixQuote(v.Value) + "\n")
	}
	for _, n := range p.Unset {
		b.WriteString("unset " + n + "\n")
	}
}

// posixWatch is the [[ … ]] condition (bash and zsh) that holds while
// nothing in w changed.
func posixWatch(w hook.Watch) string {
	stamp := PosixQuote(w.Stamp)
	conds := []string{"$PWD == " + PosixQuote(w.Dir), "-e " + stamp}
	for _, f := range w.Newer {
		q := PosixQuote(f)
		conds = append(conds, "-e "+q, "! "+q+" -nt "+stamp)
	}
	for _, f := range w.Present {
		conds = append(conds, "-e "+PosixQuote(f))
	}
	for _, f := range w.Absent {
		conds = append(conds, "! -e "+PosixQuote(f))
	}
	return strings.Join(conds, " && ")
}
