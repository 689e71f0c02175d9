package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSandboxID(t *testing.T) {
	for _, tc := range []struct {
		pid     int
		want    int
		wantErr bool
	}{
		{pid: 1, want: sandboxIDBase + 1},
		{pid: pidMaxLimit - 1, want: sandboxIDBase + pidMaxLimit - 1},
		{pid: 0, wantErr: true},
		{pid: -1, wantErr: true},
		{pid: pidMaxLimit, wantErr: true},
	} {
		got, err := sandboxID(tc.pid)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("sandboxID(%d) = %d, %v; want %d, error %v", tc.pid, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestIdmapTargets(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		name string
		p    Policy
		stg  *staging
		want []string
	}{
		{
			name: "writable and inside masks, not the system trees",
			p: Policy{
				Read:    []string{"/etc", home + "/.gitconfig"},
				Execute: []string{"/usr", home + "/.cargo/bin"},
				Write:   []string{home + "/proj", "/opt/pent-no-such-project"},
				Masked:  []string{home},
			},
			want: []string{home + "/.gitconfig", home + "/.cargo/bin", home + "/proj", "/opt/pent-no-such-project"},
		},
		{
			name: "nested in a writable path: covered by its mount",
			p: Policy{
				Read:  []string{home + "/proj/vendor"},
				Write: []string{home + "/proj"},
			},
			want: []string{home + "/proj"},
		},
		{
			name: "the staging directory first",
			p:    Policy{Read: []string{"/etc"}},
			stg:  &staging{dir: home + "/state/staging/run-1"},
			want: []string{home + "/state/staging/run-1"},
		},
		{
			name: "inside a private /tmp",
			p:    Policy{Read: []string{"/tmp/pent-x"}, PrivateTmp: []string{"/tmp"}},
			want: []string{"/tmp/pent-x"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := idmapTargets(tc.p, tc.stg)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("idmapTargets = %q, want %q", got, tc.want)
			}
		})
	}
}

// rootOnlyFile creates a root-owned 0600 file holding secretMarker in dir
// and removes it when the test ends.
func rootOnlyFile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("pent-sandbox-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(secretMarker), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// TestRootRunUnprivileged: as root the command is uid 0 of its namespace but an
// unprivileged uid of the host, with no supplementary groups: a root-only
// file in /etc (read-only, not idmapped) is refused, while the project
// (idmapped) keeps root's files readable and what the command creates there
// lands owned by root.
func TestRootRunUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (CI runs the sandbox tests as root)")
	}
	f := newFixture(t)
	etcSecret := rootOnlyFile(t, "/etc")
	projSecret := rootOnlyFile(t, f.proj)
	st, out := f.run(t, f.policy, `
cat `+etcSecret+` 2>&1 && echo ETC-READ
cat `+projSecret+` >/dev/null && echo PROJECT-READ
grep -E '^(Uid|Gid|Groups):' /proc/self/status
cat /proc/self/uid_map
echo made > made.txt && echo WROTE`)
	if st.Code != 0 {
		t.Fatalf("status %+v\n%s", st, out)
	}
	if strings.Contains(out, "ETC-READ") || strings.Count(out, secretMarker) > 0 {
		t.Errorf("the command read a root-only file in /etc:\n%s", out)
	}
	hostID := strconv.Itoa(sandboxIDBase + os.Getpid())
	for _, want := range []string{"PROJECT-READ", "WROTE", "Uid:\t0\t0\t0\t0", "Gid:\t0\t0\t0\t0", " " + hostID + " "} {
		if !strings.Contains(out, want) {
			t.Errorf("the sandbox's output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if groups, ok := strings.CutPrefix(line, "Groups:"); ok && strings.TrimSpace(groups) != "" {
			t.Errorf("the command kept supplementary groups: %q", line)
		}
	}
	fi, err := os.Stat(filepath.Join(f.proj, "made.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
		t.Errorf("a file the command created is owned by %d:%d on the host, want root", st.Uid, st.Gid)
	}
}

// TestRootRunIdmapRefused: a writable path whose filesystem cannot be
// idmapped (procfs) refuses a root run instead of running it as host root.
func TestRootRunIdmapRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (CI runs the sandbox tests as root)")
	}
	f := newFixture(t)
	p := f.policy
	p.Write = append(slices.Clone(p.Write), "/proc/sys")
	_, out, err := launchCapture(p, "/bin/true")
	if err == nil || !strings.Contains(err.Error(), "idmapped mount") {
		t.Fatalf("Launch with a writable /proc/sys as root: %v\n%s", err, out)
	}
}

func TestClosedAncestors(t *testing.T) {
	base := t.TempDir()
	// t.TempDir's parent is 0700: open it so that only the tree below counts.
	if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		dir  string
		mode os.FileMode
	}{{"closed", 0o700}, {"closed/inner", 0o700}, {"open", 0o755}, {"open/closed", 0o750}} {
		dir, mode := d.dir, d.mode
		if err := os.Mkdir(filepath.Join(base, dir), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(base, dir), mode); err != nil {
			t.Fatal(err)
		}
	}
	in := func(rel string) string { return filepath.Join(base, rel) }
	for _, tc := range []struct {
		name string
		p    Policy
		want []string
	}{
		{"the shallowest closed one", Policy{Write: []string{in("closed/inner/proj")}}, []string{in("closed")}},
		{"one per way", Policy{Write: []string{in("closed/inner/proj"), in("open/closed/x")}, Read: []string{in("open/y")}},
			[]string{in("closed"), in("open/closed")}},
		{"inside a mask: its skeleton", Policy{Write: []string{in("closed/inner/proj")}, Masked: []string{in("closed")}}, nil},
		{"beneath a mask", Policy{Write: []string{in("closed/inner/proj")}, Masked: []string{base}}, nil},
		{"an allowed closed directory is left alone", Policy{Read: []string{in("closed"), in("closed/inner/x")}}, nil},
		{"all open", Policy{Write: []string{in("open/proj")}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := closedAncestors(tc.p)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("closedAncestors = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRootRunClosedAncestor: a root run reaches a project beneath a
// root-only directory that no mask covers (t.TempDir's parent is 0700 and
// /tmp is granted, so not masked), and sees nothing else in it.
func TestRootRunClosedAncestor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (CI runs the sandbox tests as root)")
	}
	f := newFixture(t)
	closed := filepath.Dir(f.base)
	if fi, err := os.Stat(closed); err != nil || fi.Mode().Perm()&0o001 != 0 {
		t.Fatalf("%s should be closed to others: %v %v", closed, fi, err)
	}
	if err := os.WriteFile(filepath.Join(closed, "sibling"), []byte(secretMarker), 0o644); err != nil {
		t.Fatal(err)
	}
	p := f.policy
	p.Execute = append(slices.Clone(p.Execute), "/tmp")
	st, out := f.run(t, p, `echo made > made.txt && echo WROTE; ls -A `+closed+`; cat `+closed+`/sibling`)
	if st.Code == 0 || !strings.Contains(out, "WROTE") || strings.Contains(out, secretMarker) || strings.Contains(out, "sibling\n") {
		t.Errorf("status %+v, want the project writable and the sibling absent:\n%s", st, out)
	}
}

// TestRootRunBindWritable: a writable path that did not exist when pent
// cloned a root run's idmapped mounts (sent as none, -1) must not be bound
// plainly — unmapped, its files would land owned by the sandbox's host id —
// if it exists by the time the stage binds it: the stage refuses, as it
// does for a writable path that came with no word at all. A path still
// absent is skipped, as before. The binding runs on a thread of its own in
// a private mount namespace, which ends with it.
func TestRootRunBindWritable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (CI runs the sandbox tests as root)")
	}
	base := t.TempDir()
	appeared := filepath.Join(base, "appeared")
	if err := os.Mkdir(appeared, 0o755); err != nil {
		t.Fatal(err)
	}
	absent := filepath.Join(base, "absent")
	for _, tc := range []struct {
		name     string
		path     string
		idmapped map[string]int
		wantErr  bool
	}{
		{"appeared since the clone: refused", appeared, map[string]int{appeared: -1}, true},
		{"no idmapped mount sent: refused", appeared, map[string]int{}, true},
		{"still absent: skipped", absent, map[string]int{absent: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type outcome struct {
				setup, err error
				mounted    bool
			}
			done := make(chan outcome, 1)
			go func() {
				runtime.LockOSThread() // never unlocked: the thread and its mount namespace end here
				if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
					done <- outcome{setup: err}
					return
				}
				if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
					done <- outcome{setup: err}
					return
				}
				m := &mounter{p: Policy{Write: []string{tc.path}}, idmapped: tc.idmapped, mounted: map[string]bool{}}
				err := m.bindWritable()
				done <- outcome{err: err, mounted: m.mounted[tc.path]}
			}()
			o := <-done
			if o.setup != nil {
				t.Fatalf("a private mount namespace for the test: %v", o.setup)
			}
			if (o.err != nil) != tc.wantErr || (o.err == nil && o.mounted) {
				t.Errorf("bindWritable with %s = %v, mounted %v; want error %v and no mount", tc.path, o.err, o.mounted, tc.wantErr)
			}
		})
	}
}

// TestRootRunIdmapCheck: pent doctor, as root, idmaps the directory it runs
// in as a root run would; a filesystem that cannot be idmapped (procfs)
// fails the check with what to do.
func TestRootRunIdmapCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (CI runs the sandbox tests as root)")
	}
	for _, tc := range []struct {
		dir    string
		wantOK bool
	}{
		{t.TempDir(), true},
		{"/proc/sys", false},
	} {
		c := idmapCheck(tc.dir)
		if c.OK != tc.wantOK || !c.Required || (c.OK != (c.Fix == "")) {
			t.Errorf("idmapCheck(%s) = %+v, want OK %v, required, a fix only when failed", tc.dir, c, tc.wantOK)
		}
	}
}
