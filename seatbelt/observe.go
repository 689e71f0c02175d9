package seatbelt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pent-sandbox/pent/scope"
)

// This file is the OS-independent part of the macOS trace observer
// (observe_darwin.go): which lines of `log stream` belong to the run, and
// how a Seatbelt denial becomes the scope.FileDenial the Linux observer
// reports. It is free of build tags so that its tests run on Linux.
//
// Which processes are the run's: Seatbelt's log names a process only by its
// name and PID, so the observer keeps the set of the run's processes, seeded
// with the sandbox-exec process (which becomes the command: sandbox-exec
// executes it in place). A poller adds every process whose parent is in the
// set while the run lasts (adopt), and a denial by a process not in the set
// is checked when it arrives: the parent chain of a live process is followed
// up to the set (ours) or to launchd (not ours). A process that is gone by
// then — short-lived ones usually are, the log comes after the fact — can no
// longer be placed, and the compromise is to accept its denial when its
// name is one a process of the run was seen with, or the command's. The
// price: a denial of an unrelated sandboxed process with such a name (e.g.
// a second traced pent run of the same program) can be recorded, and a
// short-lived descendant with a new name that ended before both the poller
// and its report (`sh -c 'cat ~/.netrc'`: the cat) is missed. PIDs are
// assumed not to be reused within a run.

// seatbeltTraceArgs are the arguments of /usr/bin/log for the trace:
// LogArgs with a predicate that also takes the sandbox's reports
// from any sender (sandboxd) — only the messages ParseLog can read,
// so that a busy log is not parsed in vain.
func seatbeltTraceArgs() []string {
	args := slices.Clone(LogArgs)
	if i := slices.Index(args, "--predicate"); i >= 0 && i+1 < len(args) {
		args[i+1] = `(` + args[i+1] + `) OR (eventMessage BEGINSWITH "Sandbox: " AND eventMessage CONTAINS " deny(")`
	}
	return args
}

// maxCommLen is the length kern.proc truncates process names to
// (MAXCOMLEN); the sandbox's reports may carry the longer name.
const maxCommLen = 16

// maxAncestry bounds the walk up a process's parents.
const maxAncestry = 64

// seatbeltProc is one entry of the process table.
type seatbeltProc struct {
	pid, ppid int
	name      string
}

// procLookup returns the entry of a live process; ok is false when it is
// gone.
type procLookup func(pid int) (p seatbeltProc, ok bool)

// seatbeltProcs is the set of one run's processes; it is safe for
// concurrent use.
type seatbeltProcs struct {
	mu    sync.Mutex
	pids  map[int]bool    // every process of the run seen so far
	names map[string]bool // every name one of them was seen with
}

// newSeatbeltProcs starts the set of a run of command (its path) whose
// first process is root.
func newSeatbeltProcs(root int, command string) *seatbeltProcs {
	return &seatbeltProcs{pids: map[int]bool{root: true}, names: map[string]bool{filepath.Base(command): true}}
}

// adopt adds the processes of a snapshot of the process table that descend
// from the set, and records the names of the set's processes.
func (s *seatbeltProcs) adopt(table []seatbeltProc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for changed := true; changed; {
		changed = false
		for _, p := range table {
			if !s.pids[p.pid] && s.pids[p.ppid] {
				s.pids[p.pid], changed = true, true
			}
		}
	}
	for _, p := range table {
		if s.pids[p.pid] && p.name != "" {
			s.names[p.name] = true
		}
	}
}

// running reports whether a process of the set other than skip (the
// reaped command) is in the snapshot of the process table.
func (s *seatbeltProcs) running(table []seatbeltProc, skip int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(table, func(p seatbeltProc) bool { return p.pid != skip && s.pids[p.pid] })
}

// owns reports whether a denial of process pid (0: unknown, as in a folded
// report) named name belongs to the run; see the top of this file.
func (s *seatbeltProcs) owns(pid int, name string, lookup procLookup) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pid > 0 && s.pids[pid] {
		return true
	}
	var chain []int
	for cur, i := pid, 0; cur > 1 && i < maxAncestry; i++ {
		p, ok := lookup(cur)
		if !ok {
			break // gone: it can no longer be placed
		}
		chain = append(chain, cur)
		if s.pids[p.ppid] {
			for _, c := range chain {
				s.pids[c] = true
			}
			return true
		}
		if p.ppid <= 1 {
			return false // a live process that descends from launchd, not from the run
		}
		cur = p.ppid
	}
	return s.knownName(name)
}

// knownName reports whether a process of the run was seen with name, or
// with its first maxCommLen bytes (the table truncates names).
func (s *seatbeltProcs) knownName(name string) bool {
	if name == "" {
		return false
	}
	if s.names[name] {
		return true
	}
	return len(name) > maxCommLen && s.names[name[:maxCommLen]]
}

// seatbeltFileDenial is what the Linux observer would report for a file
// denial of the Seatbelt profile, with the same Op, Path, Rule and Grant:
// reads ask for Policy.Read on the path; writes for Policy.Write on the path,
// creations and deletions (file-write-create, file-write-unlink; a rename is
// both) on its directory; running or mapping code (process-exec*,
// file-map-executable) for Policy.Execute on the path; a write to a
// protected path, or to a directory holding one, which the profile keeps
// read-only whatever the grants, asks for nothing (scope.GrantNone). protected are
// the canonical (Seatbelt) spellings of Policy.Protected.
//
// ok is false for what no path rule allows (network — the proxy reports
// those —, services, sysctls), for denials by macOS's own policy, and for
// stat (file-read-metadata): the Linux observer does not report stat either,
// Landlock does not restrict it, and the trace has no key for the profile's
// stat-only rules.
func seatbeltFileDenial(d Denial, protected []string) (scope.FileDenial, bool) {
	fd := scope.FileDenial{Time: d.Time, PID: d.PID, Command: d.Process, Path: filepath.Clean(d.Target)}
	fd.Rule = fd.Path
	switch d.ConfigKey() {
	case "read":
		fd.Op, fd.Grant = scope.OpRead, scope.GrantRead
	case "execute":
		fd.Op, fd.Grant = scope.OpExec, scope.GrantExecute
	case "read_write":
		fd.Op, fd.Grant = scope.OpWrite, scope.GrantWrite
		switch {
		case strings.Contains(d.Operation, "create"):
			fd.Op = scope.OpCreate
		case strings.Contains(d.Operation, "unlink"):
			fd.Op = scope.OpDelete
		}
		if slices.ContainsFunc(protected, func(p string) bool { return scope.Within(fd.Path, p) || scope.Within(p, fd.Path) }) {
			fd.Grant = scope.GrantNone
		} else if fd.Op == scope.OpCreate || fd.Op == scope.OpDelete {
			fd.Rule = filepath.Dir(fd.Path)
		}
	default:
		return scope.FileDenial{}, false
	}
	return fd, true
}

// seatbeltProtected are the spellings Seatbelt may report the protected
// paths with: canonical, and through the data volume. A path the profile
// cannot express was refused by SBPL already.
func seatbeltProtected(protected []string) []string {
	var out []string
	for _, p := range protected {
		if cp, err := canonicalPath(p); err == nil {
			out = append(out, dataVolumeAliases(cp)...)
		}
	}
	return out
}

// dedupWindow is how close in time two identical reports must be to count
// as one event reported twice (by the kernel and by sandboxd, both of which
// the predicate takes). The kernel folds real repeats itself, into "N
// duplicate reports" lines.
const dedupWindow = time.Second

// maxRecent is how many reports duplicate remembers before it forgets the
// ones older than dedupWindow.
const maxRecent = 4096

// maxRepeats bounds the calls made for one folded report.
const maxRepeats = 1 << 16

// seatbeltTrace turns the lines of `log stream` into the run's file
// denials. It is used from one goroutine.
type seatbeltTrace struct {
	procs     *seatbeltProcs
	lookup    procLookup
	protected []string
	// probe is the directory of the observer's own test denials, which
	// are never the command's.
	probe  string
	report func(scope.FileDenial)
	now    func() time.Time
	recent map[Denial]time.Time
}

// handle reports the file denial of one log line if it is the run's. An
// error is a line that could not be read.
func (t *seatbeltTrace) handle(line []byte) error {
	d, ok, err := ParseLog(line)
	if err != nil || !ok {
		return err
	}
	if d.Time.IsZero() {
		d.Time = t.now()
	}
	fd, ok := seatbeltFileDenial(d, t.protected)
	if !ok || (t.probe != "" && scope.Within(fd.Path, t.probe)) || !t.procs.owns(d.PID, d.Process, t.lookup) || t.duplicate(d) {
		return nil
	}
	for range min(max(d.Repeats, 1), maxRepeats) {
		t.report(fd)
	}
	return nil
}

// duplicate reports whether d was reported within dedupWindow before; if
// not, it remembers d.
func (t *seatbeltTrace) duplicate(d Denial) bool {
	if t.recent == nil {
		t.recent = map[Denial]time.Time{}
	}
	key := d
	key.Time = time.Time{}
	if last, seen := t.recent[key]; seen && d.Time.Sub(last).Abs() < dedupWindow {
		return true
	}
	if len(t.recent) >= maxRecent {
		for k, at := range t.recent {
			if d.Time.Sub(at).Abs() >= dedupWindow {
				delete(t.recent, k)
			}
		}
	}
	t.recent[key] = d.Time
	return false
}

// readLines calls fn with each line of r (without its newline), skipping
// lines longer than limit, until r ends; io.EOF is not an error.
func readLines(r io.Reader, limit int, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !skipping {
			line = append(line, chunk...)
			skipping = len(bytes.TrimSuffix(line, []byte("\n"))) > limit
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			if !skipping {
				fn(line[:len(line)-1])
			}
			line, skipping = line[:0], false
			continue
		case errors.Is(err, io.EOF):
			if len(line) > 0 && !skipping {
				fn(line)
			}
			return nil
		}
		return fmt.Errorf("reading the sandbox log: %w", err)
	}
}
