package run

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/keep"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/scope"
)

// maxNamed is how many paths the summary of discarded writes names.
const maxNamed = 3

// keepDiscarded has the sandbox hand the writes it would discard to a
// pending layer of h.Kept (none when h.Kept has no directory).
func (x *runner) keepDiscarded(opts *sandbox.LaunchOptions) {
	if x.h.Kept.Dir == "" {
		return
	}
	x.kept = x.h.Kept.Begin(cmp.Or(x.c.Root(), x.c.Cwd))
	opts.Discarded = x.kept.Add
}

// reportDiscarded closes the run's pending layer and says, in one line,
// what the command wrote that did not reach the host.
func (x *runner) reportDiscarded() {
	if x.kept == nil {
		return
	}
	layer, err := x.kept.Close()
	if err != nil {
		x.h.Out.Warn("some writes outside the allowed paths were lost: %v", err)
	}
	if len(layer.Files) > 0 {
		x.h.Out.Say("%s", DiscardedSummary(layer, x.c.Home, x.h.HostExecuted))
	}
}

// DiscardedSummary is the line that names the files of a pending layer,
// how to keep them and how to allow them next time. It suggests --write
// only for a path `pent keep` may write (keep.Guard, from the locations
// the host executes, locs).
func DiscardedSummary(layer keep.Layer, home string, locs []scope.HostExecuted) string {
	files := layer.Files
	names := make([]string, 0, maxNamed)
	for _, f := range files[:min(len(files), maxNamed)] {
		names = append(names, config.Tilde(f.Path, home))
	}
	list := strings.Join(names, ", ")
	if more := len(files) - len(names); more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	guard := keep.NewGuard(home, locs)
	example, keepable := "", 0
	for _, f := range files {
		if where, _ := guard.Refusal(f.Path, layer.Project); where == "" {
			if keepable++; example == "" {
				example = config.Tilde(f.Path, home)
			}
		}
	}
	head := fmt.Sprintf("%d writes outside the allowed paths were not kept: %s", len(files), list)
	them := "them"
	if len(files) == 1 {
		head, them = "1 write outside the allowed paths was not kept: "+list, "it"
	}
	switch keepable {
	case 0:
		none := "writes none of them"
		if len(files) == 1 {
			none = "does not write it"
		}
		return head + " — pent keep " + none + " (configuration, credentials or places the host runs or trusts); `pent keep --list` shows where their content is"
	case len(files):
		return fmt.Sprintf("%s — keep %s with `pent keep`, allow %s next time with --write %s (read_write in the config)", head, them, them, example)
	}
	return fmt.Sprintf("%s — `pent keep` writes %d of them, not configuration, credentials or places the host runs or trusts; allow %s next time with --write %s (read_write in the config)", head, keepable, example, example)
}
