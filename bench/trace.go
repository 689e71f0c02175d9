package main

import (
	"context"
	"fmt"
)

const traceSection = "--trace"

// heavyCommand is the file-heavy command --trace is measured on (NUL-separated
// names: /usr has file names with spaces).
const heavyCommand = "find /usr -type f -print0 | head -z -n 20000 | xargs -0 cat >/dev/null"

// measureTrace compares `pent run --trace` with `pent run` and the bare
// command on a file-heavy command.
func measureTrace(ctx context.Context, w *workspace, it iters, rep *report) {
	metric := fmt.Sprintf("`--trace` overhead on `%s`", heavyCommand)
	r := runner{dir: w.plain, env: w.env(), tmp: w.dir}
	if err := r.probe(ctx, w.pent, "run", "--trace", "--", "/bin/true"); err != nil {
		rep.unavailable(traceSection, metric, "", err)
		return
	}
	sh := "sh -c '" + heavyCommand + "'"
	med, err := r.hyperfine(ctx, 1, it.heavyRuns, 1, []hfCmd{
		{"bare", sh},
		{"pent", w.pent + " run -- " + sh},
		{"trace", w.pent + " run --trace -- " + sh},
	})
	if err != nil {
		rep.unavailable(traceSection, metric, "", err)
		return
	}
	rep.add(row{section: traceSection, metric: metric,
		value: fmt.Sprintf("with --trace %s, without %s, bare %s", ms(med["trace"]), ms(med["pent"]), ms(med["bare"])),
		ratio: ratio(float64(med["trace"]), float64(med["pent"])) + " without --trace"})
}
