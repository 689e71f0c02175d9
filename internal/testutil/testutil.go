// Package testutil holds the helpers that the tests of several packages
// share: counting a process's descriptors and serving TCP or Unix
// connections until a test ends, and measuring what a package costs at
// initialisation. Only tests import it.
package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// FDs counts the open descriptors of process pid (0 for the test process)
// whose link target (such as "socket:[123]", "pipe:[45]" or a path) keep
// accepts; a nil keep counts them all.
func FDs(t testing.TB, pid int, keep func(target string) bool) int {
	t.Helper()
	dir := "/proc/self/fd"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/fd"
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("counting descriptors: %v", err)
	}
	n := 0
	for _, e := range ents {
		// A descriptor closed since ReadDir has no link left: not counted.
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && (keep == nil || keep(target)) {
			n++
		}
	}
	return n
}

// IsPipe says whether a descriptor's link target is a pipe.
func IsPipe(target string) bool { return strings.HasPrefix(target, "pipe:") }

// NotPipe says whether a descriptor's link target is not a pipe. Leak checks
// count with it: Go keeps a pool of pipes for splice(2) relaying, which the
// garbage collector frees whenever it runs.
func NotPipe(target string) bool { return !IsPipe(target) }

// AcceptLoop listens on network address addr until the test ends and hands
// every connection it accepts to handle, one after the other; it returns
// the address it listens on.
func AcceptLoop(t testing.TB, network, addr string, handle func(net.Conn)) net.Addr {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
	return ln.Addr()
}

// ServeBanner accepts connections on network address addr until the test
// ends, counts them in hits (when not nil) and greets each with banner
// before closing it; it returns the address it listens on.
func ServeBanner(t testing.TB, network, addr, banner string, hits *atomic.Int32) net.Addr {
	t.Helper()
	return AcceptLoop(t, network, addr, func(c net.Conn) {
		if hits != nil {
			hits.Add(1)
		}
		_, _ = c.Write([]byte(banner))
		c.Close()
	})
}

// InitAllocs is how many allocations the initialisation of package pkg
// (an import path) makes in the running test binary: it starts the binary
// again with GODEBUG=inittrace=1 and no test to run, and reads the
// runtime's line for pkg (none: 0). Pass pkg from reflect (PkgPath) so that
// a misspelt path cannot pass. Every start of pent pays for what its packages
// do at initialisation, so the hot paths' packages keep it small.
func InitAllocs(t testing.TB, pkg string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("starting the test binary with inittrace: %v: %s", err, out)
	}
	// init PKG @T ms, C ms clock, B bytes, N allocs
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 11 && f[0] == "init" && f[1] == pkg && f[10] == "allocs" {
			n, err := strconv.Atoi(f[9])
			if err != nil {
				t.Fatalf("inittrace line %q: %v", line, err)
			}
			return n
		}
	}
	return 0 // the runtime has no line for a package whose init does nothing
}
