package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWindowsDrives(t *testing.T) {
	info, err := os.ReadFile(filepath.Join("testdata", "wsl2", "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	got := WindowsDrives(info)
	want := []string{"/usr/lib/wsl/drivers", "/mnt/c", "/mnt/d", "/mnt/my share"}
	if !slices.Equal(got, want) {
		t.Fatalf("WindowsDrives = %q, want %q", got, want)
	}
}

func FuzzWindowsDrives(f *testing.F) {
	info, err := os.ReadFile(filepath.Join("testdata", "wsl2", "mountinfo"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(info)
	f.Add([]byte("1 2 0:1 / /x\\ rw - 9p a aname=drvfs\n1 - \n - \n"))
	f.Fuzz(func(t *testing.T, info []byte) {
		for _, m := range WindowsDrives(info) {
			if !strings.Contains(string(info), "drvfs") && !strings.Contains(string(info), "aname=drivers") {
				t.Fatalf("mount %q found in %q", m, info)
			}
		}
	})
}

// TestDefaultsWindowsPath: WSL appends the Windows PATH; a directory on a
// Windows drive is not granted, a Linux one beside it is, and so is the
// same directory when no drive is mounted there (the control that shows
// the filter, not existence, dropped it).
func TestDefaultsWindowsPath(t *testing.T) {
	root := t.TempDir()
	drive := filepath.Join(root, "mnt", "c")
	win := filepath.Join(drive, "Windows", "system32")
	linux := filepath.Join(root, "usr", "local", "go", "bin")
	for _, d := range []string{win, linux} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := Host{Home: filepath.Join(root, "home"), Cwd: root, Path: []string{linux, win}, Command: filepath.Join(win, "cmd.exe")}
	if p := Defaults(h); !slices.Contains(p.Execute, win) {
		t.Fatalf("control: without a Windows drive %s is not granted: %q", win, p.Execute)
	}
	h.WindowsDrives = []string{drive}
	p := Defaults(h)
	if slices.ContainsFunc(p.Execute, func(d string) bool { return within(d, drive) }) {
		t.Errorf("a directory on the Windows drive is executable: %q", p.Execute)
	}
	if !slices.Contains(p.Execute, linux) {
		t.Errorf("the Linux PATH directory is not granted: %q", p.Execute)
	}
}
