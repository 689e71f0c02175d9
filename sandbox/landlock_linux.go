package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock is driven with raw system calls: the ABI is probed and enforced
// explicitly (go-landlock's best-effort mode silently does nothing on a kernel
// without Landlock), and the rule paths are opened by the stage itself, after
// the mount namespace is in its final shape.

// Filesystem rights by the ABI that introduced them.
const (
	fsV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsV2 = fsV1 | unix.LANDLOCK_ACCESS_FS_REFER
	fsV3 = fsV2 | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	fsV5 = fsV3 | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	fsV9 = fsV5 | unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX

	// fileRights are the rights that apply to a non-directory.
	fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
)

// Named rights sets of the policy. rightsAll is masked down to the ABI.
const (
	rightsTraverse = unix.LANDLOCK_ACCESS_FS_READ_DIR
	rightsRead     = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	rightsExecute  = rightsRead | unix.LANDLOCK_ACCESS_FS_EXECUTE
	rightsDevice   = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	rightsTerminal = rightsDevice | unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	rightsAll      = fsV9
)

// errNoLandlock names the kernel requirement when Landlock is missing.
var errNoLandlock = errors.New("this kernel has no usable Landlock: pent needs Linux 5.13+ built with " +
	"CONFIG_SECURITY_LANDLOCK=y and landlock in the lsm= boot parameter (see `pent doctor`)")

// LandlockABI is the Landlock ABI version of the running kernel, 0 when
// Landlock is absent or disabled.
func LandlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// handledFS is every filesystem right the ABI knows.
func handledFS(abi int) uint64 {
	switch {
	case abi >= 9:
		return fsV9
	case abi >= 5:
		return fsV5
	case abi >= 3:
		return fsV3
	case abi == 2:
		return fsV2
	default:
		return fsV1
	}
}

// rulesetAttr is struct landlock_ruleset_attr up to the scopes of ABI 6; the
// kernel accepts a shorter struct from older callers.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

// pathRule grants rights beneath one path.
type pathRule struct {
	path   string
	rights uint64
}

// ruleset is a Landlock ruleset built but not yet enforced.
type ruleset struct{ fd int }

// newRuleset creates a ruleset at the kernel's ABI with rules for every
// existing path. A missing path is skipped; any other failure to open one is
// an error. Scopes (abstract UNIX sockets, signals) are used when present.
func newRuleset(abi int, rules []pathRule) (*ruleset, error) {
	if abi < 1 {
		return nil, errNoLandlock
	}
	attr := rulesetAttr{handledFS: handledFS(abi)}
	size := unsafe.Offsetof(attr.handledNet)
	if abi >= 6 {
		attr.scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return nil, fmt.Errorf("landlock_create_ruleset (ABI %d): %w", abi, errno)
	}
	rs := &ruleset{fd: int(fd)}
	for _, r := range rules {
		if err := rs.add(r, attr.handledFS); err != nil {
			rs.close()
			return nil, err
		}
	}
	return rs, nil
}

// add adds one path rule, trimmed to what the ABI handles and, for a file, to
// the rights that apply to files.
func (rs *ruleset) add(r pathRule, handled uint64) error {
	fd, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("landlock rule for %s: %w", r.path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("landlock rule for %s: %w", r.path, err)
	}
	rights := r.rights & handled
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		rights &= fileRights
	}
	if rights == 0 {
		return nil
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: rights, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs.fd), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock rule for %s: %w", r.path, errno)
	}
	return nil
}

// restrictSelf enforces the ruleset on the calling thread, which must have
// set no_new_privs; the children it forks inherit it.
func (rs *ruleset) restrictSelf() error {
	_, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs.fd), 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

func (rs *ruleset) close() { unix.Close(rs.fd) }

// policyRules are the Landlock rules of a policy plus what every sandbox
// needs: terminal and device nodes, the private temporary directories,
// procfs, and the one sysfs file the Go runtime reads at start.
//
// A hidden directory (a maskHidden tmpfs: $HOME, /home, /run…) can be
// listed like a Traverse one: it holds only the skeleton of what is
// allowed beneath it (mount points, empty directories), never a hidden
// entry, so `ls -A ~` shows the allowed names and no others.
func policyRules(p Policy) []pathRule {
	var rules []pathRule
	add := func(paths []string, rights uint64) {
		for _, path := range paths {
			rules = append(rules, pathRule{path, rights})
		}
	}
	add(p.Traverse, rightsTraverse)
	for _, m := range masks(p) {
		if m.kind == maskHidden {
			add([]string{m.path}, rightsTraverse)
		}
	}
	add(p.Read, rightsRead)
	add(p.Execute, rightsExecute)
	add(p.Write, rightsAll)
	add(p.PrivateTmp, rightsAll)
	add([]string{"/dev"}, rightsTraverse)
	add([]string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}, rightsDevice)
	add([]string{"/dev/tty", "/dev/console", "/dev/pts"}, rightsTerminal)
	add([]string{"/dev/shm"}, rightsAll)
	add([]string{"/proc", "/sys/kernel/mm/transparent_hugepage"}, rightsRead)
	return rules
}
