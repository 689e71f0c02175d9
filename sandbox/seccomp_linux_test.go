package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runBPF interprets the classic BPF subset the filter uses against one
// struct seccomp_data, so the filter's decisions can be tested for inputs
// no process can produce on this machine (foreign architectures, x32).
func runBPF(t *testing.T, prog []unix.SockFilter, data []byte) uint32 {
	t.Helper()
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if int(in.K)+4 > len(data) {
				t.Fatalf("pc %d: load beyond seccomp_data (%d)", pc, in.K)
			}
			acc = uint32(data[in.K]) | uint32(data[in.K+1])<<8 | uint32(data[in.K+2])<<16 | uint32(data[in.K+3])<<24
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var holds bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				holds = acc == in.K
			case unix.BPF_JGE:
				holds = acc >= in.K
			default:
				holds = acc&in.K != 0
			}
			if holds {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("pc %d: unexpected instruction %#x", pc, in.Code)
		}
	}
	t.Fatal("the filter ran off its end")
	return 0
}

// atFDCWD is AT_FDCWD as a system call argument register holds it.
const atFDCWD = uint64(1<<64 + unix.AT_FDCWD)

// seccompData encodes struct seccomp_data (little-endian).
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	put32 := func(off int, v uint32) {
		for i := range 4 {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	put32(dataNr, nr)
	put32(dataArch, arch)
	for i, a := range args {
		put32(dataArgs+8*i, uint32(a))
		put32(dataArgs+8*i+4, uint32(a>>32))
	}
	return b
}

func TestSeccompFilterDecisions(t *testing.T) {
	prog, err := seccompFilter()
	if err != nil {
		t.Fatal(err)
	}
	arch, x32, err := auditArch(runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	const (
		readImpliesExec = 0x0400000
		mmapPageZero    = 0x0100000
		addrNoRandomize = 0x0040000
	)
	type filterCase struct {
		name string
		arch uint32
		nr   uint32
		args []uint64
		want uint32
	}
	tests := []filterCase{
		{"read", arch, unix.SYS_READ, nil, retAllow},
		{"execve", arch, unix.SYS_EXECVE, nil, retAllow},
		{"ptrace stays (PID namespace)", arch, unix.SYS_PTRACE, nil, retAllow},
		{"foreign arch read", unix.AUDIT_ARCH_I386, unix.SYS_READ, nil, retKill},
		{"foreign arch aarch64/x86_64", unix.AUDIT_ARCH_AARCH64 ^ unix.AUDIT_ARCH_X86_64 ^ arch, unix.SYS_READ, nil, retKill},
		{"TIOCSTI", arch, unix.SYS_IOCTL, []uint64{0, unix.TIOCSTI}, retEPERM},
		{"TIOCSTI bit 32", arch, unix.SYS_IOCTL, []uint64{0, 1<<32 | unix.TIOCSTI}, retEPERM},
		{"TIOCSTI high word all ones", arch, unix.SYS_IOCTL, []uint64{0, 0xffffffff<<32 | unix.TIOCSTI}, retEPERM},
		{"TIOCLINUX", arch, unix.SYS_IOCTL, []uint64{0, unix.TIOCLINUX}, retEPERM},
		{"TIOCLINUX high bits", arch, unix.SYS_IOCTL, []uint64{0, 0xdead<<32 | unix.TIOCLINUX}, retEPERM},
		{"TIOCGWINSZ", arch, unix.SYS_IOCTL, []uint64{0, unix.TIOCGWINSZ}, retAllow},
		{"TIOCSPGRP (job control)", arch, unix.SYS_IOCTL, []uint64{0, unix.TIOCSPGRP}, retAllow},
		{"TCSETS", arch, unix.SYS_IOCTL, []uint64{0, unix.TCSETS}, retAllow},
		{"clone thread", arch, unix.SYS_CLONE, []uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD}, retAllow},
		{"clone fork with SIGCHLD", arch, unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD)}, retAllow},
		{"clone NEWUSER", arch, unix.SYS_CLONE, []uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}, retEPERM},
		{"clone NEWNS", arch, unix.SYS_CLONE, []uint64{unix.CLONE_NEWNS}, retEPERM},
		{"clone NEWNET high word set", arch, unix.SYS_CLONE, []uint64{1<<40 | unix.CLONE_NEWNET}, retEPERM},
		{"clone3", arch, unix.SYS_CLONE3, nil, retNOSYS},
		{"unshare NEWUSER", arch, unix.SYS_UNSHARE, []uint64{unix.CLONE_NEWUSER}, retEPERM},
		{"unshare NEWTIME", arch, unix.SYS_UNSHARE, []uint64{unix.CLONE_NEWTIME}, retEPERM},
		{"unshare NEWCGROUP", arch, unix.SYS_UNSHARE, []uint64{unix.CLONE_NEWCGROUP}, retEPERM},
		{"unshare FILES", arch, unix.SYS_UNSHARE, []uint64{unix.CLONE_FILES}, retAllow},
		{"setns", arch, unix.SYS_SETNS, nil, retEPERM},
		{"mount", arch, unix.SYS_MOUNT, nil, retEPERM},
		{"umount2", arch, unix.SYS_UMOUNT2, nil, retEPERM},
		{"pivot_root", arch, unix.SYS_PIVOT_ROOT, nil, retEPERM},
		{"open_tree", arch, unix.SYS_OPEN_TREE, nil, retEPERM},
		{"fsopen", arch, unix.SYS_FSOPEN, nil, retEPERM},
		{"mount_setattr", arch, unix.SYS_MOUNT_SETATTR, nil, retEPERM},
		{"keyctl", arch, unix.SYS_KEYCTL, nil, retEPERM},
		{"add_key", arch, unix.SYS_ADD_KEY, nil, retEPERM},
		{"bpf", arch, unix.SYS_BPF, nil, retEPERM},
		{"perf_event_open", arch, unix.SYS_PERF_EVENT_OPEN, nil, retEPERM},
		{"userfaultfd", arch, unix.SYS_USERFAULTFD, nil, retEPERM},
		{"io_uring_setup", arch, unix.SYS_IO_URING_SETUP, nil, retEPERM},
		{"io_uring_enter", arch, unix.SYS_IO_URING_ENTER, nil, retEPERM},
		{"kexec_load", arch, unix.SYS_KEXEC_LOAD, nil, retEPERM},
		{"finit_module", arch, unix.SYS_FINIT_MODULE, nil, retEPERM},
		{"reboot", arch, unix.SYS_REBOOT, nil, retEPERM},
		{"clock_settime", arch, unix.SYS_CLOCK_SETTIME, nil, retEPERM},
		{"socket AF_INET", arch, unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, retAllow},
		{"socket AF_UNIX", arch, unix.SYS_SOCKET, []uint64{unix.AF_UNIX, unix.SOCK_STREAM, 0}, retAllow},
		{"socket AF_VSOCK", arch, unix.SYS_SOCKET, []uint64{unix.AF_VSOCK, unix.SOCK_STREAM, 0}, retEPERM},
		{"socket AF_VSOCK high bits", arch, unix.SYS_SOCKET, []uint64{1<<33 | unix.AF_VSOCK, unix.SOCK_STREAM, 0}, retEPERM},
		{"socket NETLINK_ROUTE", arch, unix.SYS_SOCKET, []uint64{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE}, retAllow},
		{"socket NETLINK_AUDIT", arch, unix.SYS_SOCKET, []uint64{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT}, retEPERM},
		{"socket NETLINK_NETFILTER", arch, unix.SYS_SOCKET, []uint64{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_NETFILTER}, retEPERM},
		{"personality query", arch, unix.SYS_PERSONALITY, []uint64{0xffffffff}, retAllow},
		{"personality PER_LINUX", arch, unix.SYS_PERSONALITY, []uint64{0}, retAllow},
		{"personality ADDR_NO_RANDOMIZE", arch, unix.SYS_PERSONALITY, []uint64{addrNoRandomize}, retAllow},
		{"personality READ_IMPLIES_EXEC", arch, unix.SYS_PERSONALITY, []uint64{readImpliesExec}, retEPERM},
		{"personality MMAP_PAGE_ZERO", arch, unix.SYS_PERSONALITY, []uint64{mmapPageZero}, retEPERM},
		{"fchmod 04755", arch, unix.SYS_FCHMOD, []uint64{3, 04755}, retEPERM},
		{"fchmod 0755", arch, unix.SYS_FCHMOD, []uint64{3, 0755}, retAllow},
		{"fchmod sticky 01777", arch, unix.SYS_FCHMOD, []uint64{3, 01777}, retAllow},
		{"fchmodat 02755", arch, unix.SYS_FCHMODAT, []uint64{atFDCWD, 0, 02755}, retEPERM},
		{"fchmodat 04000 high word", arch, unix.SYS_FCHMODAT, []uint64{atFDCWD, 0, 1<<32 | 04000}, retEPERM},
		{"fchmodat 0644", arch, unix.SYS_FCHMODAT, []uint64{atFDCWD, 0, 0644}, retAllow},
		{"fchmodat2 04755", arch, unix.SYS_FCHMODAT2, []uint64{atFDCWD, 0, 04755, 0}, retEPERM},
		{"openat O_CREAT 04755", arch, unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_CREAT | unix.O_WRONLY, 04755}, retEPERM},
		{"openat O_CREAT 0644", arch, unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_CREAT | unix.O_WRONLY, 0644}, retAllow},
		{"openat O_TMPFILE 06755", arch, unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_TMPFILE | unix.O_RDWR, 06755}, retEPERM},
		{"openat read, stray mode bits", arch, unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_RDONLY, 06000}, retAllow},
		{"openat O_DIRECTORY, stray mode bits", arch, unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_DIRECTORY, 06000}, retAllow},
		{"mknodat regular 04755", arch, unix.SYS_MKNODAT, []uint64{atFDCWD, 0, unix.S_IFREG | 04755, 0}, retEPERM},
		{"mknodat fifo 0644", arch, unix.SYS_MKNODAT, []uint64{atFDCWD, 0, unix.S_IFIFO | 0644, 0}, retAllow},
		{"openat2", arch, unix.SYS_OPENAT2, nil, retNOSYS},
	}
	for _, c := range archModeCalls {
		args := make([]uint64, c.mode+1)
		if c.flags >= 0 {
			args[c.flags] = unix.O_CREAT | unix.O_WRONLY
		}
		setuid, plain := slices.Clone(args), slices.Clone(args)
		setuid[c.mode], plain[c.mode] = 04755, 0755
		tests = append(tests,
			filterCase{fmt.Sprintf("arch call %d 04755", c.nr), arch, c.nr, setuid, retEPERM},
			filterCase{fmt.Sprintf("arch call %d 0755", c.nr), arch, c.nr, plain, retAllow})
	}
	if x32 {
		tests = append(tests,
			filterCase{"x32 ioctl", arch, x32Bit | 16, []uint64{0, unix.TIOCSTI}, retKill},
			filterCase{"x32 read", arch, x32Bit, nil, retKill})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runBPF(t, prog, seccompData(tt.arch, tt.nr, tt.args...)); got != tt.want {
				t.Errorf("filter returned %#x, want %#x", got, tt.want)
			}
		})
	}
}

func TestSeccompFilterEveryDeniedCall(t *testing.T) {
	prog, err := seccompFilter()
	if err != nil {
		t.Fatal(err)
	}
	arch, _, _ := auditArch(runtime.GOARCH)
	for _, nr := range deniedSyscalls {
		if got := runBPF(t, prog, seccompData(arch, nr)); got != retEPERM {
			t.Errorf("syscall %d: filter returned %#x, want EPERM", nr, got)
		}
	}
}

func TestAuditArchUnsupported(t *testing.T) {
	for _, goarch := range []string{"386", "arm", "riscv64", ""} {
		if _, _, err := auditArch(goarch); err == nil {
			t.Errorf("auditArch(%q): want an error (no filter for it), got none", goarch)
		}
	}
}

func TestBPFAssemblerRejectsBadJumps(t *testing.T) {
	p := newProgram()
	p.load(dataNr)
	p.jump(unix.BPF_JEQ, 1, "nowhere", "")
	p.ret(retAllow)
	if _, err := p.assemble(); err == nil {
		t.Error("a jump to an undefined label assembled")
	}
	p = newProgram()
	p.label("back")
	p.load(dataNr)
	p.jump(unix.BPF_JEQ, 1, "back", "")
	p.ret(retAllow)
	if _, err := p.assemble(); err == nil {
		t.Error("a backward jump assembled")
	}
	p = newProgram()
	p.load(dataNr)
	p.jump(unix.BPF_JEQ, 1, "far", "")
	for range 300 {
		p.ret(retAllow)
	}
	p.label("far")
	p.ret(retEPERM)
	if _, err := p.assemble(); err == nil {
		t.Error("a jump of more than 255 instructions assembled")
	}
}

// seccompProbeEnv selects TestSeccompProbe in a re-executed test binary:
// "filter" installs the filter first, "none" does not (the control),
// "sandbox" runs inside Launch, which installed it.
const seccompProbeEnv = "PENT_SECCOMP_PROBE"

// seccompProbes are the calls the probe makes, each reporting its errno
// ("0" on success): name → call.
var seccompProbes = []struct {
	name string
	call func(tty int) error
}{
	{"tiocsti", func(tty int) error { return ioctlByte(tty, unix.TIOCSTI) }},
	{"tiocsti-bit32", func(tty int) error { return ioctlByte(tty, 1<<32|unix.TIOCSTI) }},
	{"tiocsti-high", func(tty int) error { return ioctlByte(tty, 0xffffffff<<32|unix.TIOCSTI) }},
	{"tioclinux", func(tty int) error { return ioctlByte(tty, unix.TIOCLINUX) }},
	{"tiocgwinsz", func(tty int) error { _, err := unix.IoctlGetWinsize(tty, unix.TIOCGWINSZ); return err }},
	{"unshare-user", func(int) error { return unix.Unshare(unix.CLONE_NEWUSER) }},
	{"unshare-ns", func(int) error { return unix.Unshare(unix.CLONE_NEWNS) }},
	{"unshare-none", func(int) error { return unix.Unshare(0) }},
	{"clone3", func(int) error { return rawErr(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)) }},
	{"fork-newuser", func(int) error { return startTrue(unix.CLONE_NEWUSER) }},
	{"fork", func(int) error { return startTrue(0) }},
	{"setns", func(int) error { return unix.Setns(-1, 0) }},
	{"mount", func(int) error { return unix.Mount("none", "/nonexistent-pent", "tmpfs", 0, "") }},
	{"umount2", func(int) error { return unix.Unmount("/nonexistent-pent", 0) }},
	{"fsopen", func(int) error { _, err := unix.Fsopen("tmpfs", 0); return err }},
	{"keyctl", func(int) error {
		_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
		return err
	}},
	{"bpf", func(int) error { return rawErr(unix.Syscall(unix.SYS_BPF, 0, 0, 0)) }},
	{"perf", func(int) error {
		attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_TASK_CLOCK,
			Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv}
		fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
		closeIfOpen(fd, err)
		return err
	}},
	{"io_uring", func(int) error {
		params := make([]byte, 120)
		fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		return closeRaw(fd, errno)
	}},
	{"userfaultfd", func(int) error {
		const uffdUserModeOnly = 1
		fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|uffdUserModeOnly, 0, 0)
		return closeRaw(fd, errno)
	}},
	{"vsock", func(int) error { return socketProbe(unix.AF_VSOCK, unix.SOCK_STREAM, 0) }},
	{"netlink-route", func(int) error { return socketProbe(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE) }},
	{"netlink-audit", func(int) error { return socketProbe(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT) }},
	{"inet", func(int) error { return socketProbe(unix.AF_INET, unix.SOCK_STREAM, 0) }},
	{"personality-rie", func(int) error {
		const readImpliesExec = 0x0400000
		old, _, _ := unix.Syscall(unix.SYS_PERSONALITY, personalityQuery, 0, 0)
		_, _, errno := unix.Syscall(unix.SYS_PERSONALITY, readImpliesExec, 0, 0)
		unix.Syscall(unix.SYS_PERSONALITY, old, 0, 0)
		return rawErr(0, 0, errno)
	}},
	{"chmod-setuid", func(int) error { return withFile(func(f string) error { return unix.Chmod(f, 04755) }) }},
	{"chmod-setgid", func(int) error { return withFile(func(f string) error { return unix.Chmod(f, 02755) }) }},
	{"chmod-plain", func(int) error { return withFile(func(f string) error { return unix.Chmod(f, 0755) }) }},
	{"fchmodat2-setuid", func(int) error {
		return withFile(func(f string) error {
			p, err := unix.BytePtrFromString(f)
			if err != nil {
				return err
			}
			return rawErr(unix.Syscall6(unix.SYS_FCHMODAT2, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), 04755, 0, 0, 0))
		})
	}},
	{"create-setuid", func(int) error {
		return withDir(func(d string) error {
			fd, err := unix.Open(d+"/new", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 04755)
			closeIfOpen(fd, err)
			return err
		})
	}},
	{"create-plain", func(int) error {
		return withDir(func(d string) error {
			fd, err := unix.Open(d+"/new", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0755)
			closeIfOpen(fd, err)
			return err
		})
	}},
	{"tmpfile-setuid", func(int) error {
		return withDir(func(d string) error {
			fd, err := unix.Open(d, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 04755)
			closeIfOpen(fd, err)
			return err
		})
	}},
	{"mknod-setuid", func(int) error {
		return withDir(func(d string) error { return unix.Mknod(d+"/node", unix.S_IFREG|04755, 0) })
	}},
	{"openat2", func(int) error {
		return withDir(func(d string) error {
			fd, err := unix.Openat2(unix.AT_FDCWD, d, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC})
			closeIfOpen(fd, err)
			return err
		})
	}},
	{"personality-query", func(int) error {
		_, _, errno := unix.Syscall(unix.SYS_PERSONALITY, personalityQuery, 0, 0)
		return rawErr(0, 0, errno)
	}},
}

// withDir runs f on a new temporary directory and removes it after.
func withDir(f func(dir string) error) error {
	dir, err := os.MkdirTemp("", "pent-seccomp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return f(dir)
}

// withFile runs f on a new empty file and removes it after.
func withFile(f func(file string) error) error {
	return withDir(func(dir string) error {
		file := dir + "/file"
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			return err
		}
		return f(file)
	})
}

func ioctlByte(fd int, req uint64) error {
	b := byte('#')
	return rawErr(unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&b))))
}

func rawErr(_, _ uintptr, errno unix.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}

func closeRaw(fd uintptr, errno unix.Errno) error {
	if errno != 0 {
		return errno
	}
	unix.Close(int(fd))
	return nil
}

func closeIfOpen(fd int, err error) {
	if err == nil {
		unix.Close(fd)
	}
}

func socketProbe(domain, typ, proto int) error {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	closeIfOpen(fd, err)
	return err
}

// startTrue starts /bin/true with clone flags (Go forks with clone, not
// clone3, for these) and waits for it.
func startTrue(flags uintptr) error {
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if flags&unix.CLONE_NEWUSER != 0 {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
	}
	return cmd.Run()
}

// TestSeccompProbe is the probe process of TestSeccompKernel and
// TestSandboxSeccomp, not a test of its own: it makes each call of
// seccompProbes and prints "name=errno" lines.
func TestSeccompProbe(t *testing.T) {
	mode := os.Getenv(seccompProbeEnv)
	if mode == "" {
		t.Skip("the probe process of TestSeccompKernel and TestSandboxSeccomp")
	}
	// A controlling terminal of our own, for the TIOCSTI calls; closing it
	// at the end hangs it up, which must not kill the probe.
	signal.Ignore(syscall.SIGHUP)
	if _, err := unix.Setsid(); err != nil {
		t.Fatalf("setsid: %v", err)
	}
	ptmx, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ptmx)
	if err := unix.IoctlSetPointerInt(ptmx, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(ptmx, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tty)
	if err := unix.IoctlSetInt(tty, unix.TIOCSCTTY, 0); err != nil {
		t.Fatalf("TIOCSCTTY: %v", err)
	}
	if mode == "filter" {
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := installSeccomp(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range seccompProbes {
		errno := "0"
		if err := p.call(tty); err != nil {
			errno = err.Error()
			var e unix.Errno
			if errors.As(err, &e) {
				errno = unix.ErrnoName(e)
			}
		}
		fmt.Printf("%s=%s\n", p.name, errno)
	}
}

// probeResults parses the probe's output.
func probeResults(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	for _, p := range seccompProbes {
		if _, ok := got[p.name]; !ok {
			t.Fatalf("probe %s did not report:\n%s", p.name, out)
		}
	}
	return got
}

// deniedByFilter are the probes the filter refuses, with the errno.
var deniedByFilter = map[string]string{
	"tiocsti": "EPERM", "tiocsti-bit32": "EPERM", "tiocsti-high": "EPERM", "tioclinux": "EPERM",
	"unshare-user": "EPERM", "unshare-ns": "EPERM", "clone3": "ENOSYS", "fork-newuser": "EPERM",
	"setns": "EPERM", "mount": "EPERM", "umount2": "EPERM", "fsopen": "EPERM", "keyctl": "EPERM",
	"bpf": "EPERM", "perf": "EPERM", "io_uring": "EPERM", "userfaultfd": "EPERM", "vsock": "EPERM",
	"netlink-audit": "EPERM", "personality-rie": "EPERM", "chmod-setuid": "EPERM", "chmod-setgid": "EPERM",
	"fchmodat2-setuid": "EPERM", "create-setuid": "EPERM", "tmpfile-setuid": "EPERM", "mknod-setuid": "EPERM",
	"openat2": "ENOSYS",
}

// allowedByFilter must keep working under the filter.
var allowedByFilter = []string{"tiocgwinsz", "unshare-none", "fork", "netlink-route", "inet", "personality-query",
	"chmod-plain", "create-plain"}

// checkFiltered fails unless every probe got the filter's answer.
func checkFiltered(t *testing.T, got map[string]string) {
	t.Helper()
	for name, want := range deniedByFilter {
		if got[name] != want {
			t.Errorf("%s under the filter: got %s, want %s", name, got[name], want)
		}
	}
	for _, name := range allowedByFilter {
		if got[name] != "0" {
			t.Errorf("%s under the filter: got %s, want success", name, got[name])
		}
	}
}

// runSeccompProbe re-executes the test binary as the probe in mode.
func runSeccompProbe(t *testing.T, mode string) map[string]string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestSeccompProbe$", "-test.count=1")
	cmd.Env = append(os.Environ(), seccompProbeEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe (%s): %v\n%s", mode, err, out)
	}
	return probeResults(t, string(out))
}

// TestSeccompKernel installs the filter in a child process and checks the
// kernel's answers, against a control child without the filter in which the
// calls the filter is there for get through.
func TestSeccompKernel(t *testing.T) {
	control := runSeccompProbe(t, "none")
	// The control shows the probes measure something: on this kernel these
	// work for an unprivileged process (or as root) when nothing filters.
	mustWork := []string{"tiocsti", "tiocsti-bit32", "tiocsti-high", "clone3", "fork-newuser", "keyctl",
		"perf", "io_uring", "personality-rie", "unshare-none", "fork", "chmod-setuid", "chmod-setgid",
		"fchmodat2-setuid", "create-setuid", "tmpfile-setuid", "mknod-setuid", "openat2"}
	if b, err := os.ReadFile("/proc/sys/dev/tty/legacy_tiocsti"); err != nil || strings.TrimSpace(string(b)) != "1" {
		mustWork = slices.DeleteFunc(mustWork, func(s string) bool { return strings.HasPrefix(s, "tiocsti") })
	}
	for _, name := range mustWork {
		if control[name] != "0" && control[name] != "EFAULT" && control[name] != "EINVAL" {
			t.Errorf("control: %s without the filter got %s; the probe measures nothing here", name, control[name])
		}
	}
	checkFiltered(t, runSeccompProbe(t, "filter"))
}

// TestSandboxSeccomp runs the probe inside a sandbox built by Launch.
func TestSandboxSeccomp(t *testing.T) {
	f := newFixture(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := f.policy
	p.Env = append(slices.Clone(p.Env), seccompProbeEnv+"=sandbox")
	st, out, err := launchCapture(p, exe, "-test.run=^TestSeccompProbe$", "-test.count=1")
	if err != nil || st.Code != 0 {
		t.Fatalf("probe in the sandbox: %+v %v\n%s", st, err, out)
	}
	checkFiltered(t, probeResults(t, out))
}
