package shells

import (
	"strings"

	"github.com/pent-sandbox/pent/hook"
)

// Fish is the friendly interactive shell (3.1 or later).
type Fish struct{}

// Name implements Shell.
func (Fish) Name() string { return "fish" }

// Hook implements Shell: a fish_prompt event handler, plus a PWD variable
// handler, so that a directory change made by a key binding while editing, or
// by the command line itself (`cd app; and npm i`), brings the wrappers in
// line before the next command runs. Both run builtins only until something
// changed.
func (Fish) Hook(self string) string {
	bin := FishQuote(self)
	return `function _pent_sync
    _pent_current
    set -l r $status
    test $r -eq 0; and return
    if test -x ` + bin + `
        set -l fresh 0
        test $r -eq 2; and set fresh 1
        ` + bin + ` export fish --fresh=$fresh | source
    else
        printf '%s\n' ` + FishQuote(goneMessage(self)) + ` >&2
        function _pent_sync
        end
    end
end
function _pent_hook --on-event fish_prompt
    set -l s $status
    _pent_sync
    return $s
end
function _pent_on_pwd --on-variable PWD
    set -l s $status
    _pent_sync
    return $s
end
functions -q _pent_current; or function _pent_current
    return 2
end
`
}

// Render implements Shell. A name that is a fish builtin (keywords are
// builtins in fish) is not wrapped, with a notice.
func (Fish) Render(p hook.Plan) string {
	var b strings.Builder
	for _, n := range p.Unwrap {
		s := savedName(n)
		b.WriteString("if not builtin -q " + n + "; functions -e " + n + "\n")
		b.WriteString("if functions -q " + s + "; functions -c " + s + " " + n + "; functions -e " + s + "; end; end\n")
	}
	for _, n := range p.Wrap {
		s := savedName(n)
		b.WriteString("if builtin -q " + n + "; printf '%s\\n' " + FishQuote(builtinNotice("fish", n)) + " >&2; else\n")
		b.WriteString("if functions -q " + n + "; and not functions -q " + s + "; functions -c " + n + " " + s + "; end\n")
		b.WriteString("function " + n + " --description " + FishQuote("pent: run "+n+" sandboxed") + "; " +
			FishQuote(p.Bin) + " run --wrapped " + n + " -- " + n + " $argv; end\n")
		b.WriteString("end\n")
	}
	for _, v := range p.Set {
		b.WriteString("set -gx " + v.Name + " " + FishQuote(v.Value) + "\n")
	}
	for _, n := range p.Unset {
		b.WriteString("set -e -g " + n + "\n")
	}
	b.WriteString("function _pent_current; " + fishWatch(p.Watch) + "; end\n")
	return b.String()
}

// fishWatch is the fish condition that holds while nothing in w changed.
func fishWatch(w hook.Watch) string {
	stamp := FishQuote(w.Stamp)
	conds := []string{`test "$PWD" = ` + FishQuote(w.Dir), "test -e " + stamp}
	for _, f := range w.Newer {
		q := FishQuote(f)
		conds = append(conds, "test -e "+q, "not test "+q+" -nt "+stamp)
	}
	for _, f := range w.Present {
		conds = append(conds, "test -e "+FishQuote(f))
	}
	for _, f := range w.Absent {
		conds = append(conds, "not test -e "+FishQuote(f))
	}
	return strings.Join(conds, "; and ")
}
