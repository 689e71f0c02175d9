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
	"sync/atomic"
	"time"

	"github.com/pent-sandbox/pent/termtext"
	"golang.org/x/sys/unix"
)

// procRoot is where the host's process table is read.
const procRoot = "/proc"

// The bounds of one refusal's process lookup: a sandbox holding very many
// descriptors, in many processes, cannot make its refusals slow to answer
// or expensive for a proxy other sandboxes share; past either bound the
// refusal names no process.
const (
	// maxOwnerLinks is how many /proc links (namespaces, descriptors) one
	// lookup reads.
	maxOwnerLinks = 1 << 16
	// maxAttributed is how many refused names and ports of a session are
	// looked up; later ones name no process.
	maxAttributed = 1024
)

// scanBudget bounds one process lookup: links more /proc links may be
// read, none after deadline.
type scanBudget struct {
	links    int
	deadline time.Time
}

// newScanBudget is the budget of one refusal's lookup, which may take d.
func newScanBudget(d time.Duration) *scanBudget {
	return &scanBudget{links: maxOwnerLinks, deadline: time.Now().Add(d)}
}

// take spends one link read; false once the budget is spent or its time is
// up (and from then on).
func (b *scanBudget) take() bool {
	if b.links <= 0 || !time.Now().Before(b.deadline) {
		b.links = 0
		return false
	}
	b.links--
	return true
}

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

// attribute names, in a refusal, the processes of the sandbox that hold
// the client end of the refused flow: the session's network namespace has
// the socket whose local address is from's, and its processes have it open.
// Only the first refusal of a name and port in a session is looked up (the
// exit summary shows the first), one lookup at a time, each bounded by
// scanBudget, so a sandbox cannot slow its own answers or the proxy's other
// sessions by holding many descriptors; allowed connections are never
// looked up. A refusal whose process is not found (it exited, the budget
// ran out, the session is not a capture session) keeps the pent process
// alone.
func (s *session) attribute(d *Decision, from net.Addr) {
	if s.netns == 0 || from == nil || d.Action != "deny" {
		return
	}
	proto := "tcp"
	if _, ok := from.(*net.UDPAddr); ok {
		proto = "udp"
	}
	ap, err := netip.ParseAddrPort(from.String())
	if err != nil || !s.attr.scanning.CompareAndSwap(false, true) {
		return
	}
	defer s.attr.scanning.Store(false)
	if !s.firstRefusal(*d) {
		return
	}
	if o, ok := findOwner(procRoot, s.netns, proto, ap, newScanBudget(s.p.ownerScan)); ok {
		d.Comm, d.ProcPID, d.Holders = o.comm, o.pid, o.holders
	}
}

// attribution holds the refusals (kind of flow, name or address, port)
// whose process was looked up, and scanning is set while a lookup runs:
// each costs a scan of the host's process table, so a session gets one per
// refused name and port and one at a time.
type attribution struct {
	seen     map[string]struct{} // guarded by the session's mu
	scanning atomic.Bool
}

// firstRefusal records d's refusal (its kind of flow, name or address, and
// port) and reports whether it is the session's first such one, within
// maxAttributed of them.
func (s *session) firstRefusal(d Decision) bool {
	key := d.Kind + " " + d.Name + " " + strconv.Itoa(d.Port)
	if d.Kind != "dns" {
		key = "connect " + d.Name + " " + strconv.Itoa(d.Port)
	}
	if d.Name == "" {
		key += " " + d.Addr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attr.seen == nil {
		s.attr.seen = map[string]struct{}{}
	}
	if _, seen := s.attr.seen[key]; seen || len(s.attr.seen) >= maxAttributed {
		return false
	}
	s.attr.seen[key] = struct{}{}
	return true
}

// owner is a process that holds a socket: its command name (escaped, as
// the sandboxed program may have set it to anything) and its PID in its
// own (the sandbox's) PID namespace, and how many processes held the
// socket in all.
type owner struct {
	comm    string
	pid     int
	holders int
}

// findOwner finds, among the processes of network namespace netns, the
// ones that hold the proto ("tcp" or "udp") socket bound to local, within
// budget: the first of them and their number.
func findOwner(root string, netns uint64, proto string, local netip.AddrPort, budget *scanBudget) (owner, bool) {
	pids := netnsPIDs(root, netns, budget)
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
	var found owner
	for _, pid := range pids {
		if !holdsSocket(filepath.Join(root, pid, "fd"), want, budget) {
			continue
		}
		if found.holders == 0 {
			o, ok := processOwner(filepath.Join(root, pid))
			if !ok {
				continue
			}
			found = o
		}
		found.holders++
	}
	return found, found.holders > 0
}

// netnsPIDs lists the host PIDs (as names in root) of the processes in
// network namespace netns that this process may inspect, within budget.
func netnsPIDs(root string, netns uint64, budget *scanBudget) []string {
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
		if !budget.take() {
			break
		}
		if ns, err := os.Readlink(filepath.Join(root, e.Name(), "ns", "net")); err == nil && ns == want {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// holdsSocket reports whether one of the descriptors in fdDir is the socket
// link target want ("socket:[INODE]"), reading them within budget.
func holdsSocket(fdDir, want string, budget *scanBudget) bool {
	if !budget.take() {
		return false
	}
	dir, err := os.Open(fdDir)
	if err != nil {
		return false
	}
	defer dir.Close()
	for {
		fds, err := dir.ReadDir(256)
		for _, fd := range fds {
			if !budget.take() {
				return false
			}
			if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && target == want {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}

// processOwner reads the command name, escaped (termtext.Escape), and the
// innermost PID (the last of status's NSpid) of the process at dir.
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
	return owner{comm: termtext.Escape(strings.TrimSuffix(string(comm), "\n")), pid: pid}, true
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
