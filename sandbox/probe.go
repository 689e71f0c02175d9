package sandbox

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// probeTimeout bounds the existence checks Defaults makes at start-up, all
// of them together: a path on a hung network mount (NFS, a stuck autofs
// map) blocks stat in the kernel for as long as the server is away.
const probeTimeout = 2 * time.Second

// errProbeTimeout is the result of a check that did not answer in time.
var errProbeTimeout = errors.New("no answer in time (a hung network mount?)")

// statResult is one answer of statAll.
type statResult struct {
	info os.FileInfo
	err  error
}

// statAll runs stat on every path at once and returns what each answered
// within d, errProbeTimeout for those that did not. A goroutine left
// waiting on a hung path ends when the kernel answers; nothing waits for
// it.
func statAll(stat func(string) (os.FileInfo, error), paths []string, d time.Duration) []statResult {
	type answer struct {
		i int
		statResult
	}
	answers := make(chan answer, len(paths)) // buffered: late answers never block
	for i, p := range paths {
		go func() {
			fi, err := stat(p)
			answers <- answer{i, statResult{fi, err}}
		}()
	}
	out := make([]statResult, len(paths))
	for i, p := range paths {
		out[i].err = fmt.Errorf("%s: %w", p, errProbeTimeout)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for range paths {
		select {
		case a := <-answers:
			out[a.i] = a.statResult
		case <-timer.C:
			return out
		}
	}
	return out
}
