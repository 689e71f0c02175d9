package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// probeTimeout bounds each step of the file system probes pent makes at
// start-up (the existence checks of Defaults, all of them together; the
// command's PATH lookup; resolving one symbolic link chain): a path on a
// hung network mount (NFS, a stuck autofs map) blocks stat in the kernel
// for as long as the server is away.
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

// answerWithin returns what f answers within d, or errProbeTimeout. A call
// left waiting on a hung path ends when the kernel answers; nothing waits
// for it.
func answerWithin[T any](d time.Duration, f func() (T, error)) (T, error) {
	type answer struct {
		v   T
		err error
	}
	answers := make(chan answer, 1) // buffered: a late answer never blocks
	go func() {
		v, err := f()
		answers <- answer{v, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case a := <-answers:
		return a.v, a.err
	case <-timer.C:
		var zero T
		return zero, errProbeTimeout
	}
}

// EvalSymlinks is filepath.EvalSymlinks bounded by probeTimeout: a link
// into a hung network mount fails instead of stalling the caller.
func EvalSymlinks(path string) (string, error) {
	real, err := answerWithin(probeTimeout, func() (string, error) { return filepath.EvalSymlinks(path) })
	if errors.Is(err, errProbeTimeout) {
		return "", fmt.Errorf("resolving %q: %w", path, err)
	}
	return real, err
}

// LookPath finds the program name the way a shell does: a name holding a
// slash as given (relative to cwd), else the first executable file called
// name in the absolute directories of path (PATH's format), in order,
// probing no directory after that one. The probes share one bound,
// probeTimeout: a directory that does not answer in time makes LookPath
// fail, naming it, as which program the shell would run is not known.
// A name it does not find is a NotRunnable: 127, or 126 when PATH holds a
// file of that name that is not executable (as bash and zsh say).
func LookPath(name, path, cwd string) (string, error) {
	return lookPath(os.Stat, name, path, cwd, probeTimeout)
}

// lookPath is LookPath with the stat function and the bound as parameters.
func lookPath(stat func(string) (os.FileInfo, error), name, path, cwd string, d time.Duration) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	if filepath.Base(name) != name {
		return filepath.Join(cwd, name), nil
	}
	deadline := time.Now().Add(d)
	plain := false // a file of that name that is not executable: a shell's 126
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		candidate := filepath.Join(dir, name)
		fi, err := answerWithin(time.Until(deadline), func() (os.FileInfo, error) { return stat(candidate) })
		switch {
		case errors.Is(err, errProbeTimeout):
			return "", fmt.Errorf("%q: the PATH directory %q gave no answer within %v (a hung network mount?): take it off PATH or give the command's full path",
				name, dir, d)
		case err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0:
			return candidate, nil
		case err == nil && !fi.IsDir():
			plain = true
		}
	}
	if plain {
		return "", &NotRunnable{Name: name, Reason: "permission denied (it is not executable: chmod +x it)", Code: ExitNotExecutable}
	}
	return "", notFound(name)
}
