package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The securebits of <linux/securebits.h>.
const (
	secbitNoRoot                  = 1 << 0
	secbitNoRootLocked            = 1 << 1
	secbitNoSetuidFixup           = 1 << 2
	secbitNoSetuidFixupLocked     = 1 << 3
	secbitKeepCapsLocked          = 1 << 5
	secbitNoCapAmbientRaise       = 1 << 6
	secbitNoCapAmbientRaiseLocked = 1 << 7
)

// secureBits lock the process out of ever regaining capabilities: uid 0 gets
// no implicit capabilities on exec, setuid changes do not adjust them, and no
// ambient capability can be raised — each locked.
const secureBits = secbitNoRoot | secbitNoRootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLocked |
	secbitKeepCapsLocked | secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLocked

// dropPrivileges leaves the calling thread without capabilities and unable
// to gain any, even as uid 0 of the user namespace: an empty bounding set,
// no_new_privs, no ambient capabilities, locked securebits, empty effective,
// permitted and inheritable sets. Credentials, no_new_privs and securebits
// are per thread and a child inherits those of the thread that forks it:
// the caller must have locked the thread and must fork the command from it.
// (Doing it on every thread with syscall.AllThreadsSyscall stops the world
// once per call, for nothing the command inherits.)
func dropPrivileges() error {
	lastCap, err := lastCapability()
	if err != nil {
		return err
	}
	for c := 0; c <= lastCap; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("PR_CAPBSET_DROP %d: %w", c, err)
		}
	}
	steps := []struct {
		name       string
		a1, a2, a3 uintptr
	}{
		{"PR_SET_NO_NEW_PRIVS", unix.PR_SET_NO_NEW_PRIVS, 1, 0},
		{"PR_CAP_AMBIENT_CLEAR_ALL", unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0},
		{"PR_SET_SECUREBITS", unix.PR_SET_SECUREBITS, secureBits, 0},
	}
	for _, s := range steps {
		if err := unix.Prctl(int(s.a1), s.a2, s.a3, 0, 0); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// lastCapability is the highest capability number the kernel knows.
func lastCapability() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("reading the kernel's last capability: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 63 {
		return 0, fmt.Errorf("unexpected /proc/sys/kernel/cap_last_cap %q", b)
	}
	return n, nil
}
