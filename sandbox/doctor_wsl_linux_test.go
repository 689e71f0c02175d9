package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLandlockCheckABI: the probe's answer decides, not the LSM list; an
// ABI older than 6 says what is lost.
func TestLandlockCheckABI(t *testing.T) {
	missingLSM := filepath.Join(t.TempDir(), "lsm") // WSL2: no /sys/kernel/security/lsm
	c := landlockCheck(3, missingLSM)
	if !c.OK || !strings.HasPrefix(c.Detail, "ABI 3; older than ABI 6") {
		t.Fatalf("ABI 3: %+v", c)
	}
	for _, want := range []string{"filter TCP bind and connect", "control ioctl on device files", "scope abstract UNIX sockets and signals", "network mode unrestricted"} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("ABI 3 detail lacks %q: %s", want, c.Detail)
		}
	}
	if strings.Contains(c.Detail, "truncate") || strings.Contains(c.Detail, "renaming") {
		t.Errorf("ABI 3 detail names what ABI 3 has: %s", c.Detail)
	}
	if c := landlockCheck(7, missingLSM); !c.OK || c.Detail != "ABI 7" {
		t.Errorf("ABI 7: %+v", c)
	}
	if c := landlockCheck(0, missingLSM); c.OK || !strings.Contains(c.Fix, "lsm=landlock,lockdown") {
		t.Errorf("no Landlock, no LSM list: %+v", c)
	}
}

// TestWSLCheck reads the recorded WSL2 fixtures: the drives under /mnt are
// hidden, the driver store under /usr is named as readable.
func TestWSLCheck(t *testing.T) {
	procSys := filepath.Join(t.TempDir(), "sys")
	if err := os.MkdirAll(filepath.Join(procSys, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel, err := os.ReadFile(filepath.Join("testdata", "wsl2", "osrelease"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(procSys, "kernel", "osrelease"), rel, 0o644); err != nil {
		t.Fatal(err)
	}
	c, ok := wslCheck(procSys, filepath.Join("testdata", "wsl2", "mountinfo"))
	if !ok || !c.OK {
		t.Fatalf("WSL2 fixture: ok=%v %+v", ok, c)
	}
	for _, want := range []string{"kernel 5.15.153.1-microsoft-standard-WSL2", "Windows directories in PATH are not made executable",
		"hidden: /mnt/c, /mnt/d, /mnt/my share", "readable under a granted system directory: /usr/lib/wsl/drivers"} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("detail lacks %q: %s", want, c.Detail)
		}
	}
	if c, ok := wslCheck(procSys, filepath.Join(t.TempDir(), "none")); !ok || c.OK || c.Fix == "" {
		t.Errorf("unreadable mounts: ok=%v %+v", ok, c)
	}
	if err := os.WriteFile(filepath.Join(procSys, "kernel", "osrelease"), []byte("6.1.0-28-amd64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := wslCheck(procSys, filepath.Join("testdata", "wsl2", "mountinfo")); ok {
		t.Error("a Debian kernel taken for WSL")
	}
}
