package main

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dieBy ends pent by sig as if pent had no handler for it: the kernel's
// default action (termination, with a core dump where sig asks for one),
// which is what a shell reports for the sandboxed command. os/signal cannot
// do this for the signals Go itself handles as crashes (SIGSEGV, SIGSYS,
// SIGBUS, SIGABRT, SIGQUIT…): Go would print its own traceback and exit 2.
// It returns only if sig does not kill (it is ignored by default).
func dieBy(sig syscall.Signal) {
	runtime.LockOSThread()
	// A zeroed struct sigaction is SIG_DFL, no flags, nothing masked, on
	// every architecture (amd64 and arm64 lay it out alike anyway). SIGKILL
	// and SIGSTOP refuse it and need it not.
	var dfl [4]uint64
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	var set unix.Sigset_t
	set.Val[(sig-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	_ = unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}
