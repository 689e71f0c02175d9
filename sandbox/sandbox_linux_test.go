package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/scope"
)

// The test binary doubles as the init stage (Main) and as small helper
// programs run inside the sandbox (PENT_TEST_HELPER), so the checks need no
// tool beyond /bin/sh.
func TestMain(m *testing.M) {
	Main()
	if h := os.Getenv("PENT_TEST_HELPER"); h != "" {
		os.Exit(runHelper(h, os.Getenv("PENT_TEST_ARG")))
	}
	os.Exit(m.Run())
}

// runHelper is one helper program; it prints its finding on stdout.
func runHelper(name, arg string) int {
	switch name {
	case "dial", "dialunix":
		network := map[string]string{"dial": "tcp", "dialunix": "unix"}[name]
		c, err := net.DialTimeout(network, arg, 2*time.Second)
		if err != nil {
			fmt.Println("dial error:", err)
			return 0
		}
		c.Close()
		fmt.Println("connected")
	case "loopback":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("listen error:", err)
			return 0
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Write([]byte("pong"))
				c.Close()
			}
		}()
		c, err := net.DialTimeout("tcp", l.Addr().String(), 2*time.Second)
		if err != nil {
			fmt.Println("dial error:", err)
			return 0
		}
		b, _ := io.ReadAll(c)
		fmt.Println("loopback", string(b))
	case "proxy":
		return proxyHelper(arg)
	case "nested":
		n, err := Nested()
		fmt.Println("nested:", n, err)
	case "launch":
		var p Policy
		if err := json.Unmarshal([]byte(arg), &p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		st, err := Launch(p, Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, LaunchOptions{})
		out, _ := json.Marshal(map[string]any{"code": st.Code, "signal": int(st.Signal), "err": fmt.Sprint(err)})
		os.WriteFile(os.Getenv("PENT_TEST_RESULT"), out, 0o600)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", name)
		return 2
	}
	return 0
}

// fixture is a fake home with secrets and a project with protected files.
type fixture struct {
	base, home, proj, secret string
	policy                   Policy
}

const secretMarker = "PENT-SECRET-7c1e"

func newFixture(t testing.TB) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{base: base, home: filepath.Join(base, "home"), secret: secretMarker}
	f.proj = filepath.Join(f.home, "proj")
	files := map[string]string{
		"home/.ssh/id_ed25519":      secretMarker,
		"home/.aws/credentials":     secretMarker,
		"home/notes.txt":            secretMarker,
		"home/proj/main.go":         "package main\n",
		"home/proj/.pent.toml":      "wrap = []\n",
		"home/proj/.git/config":     "[core]\n",
		"home/proj/.git/hooks/keep": "",
		"home/proj/.git/HEAD":       "ref: refs/heads/main\n",
		"outside.txt":               "outside\n",
		"readonly.txt":              "readonly\n",
	}
	for name, content := range files {
		path := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := Defaults(Host{Home: f.home, Cwd: f.proj, ProjectRoot: f.proj, Path: []string{"/usr/bin", "/bin"}, Command: "/bin/sh"})
	p.Dir = f.proj
	p.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + f.home}
	p.Execute = append(p.Execute, filepath.Dir(exe))
	p.Read = append(p.Read, filepath.Join(base, "readonly.txt"))
	f.policy = p
	return f
}

// run runs script with /bin/sh in the sandbox and returns its status and
// combined output.
func (f *fixture) run(t *testing.T, p Policy, script string) (Status, string) {
	t.Helper()
	st, out, err := launchCapture(p, "/bin/sh", "-c", script)
	if err != nil {
		t.Fatalf("Launch: %v\noutput: %s", err, out)
	}
	return st, out
}

// helper runs a helper program (the test binary) in the sandbox.
func (f *fixture) helper(t *testing.T, p Policy, name, arg string) string {
	t.Helper()
	exe, _ := os.Executable()
	p.Env = append(slices.Clone(p.Env), "PENT_TEST_HELPER="+name, "PENT_TEST_ARG="+arg)
	st, out, err := launchCapture(p, exe)
	if err != nil || st.Code != 0 {
		t.Fatalf("helper %s: %+v %v\n%s", name, st, err, out)
	}
	return out
}

func launchCapture(p Policy, argv ...string) (Status, string, error) {
	p.Command = argv
	return launchWith(p, LaunchOptions{})
}

func TestSandboxHomeHidden(t *testing.T) {
	f := newFixture(t)
	st, out := f.run(t, f.policy, `
cat "$HOME/.ssh/id_ed25519" "$HOME/notes.txt" "$HOME/.aws/credentials"
ls -a "$HOME"; echo "listing=$?"
ls -a /home /root /run /var /tmp /mnt 2>&1
cat `+f.base+`/outside.txt
echo done`)
	if strings.Contains(out, secretMarker) || strings.Contains(out, "outside") && !strings.Contains(out, "outside.txt") {
		t.Fatalf("a secret leaked into the sandbox:\n%s", out)
	}
	if !strings.Contains(out, "No such file") || !strings.Contains(out, "done") || st.Code != 0 {
		t.Fatalf("unexpected run: %+v\n%s", st, out)
	}
	// $HOME lists only what is put back: the project.
	for _, hidden := range []string{".ssh", ".aws", "notes.txt"} {
		if strings.Contains(out, hidden+"\n") {
			t.Errorf("%s is listed in the sandbox's $HOME:\n%s", hidden, out)
		}
	}
	if !strings.Contains(out, "proj\n") {
		t.Errorf("the project is missing from $HOME:\n%s", out)
	}
}

func TestSandboxHostSocketsHidden(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{filepath.Join(f.home, "agent.sock"), filepath.Join(f.base, "daemon.sock")} {
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if out := f.helper(t, f.policy, "dialunix", path); !strings.Contains(out, "no such file") {
			t.Errorf("host socket %s reachable: %s", path, out)
		}
	}
}

func TestSandboxAbstractSocketScoped(t *testing.T) {
	if LandlockABI() < 6 {
		t.Fatalf("this test needs Landlock ABI 6 (scopes); kernel has %d", LandlockABI())
	}
	f := newFixture(t)
	name := fmt.Sprintf("@pent-test-%d", os.Getpid())
	l, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := f.policy
	p.Network = scope.NetUnrestricted
	if out := f.helper(t, p, "dialunix", name); !strings.Contains(out, "operation not permitted") {
		t.Errorf("host abstract socket reachable from an unrestricted sandbox: %s", out)
	}
}

func TestSandboxWrites(t *testing.T) {
	f := newFixture(t)
	st, out := f.run(t, f.policy, `
set -u
echo new > new.txt && cat new.txt
mkdir -p sub/dir && mv new.txt sub/dir/ && echo moved
echo x > /tmp/scratch && echo tmp-ok
echo x >> `+f.base+`/outside.txt
for target in /etc/pent-test "$HOME/pent-test" /usr/pent-test `+f.base+`/readonly.txt /pent-test /proc/sys/kernel/domainname; do
  if echo x >> "$target"; then echo "WROTE $target"; fi
done
chmod 777 `+f.base+`/readonly.txt && echo "CHMOD readonly"
chmod 777 /etc/hostname && echo "CHMOD etc"
touch -d 2001-01-01 /etc/hostname && echo "TOUCH etc"
true`)
	if st.Code != 0 || !strings.Contains(out, "new\nmoved\ntmp-ok") {
		t.Fatalf("project or /tmp not writable: %+v\n%s", st, out)
	}
	if strings.Contains(out, "WROTE") || strings.Contains(out, "CHMOD") || strings.Contains(out, "TOUCH") {
		t.Fatalf("a write outside the writable paths worked:\n%s", out)
	}
	if n := strings.Count(out, "Permission denied") + strings.Count(out, "Read-only file system") + strings.Count(out, "No such file"); n < 6 {
		t.Errorf("expected EACCES/EROFS/ENOENT for each write outside, got:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.proj, "sub/dir/new.txt")); string(b) != "new\n" {
		t.Errorf("the write to the project did not reach the host: %q", b)
	}
	// outside.txt is not visible: the write lands in the private /tmp.
	for name, want := range map[string]string{"outside.txt": "outside\n", "readonly.txt": "readonly\n"} {
		if b, _ := os.ReadFile(filepath.Join(f.base, name)); string(b) != want {
			t.Errorf("host file %s changed: %q", name, b)
		}
	}
	if fi, _ := os.Stat(filepath.Join(f.base, "readonly.txt")); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode of a read-only file changed to %v", fi.Mode())
	}
	if _, err := os.Stat("/tmp/scratch"); err == nil {
		t.Errorf("the sandbox's /tmp is the host's")
	}
}

func TestSandboxProtected(t *testing.T) {
	f := newFixture(t)
	if err := os.MkdirAll(filepath.Join(f.proj, ".git", "objects", "info"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, stop, moved := f.guarded(t)
	st, out := f.run(t, p, `
echo evil >> .pent.toml && echo "WROTE pent.toml"
rm -f .pent.toml && echo "REMOVED pent.toml"
echo evil > .git/hooks/pre-commit && echo "PLANTED hook"
echo evil >> .git/config && echo "WROTE config"
mv .git x && echo "MOVED git"
mv .git/hooks .git/h && echo "MOVED hooks"
mv .git/objects/info .git/i && echo "MOVED objects/info"
echo obj > .git/ORIG_HEAD && echo git-writable
echo ../x > .git/commondir
echo 'export X=1' > .envrc && echo created-envrc
true`)
	if st.Code != 0 {
		t.Fatalf("%+v\n%s", st, out)
	}
	for _, bad := range []string{"WROTE", "REMOVED", "PLANTED", "MOVED"} {
		if strings.Contains(out, bad) {
			t.Errorf("protected path changed (%s):\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "git-writable") {
		t.Errorf(".git itself must stay writable:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.proj, ".pent.toml")); string(b) != "wrap = []\n" {
		t.Errorf(".pent.toml changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(f.proj, ".git/hooks/pre-commit")); err == nil {
		t.Errorf("a hook was planted")
	}
	got := stop()
	// mv copies objects/info to .git/i when the rename fails (EXDEV: a
	// mount point), and cannot remove the original: the copy is moved aside.
	want := []string{filepath.Join(f.proj, ".envrc"), filepath.Join(f.proj, ".git/commondir"), filepath.Join(f.proj, ".git/i")}
	if !slices.Equal(got, want) {
		t.Errorf("moved %v, want %v", got, want)
	}
	for _, w := range want {
		if _, err := os.Lstat(w); err == nil {
			t.Errorf("%s is still in the project", w)
		}
		if _, err := os.Lstat(filepath.Join(moved, filepath.Base(w))); err != nil {
			t.Errorf("%s was not kept: %v", w, err)
		}
	}
}

// guarded is the fixture's policy with the project's guard, the guard's
// watch (moving entries into the returned directory) already started, and
// the function that stops it and returns the paths moved, sorted.
func (f *fixture) guarded(t *testing.T) (Policy, func() []string, string) {
	t.Helper()
	g, err := NewGuard([]string{f.proj}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := f.policy
	p.Protected = append(slices.Clone(p.Protected), g.Protected()...)
	p.Guarded = g.Paths()
	moved := t.TempDir()
	var paths []string // appended by the watch's goroutine, read after Stop
	watch, err := WatchGuard(g, func(_, path string) error {
		paths = append(paths, path)
		return os.Rename(path, filepath.Join(moved, filepath.Base(path)))
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := func() []string {
		t.Helper()
		if err := watch.Stop(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(paths)
		return paths
	}
	return p, stop, moved
}

// TestSandboxGitdirFile: a .git file (a worktree's or a submodule's) is
// protected itself, and the .git entries below it, which cannot exist, do
// not stop the start.
func TestSandboxGitdirFile(t *testing.T) {
	f := newFixture(t)
	git := filepath.Join(f.proj, ".git")
	if err := os.RemoveAll(git); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(git, []byte("gitdir: /elsewhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, stop, _ := f.guarded(t)
	st, out := f.run(t, p, `echo 'gitdir: /evil' > .git && echo "WROTE gitdir"; true`)
	if moved := stop(); st.Code != 0 || strings.Contains(out, "WROTE") || len(moved) != 0 {
		t.Fatalf("%+v moved %v\n%s", st, moved, out)
	}
	if b, _ := os.ReadFile(git); string(b) != "gitdir: /elsewhere\n" {
		t.Errorf(".git changed: %q", b)
	}
}

func TestSandboxProtectedSymlinkRefused(t *testing.T) {
	f := newFixture(t)
	if err := os.Symlink(filepath.Join(f.proj, "main.go"), filepath.Join(f.proj, ".envrc")); err != nil {
		t.Fatal(err)
	}
	_, out, err := launchCapture(f.policy, "/bin/true")
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("a symlinked protected path must stop the start, got %v\n%s", err, out)
	}
}

func TestSandboxProcessesIsolated(t *testing.T) {
	f := newFixture(t)
	st, out := f.run(t, f.policy, fmt.Sprintf(`
ls /proc | grep -E '^[0-9]+$' | tr '\n' ' '; echo
kill -0 %d && echo "SIGNALLED host"
kill -0 1 && echo "SIGNALLED init"
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status
true`, os.Getpid()))
	if st.Code != 0 {
		t.Fatalf("%+v\n%s", st, out)
	}
	pids := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if len(pids) == 0 || len(pids) > 6 || slices.Contains(pids, strconv.Itoa(os.Getpid())) {
		t.Errorf("/proc shows processes beyond the sandbox's own: %v", pids)
	}
	if strings.Contains(out, "SIGNALLED") {
		t.Errorf("a process outside the command's domain could be signalled:\n%s", out)
	}
	for _, want := range []string{"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
		"CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in the command's status:\n%s", want, out)
		}
	}
}

func TestSandboxNetworkBlocked(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := f.helper(t, f.policy, "dial", l.Addr().String())
	if !strings.Contains(out, "dial error") {
		t.Errorf("blocked sandbox reached the host's loopback: %s", out)
	}
	if out := f.helper(t, f.policy, "loopback", ""); strings.Contains(out, "pong") {
		t.Errorf("blocked sandbox has a working loopback: %s", out)
	}
}

func TestSandboxNetworkLocalhost(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := f.policy
	p.Network = scope.NetLocalhost
	if out := f.helper(t, p, "loopback", ""); !strings.Contains(out, "loopback pong") {
		t.Errorf("the sandbox's own loopback does not work: %s", out)
	}
	if out := f.helper(t, p, "dial", l.Addr().String()); !strings.Contains(out, "dial error") {
		t.Errorf("localhost sandbox reached the host's loopback: %s", out)
	}
}

func TestSandboxExitStatus(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		script string
		want   Status
	}{
		{"exit 0", Status{}},
		{"exit 7", Status{Code: 7}},
		{"kill -TERM $$", Status{Code: 128 + 15, Signal: syscall.SIGTERM}},
		{"sleep 30 & exit 3", Status{Code: 3}}, // a background child does not hold the sandbox
	}
	for _, tt := range tests {
		start := time.Now()
		if got, out := f.run(t, f.policy, tt.script); got != tt.want {
			t.Errorf("%q: got %+v, want %+v\n%s", tt.script, got, tt.want, out)
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("%q: the sandbox waited for a background process", tt.script)
		}
	}
}

func TestSandboxStartFailures(t *testing.T) {
	f := newFixture(t)
	p := f.policy
	p.Network = scope.NetProxy
	if _, _, err := launchCapture(p, "/bin/true"); !errors.Is(err, errNoAttach) {
		t.Errorf("proxy mode without a proxy: got %v", err)
	}
	if _, _, err := launchCapture(f.policy, filepath.Join(f.home, "notes.txt")); err == nil {
		t.Errorf("a hidden command started")
	}
	p = f.policy
	p.Dir = filepath.Join(f.home, ".ssh")
	if _, _, err := launchCapture(p, "/bin/true"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a hidden working directory: got %v", err)
	}
}

func TestSandboxDevices(t *testing.T) {
	f := newFixture(t)
	st, out := f.run(t, f.policy, `
echo x > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 2 /dev/zero | wc -c
ls /dev | tr '\n' ' '; echo
ls /dev/shm && echo shm-ok
touch /dev/evil && echo "CREATED dev"`)
	if st.Code != 0 && !strings.Contains(out, "shm-ok") {
		t.Fatalf("%+v\n%s", st, out)
	}
	for _, want := range []string{"4\n2\n", "null", "ptmx", "pts", "shm", "stdout", "tty", "urandom", "shm-ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "CREATED") || strings.Contains(out, "vda") {
		t.Errorf("/dev is not the sandbox's own:\n%s", out)
	}
}

func TestSandboxNested(t *testing.T) {
	f := newFixture(t)
	if out := f.helper(t, f.policy, "nested", ""); !strings.Contains(out, "nested: true <nil>") {
		t.Errorf("Nested() inside the sandbox: %s", out)
	}
	if n, err := Nested(); n || err != nil {
		t.Errorf("Nested() outside: %v %v", n, err)
	}
}

// TestSandboxSignalForwarding runs Launch in a child "pent" with no
// controlling terminal and sends that process SIGINT: it must reach the
// command, whose default action (not inherited SIG_IGN) kills it.
func TestSandboxSignalForwarding(t *testing.T) {
	f := newFixture(t)
	p := f.policy
	ready := filepath.Join(f.proj, "ready")
	p.Command = []string{"/bin/sh", "-c", "touch ready; while :; do sleep 0.1; done"}
	result := filepath.Join(f.base, "result.json")
	cmd := startLaunchHelper(t, p, result, ready)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pent (Launch) did not survive SIGINT: %v", err)
	}
	if got, b := readLaunchResult(t, result); got.Signal != int(syscall.SIGINT) || got.Err != "<nil>" {
		t.Errorf("the command did not die of the forwarded SIGINT: %s", b)
	}
}

// startLaunchHelper runs Launch(p) in a child process of the test binary (a
// stand-in for pent, in a session of its own, so without a controlling
// terminal) and returns once the command has created ready. The helper
// writes its launchResult to result ("/dev/null" drops it); it is killed at
// the end of the test if still running.
func startLaunchHelper(t *testing.T, p Policy, result, ready string) *exec.Cmd {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{"PENT_TEST_HELPER=launch", "PENT_TEST_ARG=" + string(data), "PENT_TEST_RESULT=" + result}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(20 * time.Second)
	for _, err := os.Stat(ready); err != nil; _, err = os.Stat(ready) {
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd
}

// launchResult is what a Launch helper process writes to its result file.
type launchResult struct {
	Code, Signal int
	Err          string
}

// readLaunchResult reads a Launch helper's result file (and returns its raw
// bytes for messages).
func readLaunchResult(t *testing.T, path string) (launchResult, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got launchResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("result %s: %v: %s", path, err, b)
	}
	return got, b
}

// TestRootless runs the TestSandbox* tests again as an unprivileged user
// (nobody) from a copy of this test binary in a directory everyone can
// reach, when the suite runs as root.
func TestRootless(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("already unprivileged: the TestSandbox* tests of this run are the rootless ones")
	}
	const nobody = 65534
	dir, err := os.MkdirTemp("", "pent-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	exe, _ := os.Executable()
	bin := filepath.Join(dir, "bin", "sandbox.test")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^TestSandbox", "-test.count=1", "-test.v")
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "TMPDIR=" + tmp, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	t.Logf("rootless run (uid %d):\n%s", nobody, summarize(string(out)))
	if err != nil {
		t.Fatalf("rootless TestSandbox* failed: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "--- PASS: TestSandboxProtected") {
		t.Fatalf("rootless run did not run every check")
	}
}

// summarize keeps the result lines of a verbose test run.
func summarize(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "--- ") || strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "FAIL") || strings.Contains(line, "_test.go") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// BenchmarkLaunch measures Launch of /bin/true with the fixture's policy
// (`go test -run '^$' -bench Launch ./sandbox/`); bench/ compares whole runs
// against peers.
func BenchmarkLaunch(b *testing.B) {
	f := newFixture(b)
	for b.Loop() {
		st, _, err := launchCapture(f.policy, "/bin/true")
		if err != nil || st.Code != 0 {
			b.Fatalf("%+v %v", st, err)
		}
	}
}

// TestSandboxDiesWithPent kills the process running Launch with SIGKILL:
// the sandbox and everything in it must go too.
func TestSandboxDiesWithPent(t *testing.T) {
	f := newFixture(t)
	p := f.policy
	marker := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano()%100000)
	p.Command = []string{"/bin/sh", "-c", "touch ready; sleep " + marker + "3 & sleep " + marker + "4"}
	cmd := startLaunchHelper(t, p, "/dev/null", filepath.Join(f.proj, "ready"))
	deadline := time.Now().Add(20 * time.Second)
	// The shell may still be starting the sleeps when ready appears.
	for n := countProcesses(t, marker); n < 3; n = countProcesses(t, marker) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("expected the shell and its 2 sleeps running, found %d", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); countProcesses(t, marker) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("sandboxed processes outlived a killed pent")
		}
	}
}

// countProcesses counts the host's processes whose command line holds s.
func countProcesses(t *testing.T, s string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && strings.Contains(string(b), s) {
			n++
		}
	}
	return n
}

// TestHostChecks runs the doctor probes: on this machine every feature works.
func TestHostChecks(t *testing.T) {
	checks := HostChecks()
	names := map[string]bool{}
	for _, c := range checks {
		t.Logf("%-32s ok=%v required=%v %s %s", c.Name, c.OK, c.Required, c.Detail, c.Fix)
		names[c.Name] = true
		if !c.OK {
			t.Errorf("%s failed on a host that supports it: %s", c.Name, c.Detail)
		}
	}
	wants := []string{"Landlock", "unprivileged user namespaces", "procfs in a PID namespace", "overlayfs in a user namespace", "seccomp filters"}
	if os.Getuid() == 0 {
		wants = append(wants, "idmapped mounts (root runs)")
	}
	for _, want := range wants {
		if !names[want] {
			t.Errorf("no %q check", want)
		}
	}
}

// TestSandboxPlantedSymlinks: symlinks an earlier run could plant inside the
// project must not widen the next run.
func TestSandboxPlantedSymlinks(t *testing.T) {
	f := newFixture(t)
	build := filepath.Join(f.proj, "build")
	if err := os.Symlink("/etc", build); err != nil {
		t.Fatal(err)
	}
	p := f.policy
	p.Write = append(p.Write, build)
	p.Read = append(p.Read, filepath.Join(f.proj, "ssh"))
	if err := os.Symlink(filepath.Join(f.home, ".ssh"), filepath.Join(f.proj, "ssh")); err != nil {
		t.Fatal(err)
	}
	st, out := f.run(t, p, `echo x > build/pent-test && echo "WROTE etc"; chmod 600 build/hostname && echo "CHMOD etc"; cat ssh/id_ed25519; true`)
	if st.Code != 0 || strings.Contains(out, "WROTE") || strings.Contains(out, "CHMOD") || strings.Contains(out, secretMarker) {
		t.Errorf("a planted symlink widened the sandbox: %+v\n%s", st, out)
	}

	f = newFixture(t)
	git := filepath.Join(f.proj, ".git")
	if err := os.Rename(git, filepath.Join(f.proj, "realgit")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("realgit", git); err != nil {
		t.Fatal(err)
	}
	if _, out, err := launchCapture(f.policy, "/bin/true"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlinked .git must stop the start: %v\n%s", err, out)
	}
}
