package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestSandboxTraceObserver runs a script that makes one access of each kind
// the policy denies — and several it allows — under the trace observer, and
// requires exactly the denials, with the path a rule must name, while the
// kernel still refuses every one of them.
func TestSandboxTraceObserver(t *testing.T) {
	f := newFixture(t)
	hiddenBin := filepath.Join(f.home, "bin", "tool")
	if err := os.MkdirAll(filepath.Dir(hiddenBin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hiddenBin, []byte("#!/bin/sh\necho TOOL-RAN\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(f.base, "outside.txt")
	readonly := filepath.Join(f.base, "readonly.txt") // allowed by the fixture
	script := fmt.Sprintf(`
cat "$HOME/.aws/credentials"
cat "$HOME/.aws/credentials"
echo x > %[1]s
rm -f "$HOME/notes.txt"
%[3]s
mkdir "$HOME/newdir"
echo hi > "$HOME/proj/.pent.toml"
echo created > "$HOME/proj/.envrc"
echo ok > "$HOME/proj/allowed.txt"
cat /etc/hostname /dev/null >/dev/null
echo to-stdout > /dev/stdout
ls /usr >/dev/null
cat "$HOME/does-not-exist-anywhere"
cat %[2]s >/dev/null
echo done`, outside, readonly, hiddenBin)

	var mu sync.Mutex
	var got []FileDenial
	p := f.policy
	p.Command = []string{"/bin/sh", "-c", script}
	st, out, err := launchWith(p, LaunchOptions{Observe: func(d FileDenial) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
	}})
	if err != nil || st.Code != 0 || !strings.Contains(out, "done") {
		t.Fatalf("traced run: %+v %v\n%s", st, err, out)
	}
	if strings.Contains(out, secretMarker) || strings.Contains(out, "TOOL-RAN") {
		t.Fatalf("the observer let a denied access through:\n%s", out)
	}
	if data, _ := os.ReadFile(outside); string(data) != "outside\n" {
		t.Fatalf("outside.txt was written: %q", data)
	}

	type key struct {
		op    FileOp
		path  string
		rule  string
		grant Grant
	}
	want := []key{
		{OpRead, filepath.Join(f.home, ".aws", "credentials"), filepath.Join(f.home, ".aws", "credentials"), GrantRead},
		{OpRead, filepath.Join(f.home, ".aws", "credentials"), filepath.Join(f.home, ".aws", "credentials"), GrantRead},
		{OpWrite, outside, outside, GrantWrite},
		// rm checks the name first (lstat, twice), then unlinks it.
		{OpProbe, filepath.Join(f.home, "notes.txt"), filepath.Join(f.home, "notes.txt"), GrantRead},
		{OpDelete, filepath.Join(f.home, "notes.txt"), f.home, GrantWrite},
		{OpProbe, filepath.Join(f.home, "notes.txt"), filepath.Join(f.home, "notes.txt"), GrantRead},
		{OpExec, hiddenBin, hiddenBin, GrantExecute},
		{OpCreate, filepath.Join(f.home, "newdir"), f.home, GrantWrite},
		{OpWrite, filepath.Join(f.proj, ".pent.toml"), filepath.Join(f.proj, ".pent.toml"), GrantNone},
	}
	var keys []key
	for _, d := range got {
		keys = append(keys, key{d.Op, d.Path, d.Rule, d.Grant})
		if d.PID <= 0 || d.Command == "" || d.Time.IsZero() {
			t.Errorf("denial without process or time: %+v", d)
		}
	}
	if !slices.Equal(keys, want) {
		t.Errorf("denials:\n got %+v\nwant %+v\noutput:\n%s", keys, want, out)
	}
}

func TestMagicFD(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fd   int
		rest string
		ok   bool
	}{
		{"/dev/stdout", 1, "", true},
		{"/dev/stdin", 0, "", true},
		{"/dev/fd/7", 7, "", true},
		{"/proc/self/fd/3/sub/file", 3, "/sub/file", true},
		{"/proc/thread-self/fd/12", 12, "", true},
		{"/proc/self/fd/x", 0, "", false},
		{"/proc/self/status", 0, "", false},
		{"/dev/stdoutx", 0, "", false},
		{"/etc/passwd", 0, "", false},
	} {
		fd, rest, ok := magicFD(tc.in)
		if fd != tc.fd || rest != tc.rest || ok != tc.ok {
			t.Errorf("magicFD(%q) = %d %q %v, want %d %q %v", tc.in, fd, rest, ok, tc.fd, tc.rest, tc.ok)
		}
	}
}

func TestObserverFilterAssembles(t *testing.T) {
	filter, err := observerFilter()
	if err != nil {
		t.Fatal(err)
	}
	if len(filter) < len(commonCalls)+4 {
		t.Fatalf("filter has %d instructions for %d calls", len(filter), len(commonCalls)+len(archCalls))
	}
}

// TestSandboxTraceObserverProbes: existence checks (stat, access, readlink,
// open with O_PATH) of names the sandbox hides are reported as probes, as
// are access() questions about a write or an execution the sandbox refuses;
// checks that get the host's answer are not, and the command still sees
// the sandbox's answer.
func TestSandboxTraceObserverProbes(t *testing.T) {
	f := newFixture(t)
	gitconfig := filepath.Join(f.home, ".gitconfig")
	tool := filepath.Join(f.home, "bin", "tool")
	link := filepath.Join(f.home, "link")
	for path, content := range map[string]string{gitconfig: "[user]\n", tool: "#!/bin/sh\n"} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("notes.txt", link); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`
test -e "$HOME/.gitconfig" && echo SEES-GITCONFIG
test -d "$HOME/.aws" && echo SEES-AWS
readlink "$HOME/link"
test -x %[1]s && echo SEES-TOOL
test -w /etc/hostname && echo CAN-WRITE-ETC
python3 -c 'import os, sys; os.open(sys.argv[1], os.O_PATH)' "$HOME/notes.txt" 2>/dev/null && echo SEES-NOTES
test -e "$HOME/proj/main.go" || echo MISSES-MAIN
test -w "$HOME/proj/main.go" || echo CANNOT-WRITE-MAIN
test -e "$HOME/nowhere" && echo SEES-NOWHERE
stat /usr >/dev/null
echo done`, tool)

	var mu sync.Mutex
	var got []FileDenial
	p := f.policy
	p.Command = []string{"/bin/sh", "-c", script}
	st, out, err := launchWith(p, LaunchOptions{Observe: func(d FileDenial) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
	}})
	if err != nil || st.Code != 0 || !strings.Contains(out, "done") {
		t.Fatalf("traced run: %+v %v\n%s", st, err, out)
	}
	for _, leak := range []string{"SEES-", "CAN-WRITE", "MISSES-MAIN", "CANNOT-WRITE-MAIN", "notes.txt"} {
		if strings.Contains(out, leak) {
			t.Errorf("the sandbox answered a check differently under the observer (%s):\n%s", leak, out)
		}
	}

	type key struct {
		op    FileOp
		path  string
		grant Grant
	}
	want := []key{
		{OpProbe, gitconfig, GrantRead},
		{OpProbe, filepath.Join(f.home, ".aws"), GrantRead},
		{OpProbe, link, GrantRead},
		{OpProbe, tool, GrantExecute},
		{OpProbe, "/etc/hostname", GrantWrite},
		{OpProbe, filepath.Join(f.home, "notes.txt"), GrantRead},
	}
	var keys []key
	for _, d := range got {
		k := key{d.Op, d.Path, d.Grant}
		if d.Rule != d.Path || d.PID <= 0 || d.Command == "" {
			t.Errorf("probe with another rule than its path, or without process: %+v", d)
		}
		if !slices.Contains(keys, k) { // a program may check a name twice
			keys = append(keys, k)
		}
	}
	if !slices.Equal(keys, want) {
		t.Errorf("probes:\n got %+v\nwant %+v\noutput:\n%s", keys, want, out)
	}
}
