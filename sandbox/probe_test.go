package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStatAllHung: a path whose stat never answers (a hung NFS server)
// does not hold up the others or the caller; it is reported as timed out,
// the others with what they answered.
func TestStatAllHung(t *testing.T) {
	hung := make(chan struct{})
	defer close(hung) // lets the waiting goroutine end
	stat := func(p string) (os.FileInfo, error) {
		switch p {
		case "/net/hung":
			<-hung
			return nil, errors.New("answered too late")
		case "/missing":
			return nil, fs.ErrNotExist
		}
		return os.Stat(".")
	}
	got := statAll(stat, []string{"/usr", "/net/hung", "/missing"}, 50*time.Millisecond)
	if got[0].err != nil || got[0].info == nil {
		t.Errorf("/usr: %+v", got[0])
	}
	if !errors.Is(got[1].err, errProbeTimeout) {
		t.Errorf("/net/hung: %v, want a timeout", got[1].err)
	}
	if !errors.Is(got[2].err, fs.ErrNotExist) {
		t.Errorf("/missing: %v", got[2].err)
	}
	if len(statAll(stat, nil, time.Millisecond)) != 0 {
		t.Error("results for no paths")
	}
}

// TestLookPathHung: a PATH directory on a hung mount before the one that
// holds the command makes the lookup fail within the bound, naming the
// directory; one after it does not matter, and neither holds up the
// caller.
func TestLookPathHung(t *testing.T) {
	hung := make(chan struct{})
	defer close(hung) // lets the waiting goroutines end
	exe := fakeInfo{mode: 0o755}
	var mu sync.Mutex
	var probed []string
	stat := func(p string) (os.FileInfo, error) {
		mu.Lock()
		probed = append(probed, p)
		mu.Unlock()
		if strings.HasPrefix(p, "/net/") {
			<-hung
			return nil, errors.New("answered too late")
		}
		switch p {
		case "/usr/bin/tool", "/usr/bin/other":
			return exe, nil
		case "/usr/bin/plain":
			return fakeInfo{mode: 0o644}, nil
		case "/usr/bin/dir":
			return fakeInfo{mode: fs.ModeDir | 0o755}, nil
		}
		return nil, fs.ErrNotExist
	}
	const path = "/usr/local/bin:relative/bin:/usr/bin:/net/tools/bin:/bin"
	tests := []struct {
		name, want, err string
		path            string
		// probed are the paths lookPath may stat, in order.
		probed []string
	}{
		{name: "tool", path: path, want: "/usr/bin/tool", probed: []string{"/usr/local/bin/tool", "/usr/bin/tool"}},
		{name: "other", path: "/net/tools/bin:/usr/bin", err: `the PATH directory "/net/tools/bin" gave no answer within`},
		{name: "missing", path: path, err: `the PATH directory "/net/tools/bin" gave no answer within`},
		{name: "missing", path: "/usr/local/bin:/usr/bin", err: "missing: command not found"},
		{name: "plain", path: "/usr/bin", err: "plain: permission denied"},
		{name: "plain", path: "/usr/bin:/usr/local/bin", err: "plain: permission denied", probed: []string{"/usr/bin/plain", "/usr/local/bin/plain"}},
		{name: "dir", path: "/usr/bin", err: "command not found"},
		{name: "/opt/x/tool", path: path, want: "/opt/x/tool"},
		{name: "./run.sh", path: path, want: "/src/app/run.sh"},
		{name: "sub/run.sh", path: path, want: "/src/app/sub/run.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" in "+tt.path, func(t *testing.T) {
			mu.Lock()
			probed = nil
			mu.Unlock()
			start := time.Now()
			got, err := lookPath(stat, tt.name, tt.path, "/src/app", 50*time.Millisecond)
			if waited := time.Since(start); waited > 5*time.Second {
				t.Errorf("lookPath waited %v on a hung directory", waited)
			}
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("lookPath(%q) = %q, %v; want an error containing %q", tt.name, got, err, tt.err)
			case tt.err == "" && (err != nil || got != tt.want):
				t.Errorf("lookPath(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.probed != nil && !slices.Equal(probed, tt.probed) {
				t.Errorf("lookPath(%q) probed %q, want only %q (a shell stops at the first match)", tt.name, probed, tt.probed)
			}
		})
	}
}

// TestAnswerWithin: an answer in time is passed on as it is, a call that
// does not answer is abandoned with errProbeTimeout.
func TestAnswerWithin(t *testing.T) {
	hung := make(chan struct{})
	defer close(hung)
	if v, err := answerWithin(time.Minute, func() (string, error) { return "/real", nil }); v != "/real" || err != nil {
		t.Errorf("a prompt answer: %q, %v", v, err)
	}
	if _, err := answerWithin(time.Minute, func() (int, error) { return 0, fs.ErrNotExist }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a prompt error: %v", err)
	}
	v, err := answerWithin(50*time.Millisecond, func() (string, error) { <-hung; return "/late", nil })
	if v != "" || !errors.Is(err, errProbeTimeout) {
		t.Errorf("a hung call: %q, %v; want errProbeTimeout", v, err)
	}
}

// TestEvalSymlinks: the bounded EvalSymlinks answers like
// filepath.EvalSymlinks.
func TestEvalSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(target)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := EvalSymlinks(filepath.Join(dir, "link")); got != want || err != nil {
		t.Errorf("EvalSymlinks(link) = %q, %v; want %q", got, err, want)
	}
	if _, err := EvalSymlinks(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("EvalSymlinks(missing) = %v, want ErrNotExist", err)
	}
}

// fakeInfo is a FileInfo with just a mode.
type fakeInfo struct{ mode fs.FileMode }

func (f fakeInfo) Name() string       { return "fake" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }
