package run

import (
	"strconv"
	"strings"

	"github.com/pent-sandbox/pent/trace"
)

// maxExplained is how many refusals the exit summary lists one by one.
const maxExplained = 5

// explainNetwork prints one line per name or name:port the proxy refused in
// this run, with its fix, at most maxExplained, then how many more there
// were and where to read them. It prints nothing when nothing was refused.
func (t *traceRun) explainNetwork(out Output) {
	var refused []trace.Entry
	for _, e := range t.recorder().Entries() {
		if e.Kind == trace.KindNetwork {
			refused = append(refused, e)
		}
	}
	for i, e := range refused {
		if i == maxExplained {
			where := "`pent proxy logs`"
			if t.daemon == nil && t.proxyLog != "" {
				where = t.proxyLog
			}
			out.Say("and %d more — %s", len(refused)-maxExplained, where)
			return
		}
		out.Say("%s", explainLine(e))
	}
}

// explainLine is the summary line of one refusal: what, which process of
// the sandbox held the socket of the first one (when the proxy found it,
// Holders > 0, and how many others held it too), how often, and the fix
// (the --allow flag and the config key) or why no setting allows it.
func explainLine(e trace.Entry) string {
	what := "connection to"
	if e.Op == trace.OpDNS {
		what = "lookup of"
	}
	line := "the proxy refused the " + what + " " + e.Target
	var about []string
	if e.Holders > 0 {
		held := "socket held by " + e.Command + "[" + strconv.Itoa(e.PID) + "]"
		switch others := e.Holders - 1; {
		case others == 1:
			held += " and 1 other process"
		case others > 1:
			held += " and " + strconv.Itoa(others) + " other processes"
		}
		about = append(about, held)
	}
	if e.Count > 1 {
		about = append(about, strconv.Itoa(e.Count)+"×")
	}
	if len(about) > 0 {
		line += " (" + strings.Join(about, ", ") + ")"
	}
	if e.Fix != nil && e.Fix.Key == trace.KeyAllow {
		return line + " — allow it with `pent run --allow " + e.Fix.Value + "` or " + e.Hint
	}
	return line + ": " + e.Hint
}
