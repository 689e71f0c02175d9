package proxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procRoot is where the host's process table is read.
const procRoot = "/proc"

// maxOwnerFDs bounds the descriptors one lookup reads: a sandbox holding
// very many cannot make each of its refusals expensive for the proxy that
// other sandboxes share; past it, the refusal names no process.
const maxOwnerFDs = 1 << 16

// socketNetns returns the inode of the network namespace socket f lives in
// (SIOCGSKNS): for a capture session, the sandbox's. It needs CAP_NET_ADMIN
// in that namespace's user namespace, which root and the user who created
// the sandbox's user namespace have.
func socketNetns(f *os.File) (uint64, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("socket's network namespace: %w", err)
	}
	var nsfd int
	var ioErr error
	if err := conn.Control(func(fd uintptr) { nsfd, ioErr = unix.IoctlRetInt(int(fd), unix.SIOCGSKNS) }); err != nil {
		return 0, fmt.Errorf("socket's network namespace: %w", err)
	}
	if ioErr != nil {
		return 0, fmt.Errorf("socket's network namespace: %w", ioErr)
	}
	defer unix.Close(nsfd)
	var st unix.Stat_t
	if err := unix.Fstat(nsfd, &st); err != nil {
		return 0, fmt.Errorf("socket's network namespace: %w", err)
	}
	return st.Ino, nil
}

// attribute names, in a refusal, the process of the sandbox that holds the
// client end of the refused flow: the session's network namespace has the
// socket whose local address is from's, and one of the namespace's processes
// has it open. Only refusals pay for the lookup (a scan of the host's process
// table), so allowed connections are never slowed; a flow whose process
// cannot be found (it exited, or the session is not a capture session) keeps
// the pent process alone.
func (s *session) attribute(d *Decision, from net.Addr) {
	if s.netns == 0 || from == nil || d.Action != "deny" {
		return
	}
	proto := "tcp"
	if _, ok := from.(*net.UDPAddr); ok {
		proto = "udp"
	}
	ap, err := netip.ParseAddrPort(from.String())
	if err != nil {
		return
	}
	if o, ok := findOwner(procRoot, s.netns, proto, ap); ok {
		d.Comm, d.ProcPID = o.comm, o.pid
	}
}

// owner is a process that holds a socket: its command name and its PID in
// its own (the sandbox's) PID namespace.
type owner struct {
	comm string
	pid  int
}

// findOwner finds, among the processes of network namespace netns, one that
// holds the proto ("tcp" or "udp") socket bound to local.
func findOwner(root string, netns uint64, proto string, local netip.AddrPort) (owner, bool) {
	pids := netnsPIDs(root, netns)
	if len(pids) == 0 {
		return owner{}, false
	}
	var inode uint64
	for _, table := range []string{proto, proto + "6"} {
		data, err := os.ReadFile(filepath.Join(root, pids[0], "net", table))
		if err != nil {
			continue
		}
		if inode = socketInode(data, local); inode != 0 {
			break
		}
	}
	if inode == 0 {
		return owner{}, false
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	budget := maxOwnerFDs
	for _, pid := range pids {
		if holdsSocket(filepath.Join(root, pid, "fd"), want, &budget) {
			return processOwner(filepath.Join(root, pid))
		}
	}
	return owner{}, false
}

// netnsPIDs lists the host PIDs (as names in root) of the processes in
// network namespace netns that this process may inspect.
func netnsPIDs(root string, netns uint64) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	want := "net:[" + strconv.FormatUint(netns, 10) + "]"
	var pids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if ns, err := os.Readlink(filepath.Join(root, e.Name(), "ns", "net")); err == nil && ns == want {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// holdsSocket reports whether one of the descriptors in fdDir is the socket
// link target want ("socket:[INODE]"), reading at most *budget of them and
// taking what it read from *budget.
func holdsSocket(fdDir, want string, budget *int) bool {
	dir, err := os.Open(fdDir)
	if err != nil {
		return false
	}
	defer dir.Close()
	for *budget > 0 {
		fds, err := dir.ReadDir(min(*budget, 256))
		for _, fd := range fds {
			*budget--
			if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && target == want {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
	return false
}

// processOwner reads the command name and the innermost PID (the last of
// status's NSpid) of the process at dir.
func processOwner(dir string) (owner, bool) {
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil {
		return owner{}, false
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return owner{}, false
	}
	pid, ok := innermostPID(status)
	if !ok {
		return owner{}, false
	}
	return owner{comm: strings.TrimSuffix(string(comm), "\n"), pid: pid}, true
}

// innermostPID is the last PID of the NSpid line of a /proc/PID/status:
// the process's PID in its own PID namespace.
func innermostPID(status []byte) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "NSpid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		pid, err := strconv.Atoi(f[len(f)-1])
		return pid, err == nil && pid > 0
	}
	return 0, false
}

// socketInode finds, in a /proc/net/{tcp,udp}[6] table, the inode of the
// socket whose local address is local (an IPv4 address also matches its
// IPv4-mapped IPv6 form); 0 when there is none.
func socketInode(table []byte, local netip.AddrPort) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // the header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		ap, ok := parseProcAddr(f[1])
		if !ok || ap.Addr().Unmap() != local.Addr().Unmap() || ap.Port() != local.Port() {
			continue
		}
		if inode, err := strconv.ParseUint(f[9], 10, 64); err == nil && inode != 0 {
			return inode
		}
	}
	return 0
}

// parseProcAddr decodes an address of /proc/net/tcp: hex words of the
// address as the kernel keeps it in memory, printed in host byte order
// (one word for IPv4, four for IPv6), a colon, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok || (len(addrHex) != 8 && len(addrHex) != 32) || len(portHex) != 4 {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw := make([]byte, len(addrHex)/2)
	for i := 0; i < len(addrHex); i += 8 {
		word, err := strconv.ParseUint(addrHex[i:i+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		binary.NativeEndian.PutUint32(raw[i/2:], uint32(word))
	}
	addr, ok := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), ok
}
