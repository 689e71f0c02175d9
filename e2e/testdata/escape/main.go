// Command escape is the attacker of the e2e escape suite: each subcommand
// tries one way out of the sandbox it runs in and prints a line starting
// with SUCCESS when that worked, or BLOCKED and the reason when it did not.
// `escape batch FILE` runs a JSON list of attempts, each in its own process,
// and prints one "ATTEMPT name verdict detail" line per attempt.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: escape ATTEMPT ARGS...")
		os.Exit(2)
	}
	attempts := map[string]func([]string) error{
		"batch": batch, "read": readFile, "symlink-read": symlinkRead, "hardlink-read": hardlinkRead,
		"handle-read": handleRead, "write": writeFile, "truncate": truncateFile, "unlink": unlink,
		"rename": rename, "rename-over": renameOver, "link": link, "tmpfile-linkat": tmpfileLinkat,
		"chmod": chmod, "chown": chown, "utime": utime, "mkdir": mkdir, "tiocsti": tiocsti, "tioclinux": tioclinux,
		"kill": kill, "ptrace": ptrace, "ptrace-init-threads": ptraceInitThreads, "init-thread-own-uid": initThreadOwnUID, "init-kill": initKill, "open-init-fd": openInitFD,
		"unshare-user": unshareUser, "umount": umount, "mount-tmpfs": mountTmpfs, "setns": setns,
		"tcp": dialTCP, "http-front": httpFront, "tls-sni": tlsSNI, "udp": udp, "ping": ping, "unix": dialUnix, "dns": dnsQuery,
		"keyctl": keyctl, "bpf": bpf, "perf": perf, "io-uring": ioURing, "vsock": vsock,
		"userfaultfd": userfaultfd, "netlink": netlink, "exchange": exchange, "setid": setID,
	}
	fn, ok := attempts[os.Args[1]]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown attempt", os.Args[1])
		os.Exit(2)
	}
	if err := fn(os.Args[2:]); err != nil {
		fmt.Println("BLOCKED", oneLine(err.Error()))
		return
	}
	fmt.Println("SUCCESS")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// attempt is one entry of a batch: argv of this program, or a shell script.
type attempt struct {
	Name string   `json:"name"`
	Args []string `json:"args,omitempty"`
	Sh   string   `json:"sh,omitempty"`
}

// batch runs each attempt of the JSON file in a child process.
func batch(args []string) error {
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var list []attempt
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, a := range list {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cmd := exec.CommandContext(ctx, self, a.Args...)
		if a.Sh != "" {
			cmd = exec.CommandContext(ctx, "/bin/sh", "-c", a.Sh)
		}
		out, err := cmd.CombinedOutput()
		cancel()
		verdict, detail := "NOREPORT", oneLine(fmt.Sprintf("%v: %s", err, out))
		for _, line := range strings.Split(string(out), "\n") {
			switch {
			case strings.HasPrefix(line, "SUCCESS"):
				verdict, detail = "SUCCESS", oneLine(line)
			case strings.HasPrefix(line, "BLOCKED") && verdict != "SUCCESS":
				verdict, detail = "BLOCKED", oneLine(strings.TrimPrefix(line, "BLOCKED"))
			}
		}
		fmt.Printf("ATTEMPT %s %s %s\n", a.Name, verdict, detail)
	}
	os.Exit(0)
	return nil
}

// readAll reads a whole file and fails on an empty one (a masked stand-in).
func readAll(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return fmt.Errorf("%s is empty", path)
	}
	return nil
}

func readFile(a []string) error { return readAll(a[0]) }

func symlinkRead(a []string) error {
	name := fmt.Sprintf("lnk-%d", os.Getpid())
	if err := os.Symlink(a[0], name); err != nil {
		return err
	}
	defer os.Remove(name)
	return readAll(name)
}

func hardlinkRead(a []string) error {
	name := fmt.Sprintf("hl-%d", os.Getpid())
	if err := os.Link(a[0], name); err != nil {
		return err
	}
	defer os.Remove(name)
	return readAll(name)
}

// handleRead opens the file whose handle (type:hex, from the host) is given
// relative to the mount of a[0], like a process that guessed the inode.
func handleRead(a []string) error {
	typ, raw, _ := strings.Cut(a[1], ":")
	t, err := strconv.Atoi(typ)
	if err != nil {
		return err
	}
	b, err := hex.DecodeString(raw)
	if err != nil {
		return err
	}
	mnt, err := unix.Open(a[0], unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	// Also prove the handle API itself is reachable: a handle for an
	// allowed path is fine to get.
	if _, _, err := unix.NameToHandleAt(unix.AT_FDCWD, ".", 0); err != nil {
		fmt.Println("name_to_handle_at(.):", err)
	}
	fd, err := unix.OpenByHandleAt(mnt, unix.NewFileHandle(int32(t), b), unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("read 0 bytes")
	}
	return nil
}

func writeFile(a []string) error {
	f, err := os.OpenFile(a[0], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("\n# PENT-ESCAPE-WRITE\n")
	return err
}

func truncateFile(a []string) error { return os.Truncate(a[0], 0) }
func unlink(a []string) error       { return os.Remove(a[0]) }
func rename(a []string) error       { return os.Rename(a[0], a[1]) }
func link(a []string) error         { return os.Link(a[0], a[1]) }
func mkdir(a []string) error        { return os.Mkdir(a[0], 0o755) }

// renameOver writes a replacement in the working directory and renames it
// over the target: the editor-style atomic write.
func renameOver(a []string) error {
	tmp := fmt.Sprintf("over-%d", os.Getpid())
	if err := os.WriteFile(tmp, []byte("# PENT-ESCAPE-RENAME\n"), 0o755); err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Rename(tmp, a[0])
}

// exchange swaps a[0] and a[1] with renameat2(RENAME_EXCHANGE) in a loop
// until the file a[2] exists, and prints how many swaps succeeded: the
// attacker of a check-then-use race on a[0].
func exchange(a []string) error {
	swaps := 0
	for i := 0; ; i++ {
		if i%64 == 0 {
			if _, err := os.Lstat(a[2]); err == nil {
				break
			}
		}
		if err := unix.Renameat2(unix.AT_FDCWD, a[0], unix.AT_FDCWD, a[1], unix.RENAME_EXCHANGE); err != nil {
			return err
		}
		swaps++
	}
	fmt.Println("SWAPS", swaps)
	return nil
}

// tmpfileLinkat creates an unnamed file in a[0] and links it in as a[1].
func tmpfileLinkat(a []string) error {
	fd, err := unix.Open(a[0], unix.O_TMPFILE|unix.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("O_TMPFILE: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("PENT-ESCAPE-TMPFILE\n")); err != nil {
		return err
	}
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, a[1], unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return fmt.Errorf("linkat: %w", err)
	}
	return nil
}

// setID makes a[1] a set-user-ID or set-group-ID file by way a[0]: "chmod-u",
// "chmod-g" (an existing file), "create" (open with O_CREAT), "tmpfile"
// (O_TMPFILE, then linked in), "mknod" (a regular file). It succeeds only if
// the file ends up with a set-ID bit.
func setID(a []string) error {
	how, path := a[0], a[1]
	var err error
	switch how {
	case "chmod-u", "chmod-g":
		mode := uint32(0o4755)
		if how == "chmod-g" {
			mode = 0o2755
		}
		if err = os.WriteFile(path, []byte("#!/bin/sh\nid\n"), 0o755); err == nil {
			err = unix.Chmod(path, mode)
		}
	case "create":
		var fd int
		if fd, err = unix.Open(path, unix.O_CREAT|unix.O_WRONLY, 0o4755); err == nil {
			unix.Close(fd)
		}
	case "tmpfile":
		var fd int
		if fd, err = unix.Open(filepath.Dir(path), unix.O_TMPFILE|unix.O_WRONLY, 0o4755); err == nil {
			err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
			unix.Close(fd)
		}
	case "mknod":
		err = unix.Mknod(path, unix.S_IFREG|0o4755, 0)
	default:
		return fmt.Errorf("unknown way %q", how)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", how, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) == 0 {
		return fmt.Errorf("%s: the file was made without its set-ID bit (%v)", how, fi.Mode())
	}
	return nil
}

func chmod(a []string) error { return os.Chmod(a[0], 0o777) }
func chown(a []string) error { return os.Lchown(a[0], os.Getuid(), os.Getgid()) }
func utime(a []string) error {
	old := time.Unix(1, 0)
	return os.Chtimes(a[0], old, old)
}

// tiocsti pushes a[0] and a newline into the input of the controlling
// terminal, one byte at a time, with the request encoded as given in a[1]:
// plain, or with high bits set (CVE-2019-10063).
func tiocsti(a []string) error {
	req := uint64(unix.TIOCSTI)
	if len(a) > 1 && a[1] == "high" {
		req |= 0xffffffff << 32
	}
	tty, err := unix.Open("/dev/tty", unix.O_RDWR, 0)
	if err != nil {
		tty = 0 // the inherited terminal
	}
	for _, c := range []byte(a[0] + "\n") {
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(tty), uintptr(req), uintptr(unsafe.Pointer(&c))); errno != 0 {
			return fmt.Errorf("TIOCSTI: %w", errno)
		}
	}
	return nil
}

// tioclinux asks the console driver to paste the selection (subcode 3).
func tioclinux(a []string) error {
	sub := byte(3)
	for _, fd := range []int{0, 1, 2} {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCLINUX, uintptr(unsafe.Pointer(&sub)))
		if errno == 0 {
			return nil
		}
		if fd == 2 {
			return fmt.Errorf("TIOCLINUX: %w", errno)
		}
	}
	return nil
}

func kill(a []string) error {
	pid, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	return unix.Kill(pid, unix.SIGKILL)
}

func ptrace(a []string) error {
	pid, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("PTRACE_SEIZE %d: %w", pid, errno)
	}
	return nil
}

// ptraceInitThreads tries every thread of the sandbox's init: PTRACE_SEIZE,
// then opening its memory. One thread that lets either through is a way
// into the stage's address space, which its privileged threads share.
func ptraceInitThreads(a []string) error {
	tasks, err := os.ReadDir("/proc/1/task")
	if err != nil {
		return err
	}
	var why []string
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			return fmt.Errorf("/proc/1/task/%s: %w", task.Name(), err)
		}
		_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, 0, 0, 0)
		if errno == 0 {
			return nil
		}
		why = append(why, fmt.Sprintf("PTRACE_SEIZE %d: %v", tid, errno))
		f, err := os.Open("/proc/1/task/" + task.Name() + "/mem")
		if err == nil {
			f.Close()
			return nil
		}
		why = append(why, err.Error())
	}
	if len(why) == 0 {
		return nil // no thread listed: init is not what it should be
	}
	return errors.New(strings.Join(why, "; "))
}

// initThreadOwnUID looks, for up to three seconds, for a thread of init
// that still carries this process's uid once the command runs: the thread
// the command was forked from must end, or nothing but its dumpable flag
// keeps the command out of the address space of init's privileged threads.
// Meaningful only where init's other threads have other ids (a root run).
func initThreadOwnUID(a []string) error {
	want := strconv.Itoa(os.Getuid())
	deadline := time.Now().Add(3 * time.Second)
	for {
		tasks, err := os.ReadDir("/proc/1/task")
		if err != nil {
			return err
		}
		var own []string
		for _, task := range tasks {
			status, err := os.ReadFile("/proc/1/task/" + task.Name() + "/status")
			if err != nil {
				continue // ended meanwhile
			}
			for _, line := range strings.Split(string(status), "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == want {
					own = append(own, task.Name())
				}
			}
		}
		if len(own) == 0 {
			return fmt.Errorf("no thread of init has uid %s", want)
		}
		if time.Now().After(deadline) {
			fmt.Printf("threads %v of init have uid %s\n", own, want)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// initKill sends the sandbox's init every deadly signal, then checks that it
// is still there and running (if it died, this process dies with it and
// never reports, which the suite counts as a success too).
func initKill(a []string) error {
	for _, s := range []unix.Signal{unix.SIGSTOP, unix.SIGKILL, unix.SIGSEGV, unix.SIGTERM, unix.SIGABRT} {
		_ = unix.Kill(1, s)
	}
	time.Sleep(300 * time.Millisecond)
	stat, err := os.ReadFile("/proc/1/stat")
	if err != nil {
		return nil // gone
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) > 0 && (fields[0] == "T" || fields[0] == "t" || fields[0] == "Z") {
		return nil // stopped or dead
	}
	return fmt.Errorf("init still running (state %s)", fields[0])
}

// openInitFD opens the init stage's control socket to speak to pent.
func openInitFD(a []string) error {
	f, err := os.Open("/proc/1/fd/3")
	if err != nil {
		return err
	}
	return f.Close()
}

func unshareUser(a []string) error { return unix.Unshare(unix.CLONE_NEWUSER) }

func umount(a []string) error { return unix.Unmount(a[0], unix.MNT_DETACH) }

func mountTmpfs(a []string) error { return unix.Mount("tmpfs", a[0], "tmpfs", 0, "") }

func setns(a []string) error {
	fd, err := unix.Open(a[0], unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setns(fd, 0)
}

// dialTCP connects and requires the server's first bytes.
func dialTCP(a []string) error {
	c, err := net.DialTimeout("tcp", a[0], 4*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(4 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if n == 0 {
		return fmt.Errorf("connected but nothing came back: %v", err)
	}
	fmt.Printf("got %q\n", buf[:n])
	return nil
}

// httpFront connects to ADDR and sends a request for HOST, then (in the
// next segment, pipelined or as a keep-alive request, in the method's
// case given) one for OTHER; it succeeds when a response names OTHER.
func httpFront(a []string) error {
	host, other, method := a[1], a[2], a[3]
	c, err := net.DialTimeout("tcp", a[0], 4*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(6 * time.Second))
	first := "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	second := method + " / HTTP/1.1\r\nHost: " + other + "\r\nConnection: close\r\n\r\n"
	if _, err := c.Write([]byte(first)); err != nil {
		return err
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Write([]byte(second)); err != nil {
		return err
	}
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if bytes.Contains(got.Bytes(), []byte("host="+other)) {
		fmt.Printf("served %q\n", got.String())
		return nil
	}
	return fmt.Errorf("no response for %s (%d bytes back)", other, got.Len())
}

// tlsSNI connects to ADDR and sends a ClientHello naming SNI; it succeeds
// when the server answers the handshake.
func tlsSNI(a []string) error {
	c, err := net.DialTimeout("tcp", a[0], 4*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(6 * time.Second))
	tc := tls.Client(c, &tls.Config{ServerName: a[1], InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		return err
	}
	fmt.Printf("handshake with SNI %s completed\n", a[1])
	return nil
}

// udp sends "ping" and requires an answer.
func udp(a []string) error {
	c, err := net.Dial("udp", a[0])
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	fmt.Printf("got %q\n", buf[:n])
	return nil
}

// ping sends an ICMP echo request over an unprivileged ICMP socket, else a
// raw socket, and requires a reply.
func ping(a []string) error {
	ip := net.ParseIP(a[0]).To4()
	if ip == nil {
		return fmt.Errorf("not an IPv4 address: %s", a[0])
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)
	if err != nil {
		var rawErr error
		if fd, rawErr = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP); rawErr != nil {
			return fmt.Errorf("ICMP socket: %v; raw socket: %w", err, rawErr)
		}
	}
	defer unix.Close(fd)
	msg := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'e', 'n', 't'}
	binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
	to := &unix.SockaddrInet4{Addr: [4]byte(ip)}
	if err := unix.Sendto(fd, msg, 0, to); err != nil {
		return fmt.Errorf("sendto: %w", err)
	}
	tv := unix.Timeval{Sec: 3}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 256)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("no reply: %w", err)
	}
	fmt.Printf("reply of %d bytes\n", n)
	return nil
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// dialUnix connects to a pathname or (@name) abstract UNIX socket.
func dialUnix(a []string) error {
	c, err := net.DialTimeout("unix", a[0], 3*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// dnsQuery sends a query of type a[2] (TXT or NULL) for a[1] to server a[0]
// over UDP and requires any answer that is not NXDOMAIN or REFUSED: the
// question itself is the exfiltration, which the suite checks on the
// server's side.
func dnsQuery(a []string) error {
	qtype := map[string]uint16{"TXT": 16, "NULL": 10, "A": 1}[a[2]]
	msg := []byte{0x4e, 0x21, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(strings.TrimSuffix(a[1], "."), ".") {
		msg = append(msg, byte(len(label)))
		msg = append(msg, label...)
	}
	msg = append(msg, 0, byte(qtype>>8), byte(qtype), 0, 1)
	c, err := net.Dial("udp", a[0])
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if n < 12 {
		return errors.New("short answer")
	}
	if rcode := buf[3] & 0x0f; rcode != 0 {
		return fmt.Errorf("rcode %d", rcode)
	}
	if binary.BigEndian.Uint16(buf[6:8]) == 0 {
		return errors.New("no answer records")
	}
	return nil
}

func keyctl(a []string) error {
	_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, true)
	return err
}

func bpf(a []string) error {
	// BPF_MAP_CREATE of a tiny array map.
	attr := [5]uint32{2, 4, 4, 1, 0}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, 0, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	return closeRaw(fd, errno)
}

func perf(a []string) error {
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_TASK_CLOCK,
		Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv}
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func ioURing(a []string) error {
	params := make([]byte, 120)
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	return closeRaw(fd, errno)
}

func vsock(a []string) error {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func userfaultfd(a []string) error {
	const userModeOnly = 1
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|userModeOnly, 0, 0)
	return closeRaw(fd, errno)
}

// netlink opens a netlink socket of a non-route family (audit, uevents,
// netfilter) — any one is a success.
func netlink(a []string) error {
	var errs []error
	for _, proto := range []int{unix.NETLINK_AUDIT, unix.NETLINK_KOBJECT_UEVENT, unix.NETLINK_NETFILTER} {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW, proto)
		if err == nil {
			unix.Close(fd)
			return nil
		}
		errs = append(errs, fmt.Errorf("protocol %d: %w", proto, err))
	}
	return errors.Join(errs...)
}

func closeRaw(fd uintptr, errno unix.Errno) error {
	if errno != 0 {
		return errno
	}
	return unix.Close(int(fd))
}
