package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The trace observer (pent run --trace) reports every file access the policy
// denies, without root and without weakening anything.
//
// Mechanism: when tracing, the init stage installs a second seccomp filter,
// on the thread that forks the command and before it does, that returns
// SECCOMP_RET_USER_NOTIF for the file system calls Landlock governs (open,
// creat, openat, openat2, execve, execveat, mkdir, mknod, symlink, unlink,
// rmdir, rename, link and their *at forms, truncate) and for the existence
// checks (stat, lstat, newfstatat, statx, access, faccessat, faccessat2,
// readlink, readlinkat; fstat's AT_EMPTY_PATH form is let through in the
// filter), and sends the filter's listener to pent over the control socket. pent, an ancestor outside the
// Landlock domain, serves it: for each call it reads the path arguments from
// the caller's memory, resolves them the way the caller sees them (through
// /proc/PID/root, /proc/PID/cwd and /proc/PID/fd/N of its mount namespace),
// works out the Landlock rights the call needs and compares them with the
// policy's rules — built by policyRules, the same function the stage
// enforces, resolved in the sandbox — and reports a would-be denial. Then it
// always answers SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel (Landlock and
// the read-only mounts) still decides. The observer never allows anything,
// so the time-of-check/time-of-use gap of user notification (the caller may
// change its memory after pent read it) can only make a report wrong, never
// open the sandbox.
//
// Why not ptrace with a check of the syscall's result: ptrace would see the
// real errno but costs two stops per call of every traced process, is
// refused to processes that ptrace each other (debuggers) and changes how
// signals and job control behave; user notification stops only the file
// calls, and only once. Landlock's own audit records need root.
//
// What it cannot see: accesses that need no system call of the list (mmap
// or read of a descriptor opened before, descriptors passed in from
// outside, io_uring, which seccomp denies anyway) and the files the kernel
// opens itself (the ELF interpreter, a script's interpreter). A path hidden
// by a mask (ENOENT in the sandbox) that exists on the host is reported as
// the denial it is (`cat ~/.aws/credentials` is a denied read); a path that
// exists nowhere is not. Writes refused by a read-only mount are reported
// only for protected paths.
//
// Existence checks, which Landlock does not restrict, are reported as
// probes (OpProbe) where the sandbox answers differently from the host: the
// name is hidden (git's access("~/.gitconfig") finds nothing and git goes
// on without the user's identity), or access() asks for a write or an
// execution the sandbox refuses. A check of a visible name is not: it gets
// the host's answer.

// callKind is what a traced system call does.
type callKind int

const (
	callOpen callKind = iota
	callCreat
	callOpenat2
	callExec
	callMkdir
	callMknod
	callSymlink
	callUnlink
	callRmdir
	callRename
	callLink
	callTruncate
	// The existence checks: stat and its *at and statx forms (flags are
	// AT_* flags), lstat, access and its *at forms (flags are the mode)
	// and readlink.
	callStat
	callLstat
	callAccess
	callReadlink
)

// callSpec says where a traced call keeps its arguments: indexes of the
// directory descriptor and path of its (first) name, of its second name
// (rename and link) and of its flags or mode; -1 means none (AT_FDCWD for
// a directory).
type callSpec struct {
	kind                   callKind
	dir, path, dir2, path2 int
	flags                  int
	// emptyPath is the index of the AT_* flags of a check whose
	// AT_EMPTY_PATH makes it a check of a descriptor, not of a name (glibc's
	// fstat is newfstatat(fd, "", AT_EMPTY_PATH)): the filter lets such a
	// call through without a notification. 0: none (no call takes its
	// flags first).
	emptyPath int
}

// commonCalls are the traced calls every architecture has.
var commonCalls = map[uint32]callSpec{
	unix.SYS_OPENAT:    {kind: callOpen, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2},
	unix.SYS_OPENAT2:   {kind: callOpenat2, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2},
	unix.SYS_EXECVE:    {kind: callExec, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_EXECVEAT:  {kind: callExec, dir: 0, path: 1, dir2: -1, path2: -1, flags: 4},
	unix.SYS_MKDIRAT:   {kind: callMkdir, dir: 0, path: 1, dir2: -1, path2: -1, flags: -1},
	unix.SYS_MKNODAT:   {kind: callMknod, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2},
	unix.SYS_SYMLINKAT: {kind: callSymlink, dir: 1, path: 2, dir2: -1, path2: -1, flags: -1},
	unix.SYS_UNLINKAT:  {kind: callUnlink, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2},
	unix.SYS_RENAMEAT:  {kind: callRename, dir: 0, path: 1, dir2: 2, path2: 3, flags: -1},
	unix.SYS_RENAMEAT2: {kind: callRename, dir: 0, path: 1, dir2: 2, path2: 3, flags: 4},
	unix.SYS_LINKAT:    {kind: callLink, dir: 0, path: 1, dir2: 2, path2: 3, flags: 4},
	unix.SYS_TRUNCATE:  {kind: callTruncate, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},

	unix.SYS_NEWFSTATAT: {kind: callStat, dir: 0, path: 1, dir2: -1, path2: -1, flags: 3, emptyPath: 3},
	unix.SYS_STATX:      {kind: callStat, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2, emptyPath: 2},
	unix.SYS_FACCESSAT:  {kind: callAccess, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2},
	unix.SYS_FACCESSAT2: {kind: callAccess, dir: 0, path: 1, dir2: -1, path2: -1, flags: 2, emptyPath: 3},
	unix.SYS_READLINKAT: {kind: callReadlink, dir: 0, path: 1, dir2: -1, path2: -1, flags: -1},
}

// tracedCall returns the spec of a traced system call number.
func tracedCall(nr uint32) (callSpec, bool) {
	if s, ok := commonCalls[nr]; ok {
		return s, true
	}
	s, ok := archCalls[nr]
	return s, ok
}

// observerFilter is the notifying filter: the traced calls of this build's
// architecture go to the listener, everything else is allowed (the main
// filter, installed first, already kills foreign-architecture calls).
func observerFilter() ([]unix.SockFilter, error) {
	arch, x32, err := auditArch(runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	p := newProgram()
	p.load(dataArch)
	p.jump(unix.BPF_JEQ, arch, "", "allow")
	p.load(dataNr)
	if x32 {
		p.jump(unix.BPF_JSET, x32Bit, "allow", "")
	}
	var descriptorChecks []callSpec
	for _, calls := range []map[uint32]callSpec{commonCalls, archCalls} {
		for nr, spec := range calls {
			target := "notify"
			if spec.emptyPath > 0 {
				target = fmt.Sprintf("empty%d", len(descriptorChecks))
				descriptorChecks = append(descriptorChecks, spec)
			}
			p.jump(unix.BPF_JEQ, nr, target, "")
		}
	}
	p.ret(retAllow)
	// A check with AT_EMPTY_PATH is about a descriptor (fstat): no name,
	// nothing hidden, and far too frequent to stop.
	for i, spec := range descriptorChecks {
		p.label(fmt.Sprintf("empty%d", i))
		p.load(argLow(uint32(spec.emptyPath)))
		p.jump(unix.BPF_JSET, unix.AT_EMPTY_PATH, "allow", "notify")
	}
	p.label("allow")
	p.ret(retAllow)
	p.label("notify")
	p.ret(unix.SECCOMP_RET_USER_NOTIF)
	return p.assemble()
}

// installObserver loads the notifying filter on the calling thread only
// (the thread that forks the command; a listener cannot be combined with
// TSYNC) and returns its listener. no_new_privs must be set.
func installObserver() (int, error) {
	filter, err := observerFilter()
	if err != nil {
		return -1, err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER,
		uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return -1, fmt.Errorf("installing the trace observer's seccomp filter: %w", errno)
	}
	return int(fd), nil
}

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

// seccompNotifResp is struct seccomp_notif_resp.
type seccompNotifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// observer serves a listener for LaunchOptions.Observe.
type observer struct {
	listener int
	stopR    *os.File // readable once stop is called
	stopW    *os.File
	done     chan struct{}

	policy  Policy
	shadows []shadowDir
	abi     int
	skip    int // the stage, whose own calls are not the command's
	report  func(FileDenial)

	root  int            // O_PATH descriptor of the sandbox's root; -1 until the first call
	rules []resolvedRule // policyRules resolved in the sandbox, rights trimmed as the stage trims them
}

// resolvedRule is a Landlock rule as the stage enforces it: on the file its
// path leads to in the sandbox.
type resolvedRule struct {
	pathRule
	// scratch marks a private directory (/tmp) or an overlay: its rule
	// lets the command use the sandbox's own content there, not see the
	// host's files it hides.
	scratch bool
}

// shadowDirsOf are the directories a run shows through an overlay, whose
// Landlock rules the stage adds (shadowRules); none without staging.
func shadowDirsOf(stg *staging) []shadowDir {
	if stg == nil {
		return nil
	}
	dirs := make([]shadowDir, len(stg.shadow))
	for i, s := range stg.shadow {
		dirs[i] = s.shadowDir
	}
	return dirs
}

// startObserver serves listener (and owns it) until stop. p and shadows
// give the rules the stage enforced.
func startObserver(listener int, p Policy, shadows []shadowDir, stagePID int, report func(FileDenial)) (*observer, error) {
	r, w, err := os.Pipe()
	if err != nil {
		unix.Close(listener)
		return nil, fmt.Errorf("trace observer: %w", err)
	}
	o := &observer{listener: listener, stopR: r, stopW: w, done: make(chan struct{}),
		policy: p.withoutCovered(), shadows: shadows, abi: LandlockABI(), skip: stagePID, report: report, root: -1}
	// Wake the command at once when a notification is answered (6.6+);
	// only a matter of speed.
	_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	go o.serve()
	return o, nil
}

// stop ends serving and waits until the last report was made.
func (o *observer) stop() {
	o.stopW.Close()
	<-o.done
	o.stopR.Close()
	unix.Close(o.listener)
	if o.root >= 0 {
		unix.Close(o.root)
	}
}

// serve answers notifications until the listener has no more processes or
// stop is called.
func (o *observer) serve() {
	defer close(o.done)
	fds := []unix.PollFd{{Fd: int32(o.listener), Events: unix.POLLIN}, {Fd: int32(o.stopR.Fd()), Events: unix.POLLIN}}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if fds[1].Revents != 0 || fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			o.serveOne()
		}
	}
}

// serveOne receives one notification, evaluates it and lets the call go on.
func (o *observer) serveOne() {
	var n seccompNotif
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(o.listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); errno != 0 {
		return // the caller died (ENOENT) or a signal interrupted: nothing to answer
	}
	denials := o.evaluate(&n)
	if len(denials) > 0 {
		// Before the answer: a failed exec's process is gone right after.
		pid, command := processName(int(n.pid))
		for i := range denials {
			denials[i].PID, denials[i].Command = pid, command
		}
	}
	resp := seccompNotifResp{id: n.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(o.listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	for _, d := range denials {
		o.report(d)
	}
}

// name is one path argument of a call.
type name struct {
	dirfd int // unix.AT_FDCWD when the call has no directory argument
	path  string
}

// evaluate turns one notification into the denials it would cause.
func (o *observer) evaluate(n *seccompNotif) []FileDenial {
	spec, ok := tracedCall(uint32(n.nr))
	pid := int(n.pid)
	if !ok || pid == o.skip {
		return nil
	}
	first, ok := o.readName(pid, n, spec.dir, spec.path)
	if !ok {
		return nil
	}
	var second name
	if spec.path2 >= 0 {
		if second, ok = o.readName(pid, n, spec.dir2, spec.path2); !ok {
			return nil
		}
	}
	var flags uint64
	switch {
	case spec.kind == callCreat:
		flags = unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	case spec.kind == callOpenat2:
		var b [8]byte
		if !readMem(pid, uintptr(n.args[spec.flags]), b[:]) {
			return nil
		}
		flags = *(*uint64)(unsafe.Pointer(&b[0]))
	case spec.flags >= 0:
		flags = n.args[spec.flags]
	}
	// The memory read must have been the caller's, not a recycled PID's.
	id := n.id
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(o.listener), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id))); errno != 0 {
		return nil
	}
	if o.root < 0 && !o.open(pid) {
		return nil
	}
	var out []FileDenial
	for _, c := range o.checks(pid, spec.kind, flags, first, second) {
		if d, denied := o.judge(c); denied {
			out = append(out, d)
		}
	}
	return out
}

// readName reads one path argument.
func (o *observer) readName(pid int, n *seccompNotif, dirArg, pathArg int) (name, bool) {
	nm := name{dirfd: unix.AT_FDCWD}
	if dirArg >= 0 {
		nm.dirfd = int(int32(n.args[dirArg]))
	}
	path, ok := readCString(pid, uintptr(n.args[pathArg]))
	nm.path = path
	return nm, ok
}

// open opens the sandbox's root through a process in it and resolves the
// policy's rules there, as the stage opened them.
func (o *observer) open(pid int) bool {
	root, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	o.root = root
	handled := handledFS(o.abi)
	// The rules the stage built: startCommand's list. The private
	// directories', the hidden directories' (listing their skeleton) and
	// the overlays' rules are scratch: they grant their own content, not
	// the host files they hide.
	own := policyRules(o.policy)
	var skeletons []string
	for _, m := range masks(o.policy) {
		if m.kind == maskHidden {
			skeletons = append(skeletons, m.path)
		}
	}
	for i, r := range append(own, shadowRules(o.shadows)...) {
		scratch := i >= len(own) || slices.Contains(o.policy.PrivateTmp, r.path) || slices.Contains(skeletons, r.path)
		fd, err := o.openInRoot(r.path, true)
		if err != nil {
			continue // the stage skipped it too
		}
		path, mode, err := fdPath(fd)
		unix.Close(fd)
		if err != nil {
			continue
		}
		rights := r.rights & handled
		if mode != unix.S_IFDIR {
			rights &= fileRights
		}
		o.rules = append(o.rules, resolvedRule{pathRule{path, rights}, scratch})
	}
	return true
}

// granted is the union of the rights of every rule at or above path, as
// Landlock computes it. For a hidden path (one the host has and the
// sandbox does not show) the private directories' rules do not count: they
// grant their own fresh content, not the host's.
func (o *observer) granted(path string, hidden bool) uint64 {
	var rights uint64
	for _, r := range o.rules {
		if within(path, r.path) && !(hidden && r.scratch) {
			rights |= r.rights
		}
	}
	return rights
}

// located is a name as the sandboxed process sees it.
type located struct {
	path string // absolute; symlinks resolved as far as the path exists
	// exists: the path exists in the sandbox; hidden: it does not, but it
	// exists on the host (a mask hides it). mode is the file type of
	// whichever holds.
	exists, hidden bool
	mode           uint32
}

func (l located) present() bool { return l.exists || l.hidden }

// check is one set of rights a call needs.
type check struct {
	op     FileOp
	path   string // the file the call is about
	at     string // where Landlock looks for the rights: path, or its directory
	need   uint64
	hidden bool // path exists on the host only
	// special: path is a device, FIFO or socket, which a read-only mount
	// does not stop anyone from writing to.
	special bool
}

// checks are the rights a call needs, by file (see the Landlock
// documentation of each access right).
func (o *observer) checks(pid int, kind callKind, flags uint64, first, second name) []check {
	switch kind {
	case callOpen, callCreat, callOpenat2:
		return o.openChecks(pid, flags, first)
	case callExec:
		if first.path == "" && flags&unix.AT_EMPTY_PATH == 0 {
			return nil
		}
		l, ok := o.locate(pid, first, true)
		if !ok || !l.present() || l.mode != unix.S_IFREG {
			return nil
		}
		return []check{{OpExec, l.path, l.path, unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_EXECUTE, l.hidden, false}}
	case callMkdir:
		return o.createChecks(pid, first, unix.LANDLOCK_ACCESS_FS_MAKE_DIR)
	case callMknod:
		return o.createChecks(pid, first, makeRight(uint32(flags)))
	case callSymlink:
		return o.createChecks(pid, first, unix.LANDLOCK_ACCESS_FS_MAKE_SYM)
	case callUnlink, callRmdir:
		l, ok := o.locate(pid, first, false)
		if !ok || !l.present() {
			return nil
		}
		need := uint64(unix.LANDLOCK_ACCESS_FS_REMOVE_FILE)
		if kind == callRmdir || flags&unix.AT_REMOVEDIR != 0 {
			need = unix.LANDLOCK_ACCESS_FS_REMOVE_DIR
		}
		return []check{{OpDelete, l.path, filepath.Dir(l.path), need, l.hidden, false}}
	case callRename, callLink:
		return o.moveChecks(pid, kind, flags, first, second)
	case callTruncate:
		l, ok := o.locate(pid, first, true)
		if !ok || !l.present() || l.mode != unix.S_IFREG {
			return nil
		}
		return []check{{OpWrite, l.path, l.path, unix.LANDLOCK_ACCESS_FS_TRUNCATE, l.hidden, false}}
	case callStat:
		return o.probeChecks(pid, first, flags&unix.AT_SYMLINK_NOFOLLOW == 0, 0)
	case callLstat, callReadlink:
		return o.probeChecks(pid, first, false, 0)
	case callAccess:
		return o.probeChecks(pid, first, true, uint32(flags))
	}
	return nil
}

// probeChecks are the rights an existence check of nm asks about: reading
// it, and for access() the write (W_OK) or execution (X_OK) its mode names.
// Landlock restricts none of these calls, so a check is reported only where
// the sandbox answers differently from the host: the name is hidden (it
// exists on the host only), or access asks about a write or an execution
// the sandbox refuses. follow says whether a final symlink is followed.
func (o *observer) probeChecks(pid int, nm name, follow bool, accessMode uint32) []check {
	if nm.path == "" {
		return nil // ENOENT, or a descriptor's AT_EMPTY_PATH form
	}
	l, ok := o.locate(pid, nm, follow)
	if !ok || !l.present() {
		return nil
	}
	need := uint64(unix.LANDLOCK_ACCESS_FS_READ_FILE)
	if l.mode == unix.S_IFDIR {
		need = unix.LANDLOCK_ACCESS_FS_READ_DIR
	}
	asks := false
	if accessMode&unix.W_OK != 0 {
		need, asks = need|unix.LANDLOCK_ACCESS_FS_WRITE_FILE, true
	}
	if accessMode&unix.X_OK != 0 && l.mode == unix.S_IFREG {
		need, asks = need|unix.LANDLOCK_ACCESS_FS_EXECUTE, true
	}
	if !l.hidden && !asks {
		return nil // the host's answer
	}
	special := l.mode != unix.S_IFREG && l.mode != unix.S_IFDIR
	return []check{{OpProbe, l.path, l.path, need, l.hidden, special}}
}

// openChecks are the rights of open, openat, openat2 and creat.
func (o *observer) openChecks(pid int, flags uint64, nm name) []check {
	if flags&unix.O_PATH != 0 {
		return o.probeChecks(pid, nm, flags&unix.O_NOFOLLOW == 0, 0)
	}
	l, ok := o.locate(pid, nm, flags&unix.O_NOFOLLOW == 0)
	if !ok {
		return nil
	}
	var need uint64
	op := OpRead
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		need = unix.LANDLOCK_ACCESS_FS_READ_FILE
	case unix.O_WRONLY:
		need, op = unix.LANDLOCK_ACCESS_FS_WRITE_FILE, OpWrite
	default:
		need, op = unix.LANDLOCK_ACCESS_FS_READ_FILE|unix.LANDLOCK_ACCESS_FS_WRITE_FILE, OpWrite
	}
	create := flags&unix.O_CREAT != 0
	switch {
	case l.exists && create && flags&unix.O_EXCL != 0:
		return nil // EEXIST before any check
	case l.present() && l.mode == unix.S_IFDIR:
		if op != OpRead {
			return nil // EISDIR
		}
		return []check{{OpRead, l.path, l.path, unix.LANDLOCK_ACCESS_FS_READ_DIR, l.hidden, false}}
	case l.present() && l.mode == unix.S_IFLNK:
		return nil // O_NOFOLLOW on a symlink: ELOOP
	case l.present():
		if flags&unix.O_TRUNC != 0 && l.mode == unix.S_IFREG {
			need |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
			op = OpWrite
		}
		special := l.mode != unix.S_IFREG
		return []check{{op, l.path, l.path, need, l.hidden, special}}
	case create:
		return []check{{OpCreate, l.path, filepath.Dir(l.path), need | unix.LANDLOCK_ACCESS_FS_MAKE_REG, false, false}}
	}
	return nil // absent everywhere: ENOENT, not a denial
}

// createChecks are the rights of a call that makes a new name. A name that
// is hidden (it exists on the host) needs a rule for itself; a new one needs
// the right on its directory.
func (o *observer) createChecks(pid int, nm name, need uint64) []check {
	l, ok := o.locate(pid, nm, false)
	switch {
	case !ok || l.exists:
		return nil // EEXIST
	case l.hidden:
		return []check{{OpCreate, l.path, l.path, need, true, false}}
	}
	return []check{{OpCreate, l.path, filepath.Dir(l.path), need, false, false}}
}

// moveChecks are the rights of rename and link: removing the old name
// (rename), making the new one, and REFER on both directories when they
// differ.
func (o *observer) moveChecks(pid int, kind callKind, flags uint64, from, to name) []check {
	follow := kind == callLink && flags&unix.AT_SYMLINK_FOLLOW != 0
	old, ok := o.locate(pid, from, follow)
	if !ok || !old.present() {
		return nil
	}
	dst, ok := o.locate(pid, to, false)
	if !ok {
		return nil
	}
	oldDir, newDir := filepath.Dir(old.path), filepath.Dir(dst.path)
	var refer uint64
	if oldDir != newDir {
		refer = unix.LANDLOCK_ACCESS_FS_REFER
	}
	create := check{OpCreate, dst.path, newDir, makeRight(old.mode) | refer, false, false}
	if kind == callLink {
		return []check{create}
	}
	if dst.present() {
		create.need |= removeRight(dst.mode)
	}
	remove := check{OpDelete, old.path, oldDir, removeRight(old.mode) | refer, old.hidden, false}
	if flags&unix.RENAME_EXCHANGE != 0 && dst.present() {
		remove.need |= makeRight(dst.mode)
	}
	return []check{remove, create}
}

// makeRight is the MAKE_* right for a file type (mknod's mode: 0 is a
// regular file).
func makeRight(mode uint32) uint64 {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.LANDLOCK_ACCESS_FS_MAKE_DIR
	case unix.S_IFLNK:
		return unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	case unix.S_IFCHR:
		return unix.LANDLOCK_ACCESS_FS_MAKE_CHAR
	case unix.S_IFBLK:
		return unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK
	case unix.S_IFIFO:
		return unix.LANDLOCK_ACCESS_FS_MAKE_FIFO
	case unix.S_IFSOCK:
		return unix.LANDLOCK_ACCESS_FS_MAKE_SOCK
	}
	return unix.LANDLOCK_ACCESS_FS_MAKE_REG
}

// removeRight is the REMOVE_* right for a file type.
func removeRight(mode uint32) uint64 {
	if mode == unix.S_IFDIR {
		return unix.LANDLOCK_ACCESS_FS_REMOVE_DIR
	}
	return unix.LANDLOCK_ACCESS_FS_REMOVE_FILE
}

// readRights are the rights that reading or executing needs; every other
// right needs a read_write rule.
const readRights = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_EXECUTE

// judge reports whether c is denied and, if so, what would allow it.
func (o *observer) judge(c check) (FileDenial, bool) {
	d := FileDenial{Time: time.Now(), Op: c.op, Path: c.path, Rule: c.at}
	// A protected path that exists is a read-only mount. One that does not
	// may be created: that succeeds, and the guard moves it to the
	// quarantine and says so — it is no denial.
	if c.need&^readRights != 0 && underAny(c.path, o.policy.Protected) && o.readOnlyMount(c.at) {
		d.Grant, d.Rule = GrantNone, c.path
		return d, true
	}
	missing := c.need & handledFS(o.abi) &^ o.granted(c.at, c.hidden)
	if c.need&^readRights != 0 && !c.special && o.readOnlyMount(c.at) {
		missing |= c.need &^ readRights
	}
	switch {
	case missing == 0:
		return d, false
	case missing&^readRights != 0:
		d.Grant = GrantWrite
	case missing&unix.LANDLOCK_ACCESS_FS_EXECUTE != 0:
		d.Grant = GrantExecute
	default:
		d.Grant = GrantRead
	}
	return d, true
}

// readOnlyMount reports whether path, or its deepest existing ancestor, is
// on a read-only mount of the sandbox: everything outside the writable
// paths is, whatever Landlock's rules inherited from above a mount say.
func (o *observer) readOnlyMount(path string) bool {
	for {
		fd, err := o.openInRoot(path, true)
		if err == nil {
			var st unix.Statfs_t
			err = unix.Fstatfs(fd, &st)
			unix.Close(fd)
			return err == nil && st.Flags&unix.ST_RDONLY != 0
		}
		if path == "/" {
			return false
		}
		path = filepath.Dir(path)
	}
}

// locate resolves nm as process pid sees it; follow says whether a final
// symlink is followed. ok is false when the name cannot be resolved (a
// descriptor that is not a path, a symlink loop): there is then nothing a
// path rule could allow.
func (o *observer) locate(pid int, nm name, follow bool) (located, bool) {
	abs := nm.path
	if !filepath.IsAbs(abs) {
		base, err := o.procLink(pid, nm.dirfd)
		if err != nil {
			return located{}, false
		}
		abs = strings.TrimSuffix(base+"/"+abs, "/")
	}
	abs, ok := o.magic(pid, abs)
	if !ok {
		return located{}, false
	}
	fd, err := o.openInRoot(abs, follow)
	if err == nil {
		defer unix.Close(fd)
		path, mode, err := fdPath(fd)
		return located{path: path, exists: true, mode: mode}, err == nil
	}
	if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
		return located{}, false
	}
	// The deepest existing directory, resolved, and the rest as written.
	dir, rest := filepath.Dir(filepath.Clean(abs)), filepath.Base(abs)
	for {
		fd, err := o.openInRoot(dir, true)
		if err == nil {
			path, _, err := fdPath(fd)
			unix.Close(fd)
			if err != nil {
				return located{}, false
			}
			l := located{path: filepath.Join(path, rest)}
			var st unix.Stat_t
			if unix.Lstat(l.path, &st) == nil {
				l.hidden, l.mode = true, st.Mode&unix.S_IFMT
			}
			return l, true
		}
		if dir == "/" {
			return located{}, false
		}
		dir, rest = filepath.Dir(dir), filepath.Base(dir)+"/"+rest
	}
}

// magicFD matches the names that lead to a process's own descriptors,
// which only the process itself can resolve: /dev/stdin and the like,
// /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N.
func magicFD(abs string) (fd int, rest string, ok bool) {
	for i, std := range []string{"/dev/stdin", "/dev/stdout", "/dev/stderr"} {
		if abs == std || strings.HasPrefix(abs, std+"/") {
			return i, strings.TrimPrefix(abs, std), true
		}
	}
	for _, prefix := range []string{"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"} {
		if after, found := strings.CutPrefix(abs, prefix); found {
			num, tail, _ := strings.Cut(after, "/")
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 {
				return 0, "", false
			}
			if tail != "" {
				tail = "/" + tail
			}
			return n, tail, true
		}
	}
	return 0, "", false
}

// magic replaces a name of the process's own descriptor by the path of the
// file it refers to; ok is false for a descriptor that is not a path (a
// pipe, a socket), which no path rule governs.
func (o *observer) magic(pid int, abs string) (string, bool) {
	fd, rest, ok := magicFD(abs)
	if !ok {
		return abs, true
	}
	target, err := o.procLink(pid, fd)
	if err != nil || !strings.HasPrefix(target, "/") {
		return "", false
	}
	return target + rest, true
}

// procLink reads /proc/PID/cwd (dirfd AT_FDCWD) or /proc/PID/fd/DIRFD: the
// path as the process's mount namespace names it.
func (o *observer) procLink(pid, dirfd int) (string, error) {
	link := "/proc/" + strconv.Itoa(pid) + "/cwd"
	if dirfd != unix.AT_FDCWD {
		link = "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(dirfd)
	}
	return os.Readlink(link)
}

// openInRoot opens abs with O_PATH inside the sandbox's root, resolving
// symlinks there.
func (o *observer) openInRoot(abs string, follow bool) (int, error) {
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	how := unix.OpenHow{Flags: flags, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(o.root, abs, &how)
		if !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			return fd, err
		}
	}
}

// fdPath is the path and file type of an O_PATH descriptor. The kernel
// names a file of another mount namespace by its path there.
func fdPath(fd int) (string, uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", 0, err
	}
	path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil || !strings.HasPrefix(path, "/") {
		return "", 0, fmt.Errorf("descriptor %d has no path (%q): %w", fd, path, err)
	}
	return path, st.Mode & unix.S_IFMT, nil
}

// readMem reads len(buf) bytes of process pid's memory at addr.
func readMem(pid int, addr uintptr, buf []byte) bool {
	if addr == 0 {
		return false
	}
	local := []unix.Iovec{{Base: &buf[0], Len: uint64(len(buf))}}
	remote := []unix.RemoteIovec{{Base: addr, Len: len(buf)}}
	n, err := unix.ProcessVMReadv(pid, local, remote, 0)
	return err == nil && n == len(buf)
}

// readCString reads a NUL-terminated path (at most PATH_MAX bytes) from
// process pid's memory, a page at a time: a string that ends just before
// an unmapped page must not fail.
func readCString(pid int, addr uintptr) (string, bool) {
	if addr == 0 {
		return "", false
	}
	var out []byte
	buf := make([]byte, 4096)
	for len(out) < unix.PathMax {
		chunk := 4096 - int(addr%4096)
		local := []unix.Iovec{{Base: &buf[0], Len: uint64(chunk)}}
		remote := []unix.RemoteIovec{{Base: addr, Len: chunk}}
		n, err := unix.ProcessVMReadv(pid, local, remote, 0)
		if err != nil || n == 0 {
			return "", false
		}
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), true
		}
		out = append(out, buf[:n]...)
		addr += uintptr(n)
	}
	return "", false
}

// processName is the PID of a host process in the sandbox's PID namespace
// (the last NSpid) and its command name; zero values when it is gone.
func processName(hostPID int) (int, string) {
	dir := "/proc/" + strconv.Itoa(hostPID)
	comm, _ := os.ReadFile(dir + "/comm")
	status, _ := os.ReadFile(dir + "/status")
	pid := 0
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				pid, _ = strconv.Atoi(f[len(f)-1])
			}
		}
	}
	return pid, strings.TrimSpace(string(comm))
}
