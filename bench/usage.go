package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// usage is what one run of a command costs besides time, as GNU time
// reports it from wait4: minor page faults and peak resident memory,
// counting every process the command waited for (for `pent run` that is
// pent, its init stage and the command). The peak RSS is never below GNU
// time's own (about 2 MiB): a process keeps the high-water mark of the one
// it was forked from across exec, which is why the bench does not start
// the commands itself for this.
type usage struct {
	minflt int64
	rssKiB int64
}

func (u usage) String() string {
	return fmt.Sprintf("%d minor faults, %.1f MiB RSS", u.minflt, float64(u.rssKiB)/1024)
}

// usage runs argv n times under GNU time the way r says and returns the
// median of each measure.
func (r runner) usage(ctx context.Context, n int, argv ...string) (usage, error) {
	out := filepath.Join(r.tmp, fmt.Sprintf("usage-%d", time.Now().UnixNano()))
	defer os.Remove(out)
	var flts, rss []int64
	for range max(n, 1) {
		cmd := exec.CommandContext(ctx, "time", append([]string{"-o", out, "-f", "%R %M"}, argv...)...)
		cmd.Dir, cmd.Env, cmd.SysProcAttr = r.dir, r.env, r.cred
		if b, err := cmd.CombinedOutput(); err != nil {
			return usage{}, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(b)))
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return usage{}, fmt.Errorf("GNU time's report: %w", err)
		}
		var u usage
		if _, err := fmt.Sscanf(string(b), "%d %d\n", &u.minflt, &u.rssKiB); err != nil {
			return usage{}, fmt.Errorf("GNU time's report %q: %w", b, err)
		}
		flts, rss = append(flts, u.minflt), append(rss, u.rssKiB)
	}
	slices.Sort(flts)
	slices.Sort(rss)
	return usage{minflt: flts[len(flts)/2], rssKiB: rss[len(rss)/2]}, nil
}
