package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter is a classic BPF program written out by hand. It denies
// what Landlock, the namespaces and the dropped capabilities leave open or
// only narrowly closed: typing into the terminal (TIOCSTI, TIOCLINUX), new
// namespaces, the mount API, kernel keyrings, eBPF, perf, io_uring,
// userfaultfd, vsock and most netlink families, a few host-wide
// administrative calls, and setuid/setgid bits on files (a file the command
// makes set-user-ID in a project would run as its owner — root, for a root
// run — for whoever executes it on the host later). Denials return EPERM so that programs degrade
// gracefully; clone3 returns ENOSYS (its flags are in memory a filter cannot
// read), which makes libc fall back to clone, whose flags it can. Calls of a
// foreign architecture — including x32 calls on amd64 — kill the process:
// their numbers would slip past the rules.

// Offsets into struct seccomp_data.
const (
	dataNr   = 0
	dataArch = 4
	dataArgs = 16
)

// argLow is the offset of the low 32 bits of system call argument i (the
// supported architectures are little-endian).
func argLow(i uint32) uint32 { return dataArgs + 8*i }

// x32Bit marks an x32 system call on amd64.
const x32Bit = 0x40000000

// Namespace flags of clone and unshare (<linux/sched.h>). CLONE_NEWTIME
// shares its value with the exit-signal byte of clone, so it is only checked
// for unshare; clone cannot ask for it.
const (
	cloneNamespaces   = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET
	unshareNamespaces = cloneNamespaces | unix.CLONE_NEWTIME
)

// Personality values (<linux/personality.h>): personalityQuery reads the
// current persona; personalitySafe are the bits a sandboxed process may set —
// the persona type byte (PER_LINUX, PER_LINUX32), UNAME26, and
// ADDR_NO_RANDOMIZE (gdb and setarch -R use it; it weakens only the
// process's own layout). Everything else — READ_IMPLIES_EXEC, MMAP_PAGE_ZERO,
// ADDR_COMPAT_LAYOUT, the address-limit flags — is refused.
const (
	personalityQuery = 0xffffffff
	personalitySafe  = 0xff | 0x0020000 | 0x0040000
)

// Actions of the filter.
const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retNOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retKill  = unix.SECCOMP_RET_KILL_PROCESS
)

// setIDBits are the mode bits a sandboxed command may not set on a file:
// S_ISUID and S_ISGID. Both would make a file written inside run with its
// owner's or group's rights when executed outside.
const setIDBits = unix.S_ISUID | unix.S_ISGID

// modeCall is a system call that sets a file's mode bits: the argument
// holding the mode, and the argument holding open flags when the mode only
// counts with O_CREAT or O_TMPFILE (-1 when it always counts).
type modeCall struct {
	nr          uint32
	flags, mode int
}

// modeCalls are the calls of every supported architecture that set mode
// bits; archModeCalls adds the path-only forms amd64 still has. openat2
// carries its mode in memory a filter cannot read: it returns ENOSYS, which
// makes its callers fall back to openat.
var modeCalls = append([]modeCall{
	{nr: unix.SYS_FCHMOD, flags: -1, mode: 1},
	{nr: unix.SYS_FCHMODAT, flags: -1, mode: 2},
	{nr: unix.SYS_FCHMODAT2, flags: -1, mode: 2},
	{nr: unix.SYS_OPENAT, flags: 2, mode: 3},
	{nr: unix.SYS_MKNODAT, flags: -1, mode: 2},
}, archModeCalls...)

// createFlags are the open flags with which the mode argument is used:
// O_CREAT, and O_TMPFILE without the O_DIRECTORY bit it includes (a plain
// O_DIRECTORY open has no mode; its mode argument is whatever was in the
// register).
const createFlags = unix.O_CREAT | (unix.O_TMPFILE &^ unix.O_DIRECTORY)

// deniedSyscalls are refused with EPERM whatever their arguments.
var deniedSyscalls = []uint32{
	// Namespaces and the mount API (the stage has built the mounts).
	unix.SYS_SETNS, unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_MOVE_MOUNT,
	unix.SYS_OPEN_TREE, unix.SYS_FSOPEN, unix.SYS_FSMOUNT, unix.SYS_FSCONFIG, unix.SYS_FSPICK,
	unix.SYS_MOUNT_SETATTR,
	// Kernel attack surface a sandboxed program has no use for.
	unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN,
	unix.SYS_USERFAULTFD, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
	// Host administration (capabilities are gone; refuse before the kernel looks).
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE,
	unix.SYS_DELETE_MODULE, unix.SYS_ACCT, unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_REBOOT,
	unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME, unix.SYS_CLOCK_ADJTIME, unix.SYS_ADJTIMEX,
}

// bpfProgram assembles a filter: instructions whose jumps name labels, which
// assemble resolves to the forward offsets classic BPF needs.
type bpfProgram struct {
	insns  []unix.SockFilter
	jumps  map[int][2]string // instruction index → true and false labels ("" = next)
	labels map[string]int
}

func newProgram() *bpfProgram {
	return &bpfProgram{jumps: map[int][2]string{}, labels: map[string]int{}}
}

// load loads the 32-bit word at off of struct seccomp_data.
func (p *bpfProgram) load(off uint32) {
	p.insns = append(p.insns, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off})
}

// jump compares the accumulator with k (op is BPF_JEQ, BPF_JGE or BPF_JSET)
// and goes to label yes when the comparison holds, no otherwise.
func (p *bpfProgram) jump(op uint16, k uint32, yes, no string) {
	p.jumps[len(p.insns)] = [2]string{yes, no}
	p.insns = append(p.insns, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
}

// ret ends the filter with action.
func (p *bpfProgram) ret(action uint32) {
	p.insns = append(p.insns, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: action})
}

// label names the next instruction.
func (p *bpfProgram) label(name string) { p.labels[name] = len(p.insns) }

// assemble resolves the labels into jump offsets.
func (p *bpfProgram) assemble() ([]unix.SockFilter, error) {
	out := make([]unix.SockFilter, len(p.insns))
	copy(out, p.insns)
	for i, targets := range p.jumps {
		var offs [2]uint8
		for j, name := range targets {
			if name == "" {
				continue
			}
			at, ok := p.labels[name]
			if !ok {
				return nil, fmt.Errorf("seccomp filter: undefined label %q", name)
			}
			off := at - i - 1
			if off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp filter: jump to %q out of range (%d)", name, off)
			}
			offs[j] = uint8(off)
		}
		out[i].Jt, out[i].Jf = offs[0], offs[1]
	}
	if len(out) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp filter: %d instructions, more than the kernel's %d", len(out), unix.BPF_MAXINSNS)
	}
	return out, nil
}

// auditArch is the seccomp architecture of this build, with whether x32
// calls must be refused; an error on an architecture pent has no filter for.
func auditArch(goarch string) (arch uint32, x32 bool, err error) {
	switch goarch {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, false, nil
	default:
		return 0, false, fmt.Errorf("pent has no seccomp filter for %s; it supports amd64 and arm64", goarch)
	}
}

// seccompFilter builds the filter for the architecture of this build (the
// unix.SYS_* numbers are those of the build's architecture).
func seccompFilter() ([]unix.SockFilter, error) {
	arch, x32, err := auditArch(runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	p := newProgram()
	p.load(dataArch)
	p.jump(unix.BPF_JEQ, arch, "", "kill")
	p.load(dataNr)
	if x32 {
		p.jump(unix.BPF_JSET, x32Bit, "kill", "")
	}
	for _, nr := range deniedSyscalls {
		p.jump(unix.BPF_JEQ, nr, "eperm", "")
	}
	p.jump(unix.BPF_JEQ, unix.SYS_CLONE3, "enosys", "")
	p.jump(unix.BPF_JEQ, unix.SYS_OPENAT2, "enosys", "")
	for i, c := range modeCalls {
		p.jump(unix.BPF_JEQ, c.nr, fmt.Sprintf("mode%d", i), "")
	}
	p.jump(unix.BPF_JEQ, unix.SYS_IOCTL, "ioctl", "")
	p.jump(unix.BPF_JEQ, unix.SYS_CLONE, "clone", "")
	p.jump(unix.BPF_JEQ, unix.SYS_UNSHARE, "unshare", "")
	p.jump(unix.BPF_JEQ, unix.SYS_SOCKET, "socket", "")
	p.jump(unix.BPF_JEQ, unix.SYS_PERSONALITY, "personality", "")
	p.ret(retAllow)

	// ioctl(fd, request): the tty layer reads the request as a 32-bit
	// unsigned int, so only its low word counts (CVE-2019-10063).
	p.label("ioctl")
	p.load(argLow(1))
	p.jump(unix.BPF_JEQ, unix.TIOCSTI, "eperm", "")
	p.jump(unix.BPF_JEQ, unix.TIOCLINUX, "eperm", "allow")

	// clone(flags, ...): the kernel uses the low 32 bits of flags.
	p.label("clone")
	p.load(argLow(0))
	p.jump(unix.BPF_JSET, cloneNamespaces, "eperm", "allow")

	// unshare(flags): a set high bit is EINVAL anyway.
	p.label("unshare")
	p.load(argLow(0))
	p.jump(unix.BPF_JSET, unshareNamespaces, "eperm", "allow")

	// socket(domain, type, protocol): no vsock; netlink only for
	// NETLINK_ROUTE, which libc uses to list interfaces and addresses.
	p.label("socket")
	p.load(argLow(0))
	p.jump(unix.BPF_JEQ, unix.AF_VSOCK, "eperm", "")
	p.jump(unix.BPF_JEQ, unix.AF_NETLINK, "", "allow")
	p.load(argLow(2))
	p.jump(unix.BPF_JEQ, unix.NETLINK_ROUTE, "allow", "eperm")

	// personality(persona): the query and the safe bits only.
	p.label("personality")
	p.load(argLow(0))
	p.jump(unix.BPF_JEQ, personalityQuery, "allow", "")
	p.jump(unix.BPF_JSET, ^uint32(personalitySafe), "eperm", "allow")

	// Mode-setting calls: no set-user-ID or set-group-ID bit (mode_t is 32
	// bits; the kernel ignores the high word). For the open family the mode
	// only counts when the flags create a file.
	for i, c := range modeCalls {
		p.label(fmt.Sprintf("mode%d", i))
		if c.flags >= 0 {
			p.load(argLow(uint32(c.flags)))
			p.jump(unix.BPF_JSET, createFlags, "", "allow")
		}
		p.load(argLow(uint32(c.mode)))
		p.jump(unix.BPF_JSET, setIDBits, "eperm", "allow")
	}

	p.label("allow")
	p.ret(retAllow)
	p.label("eperm")
	p.ret(retEPERM)
	p.label("enosys")
	p.ret(retNOSYS)
	p.label("kill")
	p.ret(retKill)
	return p.assemble()
}

// installSeccomp loads the filter on every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC); every child inherits it. The caller must have
// set no_new_privs. A failure is an error: the sandbox never runs without it.
func installSeccomp() error {
	filter, err := seccompFilter()
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	switch {
	case errno != 0:
		return fmt.Errorf("installing the seccomp filter: %w", errno)
	case r != 0:
		// With TSYNC a positive result is the thread that could not follow.
		return fmt.Errorf("installing the seccomp filter: thread %d could not be synchronized", r)
	}
	return nil
}
