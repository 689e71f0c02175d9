package shells

import (
	"strings"

	"github.com/pent-sandbox/pent/hook"
)

// Zsh is the Z shell (5.1 or later).
type Zsh struct{}

// Name implements Shell.
func (Zsh) Name() string { return "zsh" }

// Hook implements Shell. It prepends _pent_hook to precmd_functions and
// chpwd_functions unless it is already there, and does nothing in subshells
// or completion widgets.
func (Zsh) Hook(self string) string {
	bin := PosixQuote(self)
	return `_pent_hook() {
  local _pent_status=$?
  emulate -L zsh
  (( ZSH_SUBSHELL || ${+compstate} )) && return $_pent_status
  local _pent_r=0
  _pent_current || _pent_r=$?
  if (( _pent_r != 0 )); then
    if [[ -x ` + bin + ` ]]; then
      eval "$(` + bin + ` export zsh --fresh=$(( _pent_r == 2 )))"
    else
      print -ru2 -- ` + PosixQuote(goneMessage(self)) + `
      _pent_hook() { return $?; }
    fi
  fi
  return $_pent_status
}
(( ${+functions[_pent_current]} )) || _pent_current() { return 2; }
typeset -ag precmd_functions chpwd_functions
(( ${precmd_functions[(I)_pent_hook]} )) || precmd_functions=(_pent_hook ${precmd_functions[@]})
(( ${chpwd_functions[(I)_pent_hook]} )) || chpwd_functions=(_pent_hook ${chpwd_functions[@]})
`
}

// zshBuiltin is the condition that name is a zsh builtin or reserved word
// (a name the wrappers never replace).
func zshBuiltin(name string) string {
	return "(( ${+builtins[" + name + "]} || ${reswords[(Ie)" + name + "]} ))"
}

// Render implements Shell. Functions are copied through the functions
// parameter, so nothing forks. A name that is a zsh builtin or reserved word
// is not wrapped, with a notice.
func (Zsh) Render(p hook.Plan) string {
	var b strings.Builder
	for _, n := range p.Unwrap {
		s := savedName(n)
		b.WriteString("if ! " + zshBuiltin(n) + "; then (( ${+functions[" + n + "]} )) && unfunction " + n + "\n")
		b.WriteString("if (( ${+functions[" + s + "]} )); then functions[" + n + "]=$functions[" + s + "]; unfunction " + s + "; fi; fi\n")
	}
	for _, n := range p.Wrap {
		s := savedName(n)
		b.WriteString("if " + zshBuiltin(n) + "; then print -ru2 -- " + PosixQuote(builtinNotice("zsh", n)) + "; else\n")
		b.WriteString("(( ${+functions[" + n + "]} && ! ${+functions[" + s + "]} )) && functions[" + s + "]=$functions[" + n + "]\n")
		body := PosixQuote(p.Bin) + " run --wrapped " + n + " -- " + n + ` "$@"`
		b.WriteString("functions[" + n + "]=" + PosixQuote(body) + "\n")
		b.WriteString("fi\n")
	}
	writePosixVars(&b, p)
	b.WriteString("functions[_pent_current]=" + PosixQuote("[[ "+posixWatch(p.Watch)+" ]]") + "\n")
	return b.String()
}
