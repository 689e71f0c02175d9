package seatbelt

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pent-sandbox/pent/scope"
)

// The log lines of these tests are built by logLine (log_test.go):
// CONSTRUCTED in the shape of `log stream --style ndjson`, not captured.

func TestSeatbeltTraceArgs(t *testing.T) {
	before := slices.Clone(LogArgs)
	args := seatbeltTraceArgs()
	if !slices.Equal(LogArgs, before) {
		t.Fatalf("seatbeltTraceArgs changed LogArgs: %q", LogArgs)
	}
	i := slices.Index(args, "--predicate")
	if i < 0 || i+1 >= len(args) || len(args) != len(before) {
		t.Fatalf("args %q lost the predicate", args)
	}
	want := `(sender == "Sandbox") OR (eventMessage BEGINSWITH "Sandbox: " AND eventMessage CONTAINS " deny(")`
	if args[i+1] != want {
		t.Errorf("predicate = %s\nwant        %s", args[i+1], want)
	}
	if !slices.Equal(slices.Delete(slices.Clone(args), i+1, i+2), slices.Delete(before, i+1, i+2)) {
		t.Errorf("arguments other than the predicate changed: %q", args)
	}
}

// seatbeltDenialCases are Seatbelt denials against macDefault (project
// macProject writable, its protected entries read-only, $HOME masked) and
// what the trace must make of them.
var seatbeltDenialCases = []struct {
	name   string
	op     string
	target string
	want   scope.FileDenial // Time, PID and Command are filled in by the test
	ok     bool
}{
	{"read a key", "file-read-data", macHome + "/.ssh/id_ed25519",
		scope.FileDenial{Op: scope.OpRead, Path: macHome + "/.ssh/id_ed25519", Rule: macHome + "/.ssh/id_ed25519", Grant: scope.GrantRead}, true},
	{"list a directory", "file-read-data", "/Library/Keychains",
		scope.FileDenial{Op: scope.OpRead, Path: "/Library/Keychains", Rule: "/Library/Keychains", Grant: scope.GrantRead}, true},
	{"read xattrs", "file-read-xattr", macHome + "/Documents/a.txt",
		scope.FileDenial{Op: scope.OpRead, Path: macHome + "/Documents/a.txt", Rule: macHome + "/Documents/a.txt", Grant: scope.GrantRead}, true},
	{"write a file", "file-write-data", "/usr/local/etc/tool.conf",
		scope.FileDenial{Op: scope.OpWrite, Path: "/usr/local/etc/tool.conf", Rule: "/usr/local/etc/tool.conf", Grant: scope.GrantWrite}, true},
	{"chmod", "file-write-mode", "/usr/local/bin/tool",
		scope.FileDenial{Op: scope.OpWrite, Path: "/usr/local/bin/tool", Rule: "/usr/local/bin/tool", Grant: scope.GrantWrite}, true},
	{"create a file", "file-write-create", macHome + "/.cache/tool/index",
		scope.FileDenial{Op: scope.OpCreate, Path: macHome + "/.cache/tool/index", Rule: macHome + "/.cache/tool", Grant: scope.GrantWrite}, true},
	{"delete a file", "file-write-unlink", macHome + "/.cache/tool/old",
		scope.FileDenial{Op: scope.OpDelete, Path: macHome + "/.cache/tool/old", Rule: macHome + "/.cache/tool", Grant: scope.GrantWrite}, true},
	{"exec", "process-exec*", macHome + "/bin/tool",
		scope.FileDenial{Op: scope.OpExec, Path: macHome + "/bin/tool", Rule: macHome + "/bin/tool", Grant: scope.GrantExecute}, true},
	{"load a library", "file-map-executable", macHome + "/lib/libx.dylib",
		scope.FileDenial{Op: scope.OpExec, Path: macHome + "/lib/libx.dylib", Rule: macHome + "/lib/libx.dylib", Grant: scope.GrantExecute}, true},
	{"protected file", "file-write-data", macProject + "/.git/config",
		scope.FileDenial{Op: scope.OpWrite, Path: macProject + "/.git/config", Rule: macProject + "/.git/config", Grant: scope.GrantNone}, true},
	{"protected: a new hook", "file-write-create", macProject + "/.git/hooks/pre-commit",
		scope.FileDenial{Op: scope.OpCreate, Path: macProject + "/.git/hooks/pre-commit", Rule: macProject + "/.git/hooks/pre-commit", Grant: scope.GrantNone}, true},
	{"protected: renaming the directory that holds it", "file-write-unlink", macProject + "/.git",
		scope.FileDenial{Op: scope.OpDelete, Path: macProject + "/.git", Rule: macProject + "/.git", Grant: scope.GrantNone}, true},
	{"protected, through the data volume", "file-write-data", dataVolume + macProject + "/.envrc",
		scope.FileDenial{Op: scope.OpWrite, Path: dataVolume + macProject + "/.envrc", Rule: dataVolume + macProject + "/.envrc", Grant: scope.GrantNone}, true},
	{"protected: a directory above one", "file-write-mode", macHome + "/src",
		scope.FileDenial{Op: scope.OpWrite, Path: macHome + "/src", Rule: macHome + "/src", Grant: scope.GrantNone}, true},
	{"a name that only starts like a directory above a protected path", "file-write-create", macHome + "/src/ap",
		scope.FileDenial{Op: scope.OpCreate, Path: macHome + "/src/ap", Rule: macHome + "/src", Grant: scope.GrantWrite}, true},
	{"unclean path", "file-read-data", macHome + "/.aws//credentials",
		scope.FileDenial{Op: scope.OpRead, Path: macHome + "/.aws/credentials", Rule: macHome + "/.aws/credentials", Grant: scope.GrantRead}, true},
	{"stat", "file-read-metadata", macHome + "/.config", scope.FileDenial{}, false},
	{"connect", "network-outbound", "93.184.216.34:443", scope.FileDenial{}, false},
	{"UNIX socket", "network-outbound", "/private/var/run/docker.sock", scope.FileDenial{}, false},
	{"service", "mach-lookup", "com.apple.pasteboard.1", scope.FileDenial{}, false},
	{"sysctl", "sysctl-read", "", scope.FileDenial{}, false},
	{"signal", "signal", "", scope.FileDenial{}, false},
	{"relative target", "file-read-data", "relative/x", scope.FileDenial{}, false},
}

func TestSeatbeltFileDenial(t *testing.T) {
	when := time.Date(2025, 3, 4, 10, 21, 33, 0, time.UTC)
	protected := seatbeltProtected(macDefault().Protected)
	for _, tt := range seatbeltDenialCases {
		t.Run(tt.name, func(t *testing.T) {
			d := Denial{Time: when, Process: "tool", PID: 4242, Operation: tt.op, Target: tt.target, Repeats: 1}
			got, ok := seatbeltFileDenial(d, protected)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			want := tt.want
			if ok {
				want.Time, want.PID, want.Command = when, 4242, "tool"
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("system policy", func(t *testing.T) {
		d := Denial{Process: "ls", PID: 5, Operation: "file-read-data", Target: macHome + "/Desktop", Repeats: 1, SystemPolicy: true}
		if got, ok := seatbeltFileDenial(d, protected); ok {
			t.Errorf("a denial by macOS's own policy was mapped: %+v", got)
		}
	})
}

// TestSeatbeltFixAllows checks each mapping against the profile generator:
// the operation is denied by macDefault's profile, and adding the reported
// Rule to the reported Grant's list makes the regenerated profile allow it
// — or, for scope.GrantNone, adding it even to Write does not.
func TestSeatbeltFixAllows(t *testing.T) {
	base := macDefault()
	protected := seatbeltProtected(base.Protected)
	profileOf := func(p Profile) []sbplRule {
		profile, err := SBPL(withRun(p, macTmp, 0))
		if err != nil {
			t.Fatal(err)
		}
		return rulesOf(t, profile)
	}
	before := profileOf(base)
	for _, tt := range seatbeltDenialCases {
		if !tt.ok {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			target := filepath.Clean(tt.target) // Seatbelt reports resolved paths
			if decide(before, tt.op, target) {
				t.Fatalf("the default profile allows %s %s: not a denial to test", tt.op, target)
			}
			fd, _ := seatbeltFileDenial(Denial{Operation: tt.op, Target: tt.target, Repeats: 1}, protected)
			p := base
			switch fd.Grant {
			case scope.GrantRead:
				p.Read = append(slices.Clone(p.Read), fd.Rule)
			case scope.GrantExecute:
				p.Execute = append(slices.Clone(p.Execute), fd.Rule)
			case scope.GrantWrite, scope.GrantNone:
				p.Write = append(slices.Clone(p.Write), fd.Rule)
			}
			allowed := decide(profileOf(p), tt.op, target)
			if want := fd.Grant != scope.GrantNone; allowed != want {
				t.Errorf("after adding %q to %q the profile decides %s %s: allowed = %v, want %v", fd.Rule, fd.Grant, tt.op, target, allowed, want)
			}
		})
	}
}

// fakeTable is a process table for lookups: PID → entry.
type fakeTable map[int]seatbeltProc

func (f fakeTable) lookup(pid int) (seatbeltProc, bool) {
	p, ok := f[pid]
	return p, ok
}

func (f fakeTable) rows() []seatbeltProc {
	var out []seatbeltProc
	for _, p := range f {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b seatbeltProc) int { return b.pid - a.pid }) // children before parents
	return out
}

func TestSeatbeltProcsAdopt(t *testing.T) {
	const root = 100
	table := fakeTable{
		1:    {1, 0, "launchd"},
		50:   {50, 1, "Terminal"},
		99:   {99, 50, "pent"},
		root: {root, 99, "make"},
		101:  {101, root, "sh"},
		102:  {102, 101, "cc"},
		103:  {103, 102, "com.apple.linker"}, // 16 bytes: a truncated name
		200:  {200, 1, "cc"},                 // someone else's
	}
	s := newSeatbeltProcs(root, "/usr/bin/make")
	s.adopt(table.rows())
	for _, pid := range []int{root, 101, 102, 103} {
		if !s.pids[pid] {
			t.Errorf("process %d of the run was not adopted", pid)
		}
	}
	for _, pid := range []int{1, 50, 99, 200} {
		if s.pids[pid] {
			t.Errorf("process %d outside the run was adopted", pid)
		}
	}
	for _, name := range []string{"make", "sh", "cc", "com.apple.linker", "com.apple.linker-helper"} {
		if !s.knownName(name) {
			t.Errorf("name %q of the run is unknown", name)
		}
	}
	for _, name := range []string{"", "launchd", "pent", "com.apple", "com.apple.linkeR-x"} {
		if s.knownName(name) {
			t.Errorf("name %q is taken for the run's", name)
		}
	}
	if !s.running(table.rows(), root) {
		t.Error("running = false with descendants alive")
	}
	gone := fakeTable{1: table[1], root: table[root], 200: table[200]}
	if s.running(gone.rows(), root) {
		t.Error("running = true with only the reaped command and strangers left")
	}
}

func TestSeatbeltProcsOwns(t *testing.T) {
	const root = 100
	live := fakeTable{
		1:    {1, 0, "launchd"},
		root: {root, 99, "make"},
		400:  {400, root, "sh"},
		500:  {500, 400, "node"},
		600:  {600, 1, "node"},     // a stranger with the run's name
		700:  {700, 701, "helper"}, // its parent is gone
		800:  {800, 801, "loop"},
		801:  {801, 800, "loop"},
	}
	tests := []struct {
		name string
		pid  int
		proc string
		want bool
	}{
		{"the command", root, "make", true},
		{"a live descendant not yet seen", 500, "node", true},
		{"a live stranger with a name of the run", 600, "node", false},
		{"a live stranger", 1, "launchd", false},
		{"gone, a name of the run", 999, "make", true},
		{"gone, another name", 999, "curl", false},
		{"a folded report, a name of the run", 0, "make", true},
		{"a folded report, another name", 0, "cat", false},
		{"parent gone, another name", 700, "helper", false},
		{"a parent loop", 800, "loop", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSeatbeltProcs(root, "/usr/bin/make")
			if got := s.owns(tt.pid, tt.proc, live.lookup); got != tt.want {
				t.Errorf("owns(%d, %q) = %v, want %v", tt.pid, tt.proc, got, tt.want)
			}
		})
	}
	t.Run("placed processes stay the run's", func(t *testing.T) {
		s := newSeatbeltProcs(root, "/usr/bin/make")
		if !s.owns(500, "node", live.lookup) {
			t.Fatal("live descendant not owned")
		}
		none := fakeTable{}.lookup
		for _, pid := range []int{400, 500} {
			if !s.owns(pid, "renamed", none) {
				t.Errorf("process %d, placed while alive, is not the run's once gone", pid)
			}
		}
	})
}

// logLineAt is logLine with another timestamp.
func logLineAt(msg string, at time.Time) string {
	return strings.Replace(logLine(msg), "2025-03-04 10:21:33.123456+0100", at.Format(logTimeLayout), 1)
}

func TestSeatbeltTraceHandle(t *testing.T) {
	const root = 4242
	at := time.Date(2025, 3, 4, 10, 21, 33, 123456000, time.FixedZone("", 3600))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	probe := "/private/var/folders/7x/abc/T/pent-trace-probe-1"
	steps := []struct {
		line string
		want []string // the reports it adds: "op path rule grant pid command"
	}{
		{`Filtering the log data using "sender == "Sandbox""`, nil},
		{logLine("Sandbox: cat(4242) deny(1) file-read-data " + macHome + "/.ssh/id_ed25519"),
			[]string{"read " + macHome + "/.ssh/id_ed25519 " + macHome + "/.ssh/id_ed25519 read 4242 cat"}},
		// The same event again, as sandboxd reports it: one report.
		{logLineAt("Sandbox: cat(4242) deny(1) file-read-data "+macHome+"/.ssh/id_ed25519", at.Add(300*time.Millisecond)), nil},
		// The same access much later: a new one.
		{logLineAt("Sandbox: cat(4242) deny(1) file-read-data "+macHome+"/.ssh/id_ed25519", at.Add(5*time.Second)),
			[]string{"read " + macHome + "/.ssh/id_ed25519 " + macHome + "/.ssh/id_ed25519 read 4242 cat"}},
		{logLine("Sandbox: 2 duplicate reports for cat deny(1) file-write-create " + macHome + "/.cache/x/y"),
			[]string{"create " + macHome + "/.cache/x/y " + macHome + "/.cache/x read_write 0 cat", "create " + macHome + "/.cache/x/y " + macHome + "/.cache/x read_write 0 cat"}},
		{logLine("Sandbox: Safari(77) deny(1) file-read-data " + macHome + "/.ssh/id_ed25519"), nil},
		{logLine("Sandbox: cat(4243) deny(1) file-read-data " + macHome + "/.netrc"), nil}, // alive, not ours
		{logLine("Sandbox: cat(4242) deny(1) network-outbound 1.2.3.4:443"), nil},
		{logLine("Sandbox: touch(4242) deny(1) file-write-create " + probe + "/3"), nil},
		{logLine("Sandbox: cat(4242) System Policy: deny(1) file-read-data " + macHome + "/Desktop"), nil},
		{`{"eventMessage":"Sandbox: cat(4242) deny(1) process-exec* /opt/x/bin/tool"}`, // no timestamp
			[]string{"exec /opt/x/bin/tool /opt/x/bin/tool execute 4242 cat"}},
	}
	var got []string
	var times []time.Time
	tr := &seatbeltTrace{
		procs:     newSeatbeltProcs(root, "/bin/cat"),
		lookup:    fakeTable{4243: {4243, 1, "cat"}, 77: {77, 1, "Safari"}}.lookup,
		protected: seatbeltProtected(macDefault().Protected),
		probe:     probe,
		report: func(d scope.FileDenial) {
			got = append(got, fmt.Sprintf("%s %s %s %s %d %s", d.Op, d.Path, d.Rule, d.Grant, d.PID, d.Command))
			times = append(times, d.Time)
		},
		now: func() time.Time { return now },
	}
	for i, s := range steps {
		n := len(got)
		if err := tr.handle([]byte(s.line)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !slices.Equal(got[n:], s.want) {
			t.Errorf("step %d (%.80s…): reported %q, want %q", i, s.line, got[n:], s.want)
		}
	}
	if len(times) != 5 || !times[0].Equal(at) || !times[1].Equal(at.Add(5*time.Second)) || !times[4].Equal(now) {
		t.Errorf("report times = %v", times)
	}
	if err := tr.handle([]byte(`{"eventMessage": `)); err == nil {
		t.Error("a broken JSON line is not an error")
	}
}

func TestSeatbeltTraceDuplicateMemory(t *testing.T) {
	tr := &seatbeltTrace{}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxRecent + 10 {
		d := Denial{Time: at.Add(time.Duration(i) * 10 * time.Millisecond), PID: 1, Operation: "file-read-data", Target: fmt.Sprintf("/x/%d", i)}
		if tr.duplicate(d) {
			t.Fatalf("distinct denial %d taken for a duplicate", i)
		}
	}
	if len(tr.recent) > maxRecent {
		t.Errorf("%d reports remembered, want at most %d", len(tr.recent), maxRecent)
	}
	last := Denial{Time: at.Add(time.Duration(maxRecent+9) * 10 * time.Millisecond), PID: 1, Operation: "file-read-data", Target: fmt.Sprintf("/x/%d", maxRecent+9)}
	last.Time = last.Time.Add(dedupWindow / 2)
	if !tr.duplicate(last) {
		t.Error("a recent report was forgotten")
	}
}

func TestSeatbeltReadLines(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // longer than the reader's buffer
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"lines", "a\nbb\n\nccc\n", 10, []string{"a", "bb", "", "ccc"}},
		{"last line without newline", "a\nbb", 10, []string{"a", "bb"}},
		{"empty", "", 10, nil},
		{"too long skipped", "a\n0123456789X\nb\n", 10, []string{"a", "b"}},
		{"exactly the limit", "0123456789\n", 10, []string{"0123456789"}},
		{"too long, last", "a\n0123456789X", 10, []string{"a"}},
		{"longer than the buffer", "a\n" + long + "\nb\n", 1 << 20, []string{"a", long, "b"}},
		{"longer than the buffer, skipped", "a\n" + long + long + "\nb\n", 150 << 10, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if err := readLines(iotest.HalfReader(strings.NewReader(tt.in)), tt.limit, func(b []byte) { got = append(got, string(b)) }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %d lines %.60q, want %d %.60q", len(got), got, len(tt.want), tt.want)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		err := readLines(iotest.ErrReader(boom), 10, func([]byte) { t.Error("line from a failing reader") })
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
	})
}

func FuzzSeatbeltTrace(f *testing.F) {
	f.Add([]byte(logLine("Sandbox: cat(4242) deny(1) file-read-data /Users/alice/.ssh/id_ed25519")))
	f.Add([]byte(logLine("Sandbox: 3 duplicate reports for cat deny(1) file-write-unlink /x/y")))
	f.Add([]byte(logLine("Sandbox: cat(7) deny(1) file-write-data /Users/alice/src/app/.git/config")))
	f.Add([]byte(`{"eventMessage":"Sandbox: cat(4242) deny(1) process-exec* /a/../b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := &seatbeltTrace{
			procs:     newSeatbeltProcs(4242, "/bin/cat"),
			lookup:    fakeTable{}.lookup,
			protected: seatbeltProtected(macDefault().Protected),
			report: func(d scope.FileDenial) {
				if !filepath.IsAbs(d.Path) || !filepath.IsAbs(d.Rule) || d.Op == "" || d.Path != filepath.Clean(d.Path) {
					t.Fatalf("bad report %+v", d)
				}
				if d.Rule != d.Path && d.Rule != filepath.Dir(d.Path) {
					t.Fatalf("rule %q is neither the path nor its directory in %+v", d.Rule, d)
				}
			},
			now: time.Now,
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			_ = tr.handle(line)
		}
	})
}
