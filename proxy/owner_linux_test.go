package proxy

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// selfNetns is the inode of this process's network namespace.
func selfNetns(t testing.TB) uint64 {
	t.Helper()
	link, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "net:["), "]"), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", link, err)
	}
	return ino
}

// unbounded is a lookup budget that a test on the host's whole process
// table does not exhaust.
func unbounded() *scanBudget {
	return &scanBudget{links: 1 << 30, deadline: time.Now().Add(time.Hour)}
}

// selfComm is this process's command name as /proc shows it.
func selfComm(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// TestFindOwner: the holder of a TCP (IPv4 and IPv6) or UDP socket is found
// by the socket's local address among the processes of its network
// namespace; a free port, another protocol or another namespace finds none.
func TestFindOwner(t *testing.T) {
	ns := selfNetns(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c4, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	type probe struct {
		name  string
		proto string
		addr  string
		netns uint64
		found bool
	}
	probes := []probe{
		{"tcp4 client", "tcp", c4.LocalAddr().String(), ns, true},
		{"udp4", "udp", u.LocalAddr().String(), ns, true},
		{"udp socket asked as tcp", "tcp", u.LocalAddr().String(), ns, false},
		{"another namespace", "tcp", c4.LocalAddr().String(), ns + 1, false},
	}
	if l6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		defer l6.Close()
		c6, err := net.Dial("tcp6", l6.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c6.Close()
		probes = append(probes, probe{"tcp6 client", "tcp", c6.LocalAddr().String(), ns, true})
	} else {
		t.Logf("no IPv6 loopback here (%v): the tcp6 table is not probed", err)
	}
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	probes = append(probes, probe{"closed port", "tcp", freeAddr, ns, false})
	comm := selfComm(t)
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			o, ok := findOwner(procRoot, p.netns, p.proto, netip.MustParseAddrPort(p.addr), unbounded())
			if ok != p.found {
				t.Fatalf("found = %v (%+v), want %v", ok, o, p.found)
			}
			if ok && (o.pid != os.Getpid() || o.comm != comm || o.holders != 1) {
				t.Errorf("owner %+v, want %s[%d]", o, comm, os.Getpid())
			}
		})
	}
}

// TestRefusalNamesTheProcess: a refused DNS query and refused connections
// (CONNECT, SOCKS5, HTTP proxy) are logged with the process that holds the
// client socket, found in the session's network namespace (here the test's
// own); an allowed connection is never looked up. It needs SIOCGSKNS, which
// needs CAP_NET_ADMIN over this namespace.
// attributingProxy is a proxy for www.test whose refusals are attributed
// with time to scan the whole host's process table (a busy host); the test
// needs SIOCGSKNS, which needs CAP_NET_ADMIN over this namespace.
func attributingProxy(t *testing.T) *Proxy {
	t.Helper()
	files, _, _, _ := captureLikeFiles(t)
	if _, err := socketNetns(files[0]); err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("SIOCGSKNS as root: %v", err)
		}
		t.Skipf("needs CAP_NET_ADMIN over this network namespace (root; CI is): %v", err)
	}
	for _, f := range files {
		f.Close()
	}
	u := startUpstream(t)
	p := testProxy(t, u, "www.test")
	p.ownerScan = time.Minute // the whole host's process table, on a busy host
	return p
}

func TestRefusalNamesTheProcess(t *testing.T) {
	p := attributingProxy(t)
	proxyAddr, dnsUDP, _ := loopbackSession(t, p)
	if r := query(t, "udp", dnsUDP, "denied-dns.test", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("denied name answered: %v", r)
	}
	if out := connectStatus(t, proxyAddr, "CONNECT denied-connect.test:443 HTTP/1.1\r\nHost: denied-connect.test:443\r\n\r\n"); !strings.Contains(out, "403") {
		t.Fatalf("CONNECT to a denied name: %q", out)
	}
	if out := connectStatus(t, proxyAddr, "GET http://denied-http.test/ HTTP/1.1\r\nHost: denied-http.test\r\n\r\n"); !strings.Contains(out, "403") {
		t.Fatalf("GET through the proxy to a denied name: %q", out)
	}
	cs := startCountingServer(t)
	tunnel(t, proxyAddr, "www.test:"+cs.port(), clientHello(t, "www.test"))
	comm := selfComm(t)
	byName := map[string]Decision{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(p.Logs(100))), "\n") {
		var d Decision
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if _, seen := byName[d.Name+d.Action]; !seen {
			byName[d.Name+d.Action] = d
		}
	}
	for _, name := range []string{"denied-dns.test", "denied-connect.test", "denied-http.test"} {
		d := byName[name+"deny"]
		if d.Comm != comm || d.ProcPID != os.Getpid() {
			t.Errorf("%s: %+v, want a denial by %s[%d]", name, d, comm, os.Getpid())
		}
	}
	if d, ok := byName["www.testallow"]; !ok || d.Comm != "" || d.ProcPID != 0 {
		t.Errorf("the allowed connection was not logged or was attributed (looked up): %+v", d)
	}
}

// connectStatus sends raw to the proxy and returns the status line.
func connectStatus(t *testing.T, proxyAddr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Status
}

// TestHoldsSocketBudget: the links a lookup reads are bounded in number and
// in time; the budget spent is what was read.
func TestHoldsSocketBudget(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File() // a second descriptor of the socket, the highest
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	budget := scanBudget{links: len(ents) + 11, deadline: later}
	if !holdsSocket("/proc/self/fd", want, &budget) || budget.links < 10 {
		t.Fatalf("with room: not found, or budget %d left of %d", budget.links, len(ents)+11)
	}
	budget = scanBudget{links: 2, deadline: later}
	if holdsSocket("/proc/self/fd", "socket:[0]", &budget) || budget.links != 0 {
		t.Fatalf("a budget of 2: found, or %d left", budget.links)
	}
	budget = scanBudget{links: len(ents) + 11, deadline: time.Now()}
	if holdsSocket("/proc/self/fd", want, &budget) || budget.links != 0 {
		t.Fatalf("past the deadline: found, or %d left", budget.links)
	}
}

// BenchmarkFindOwner is the cost of one refusal's lookup in the worst case
// this host offers: the namespace of every host process, all of whose
// descriptors are read (a sandbox's namespace holds a handful).
func BenchmarkFindOwner(b *testing.B) {
	ns := selfNetns(b)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	for b.Loop() {
		if _, ok := findOwner(procRoot, ns, "tcp", local, unbounded()); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkNamespaceScan is the part of a lookup every refusal pays
// whatever the sandbox holds: finding the processes of a namespace in the
// host's process table.
func BenchmarkNamespaceScan(b *testing.B) {
	ns := selfNetns(b) + 1 // no process's
	for b.Loop() {
		if pids := netnsPIDs(procRoot, ns, unbounded()); len(pids) != 0 {
			b.Fatal(pids)
		}
	}
}

// formatProcAddr writes ap the way /proc/net/tcp does.
func formatProcAddr(ap netip.AddrPort) string {
	raw := ap.Addr().AsSlice()
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	return fmt.Sprintf("%s:%04X", b.String(), ap.Port())
}

func TestParseProcAddr(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{formatProcAddr(netip.MustParseAddrPort("127.0.0.1:8080")), true},
		{formatProcAddr(netip.MustParseAddrPort("[::ffff:198.18.0.1]:53")), true},
		{formatProcAddr(netip.MustParseAddrPort("[2001:db8::1]:65535")), true},
		{"", false},
		{"0100007F", false},
		{"0100007F:", false},
		{"0100007F:10000", false},
		{"0100007:1F90", false},
		{"0100007G:1F90", false},
		{"+100007F:1F90", false},
		{"00000000000000000000000001000000:0035:00", false},
	} {
		ap, ok := parseProcAddr(tc.in)
		if ok != tc.ok || (ok && formatProcAddr(ap) != tc.in) {
			t.Errorf("parseProcAddr(%q) = %v, %v", tc.in, ap, ok)
		}
	}
}

func TestInnermostPID(t *testing.T) {
	for _, tc := range []struct {
		status string
		pid    int
		ok     bool
	}{
		{"Name:\tcurl\nNSpid:\t4242\t7\nPPid:\t1\n", 7, true},
		{"NSpid:\t4242\n", 4242, true},
		{"NSpid:\n", 0, false},
		{"NSpid:\t4242\tx\n", 0, false},
		{"NSpid:\t4242\t0\n", 0, false},
		{"Name:\tcurl\n", 0, false},
	} {
		pid, ok := innermostPID([]byte(tc.status))
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("innermostPID(%q) = %d, %v; want %d, %v", tc.status, pid, ok, tc.pid, tc.ok)
		}
	}
}

func TestSocketInode(t *testing.T) {
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	a := netip.MustParseAddrPort("198.18.0.1:40000")
	line := func(local netip.AddrPort, inode string) string {
		return "   0: " + formatProcAddr(local) + " " + formatProcAddr(netip.MustParseAddrPort("198.19.0.5:443")) +
			" 01 00000000:00000000 00:00000000 00000000     0        0 " + inode + " 1 0000000000000000 20 4 30 10 -1\n"
	}
	for _, tc := range []struct {
		name  string
		table string
		want  uint64
	}{
		{"found", header + line(netip.MustParseAddrPort("127.0.0.1:40000"), "11") + line(a, "12345"), 12345},
		{"mapped form in a v6 table", header + line(netip.MustParseAddrPort("[::ffff:198.18.0.1]:40000"), "77"), 77},
		{"time-wait has no inode", header + line(a, "0"), 0},
		{"other port", header + line(netip.MustParseAddrPort("198.18.0.1:40001"), "5"), 0},
		{"a header alone", header, 0},
		{"short lines", header + "0: x y\n", 0},
	} {
		if got := socketInode([]byte(tc.table), a); got != tc.want {
			t.Errorf("%s: inode %d, want %d", tc.name, got, tc.want)
		}
	}
}

// FuzzParseProcAddr: any input either fails or parses to an address that
// /proc's format writes back as the same text (upper-case hex).
func FuzzParseProcAddr(f *testing.F) {
	for _, s := range []string{"0100007F:1F90", "0000000000000000FFFF00000100007F:0035", "", ":", "zz:zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, ok := parseProcAddr(s)
		if ok && formatProcAddr(ap) != strings.ToUpper(s) {
			t.Fatalf("%q parsed to %v, written back as %q", s, ap, formatProcAddr(ap))
		}
	})
}

// FuzzSocketInode: a table of any content never makes the lookup panic,
// and an inode it returns is a number of the table.
func FuzzSocketInode(f *testing.F) {
	f.Add([]byte("sl local\n 0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 4242 1\n"), "127.0.0.1:8080")
	f.Add([]byte(""), "[::1]:1")
	f.Fuzz(func(t *testing.T, table []byte, local string) {
		ap, err := netip.ParseAddrPort(local)
		if err != nil {
			return
		}
		if inode := socketInode(table, ap); inode != 0 && !strings.Contains(string(table), strconv.FormatUint(inode, 10)) {
			t.Fatalf("inode %d is not in the table", inode)
		}
	})
}

// TestProcessOwnerEscapes: the command name a sandboxed program chose
// (prctl PR_SET_NAME) is cleaned when the proxy reads it: no bidi override,
// C1 control, format character or invalid byte survives.
func TestProcessOwnerEscapes(t *testing.T) {
	dir := t.TempDir()
	comm := "\u202enoisiv\u009b31m\u200f\xff\n"
	if err := os.WriteFile(dir+"/comm", []byte(comm), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/status", []byte("Name:\tx\nNSpid:\t4242\t7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, ok := processOwner(dir)
	if !ok || o.pid != 7 || o.comm != `\u202enoisiv\u009b31m\u200f\xff` {
		t.Fatalf("processOwner = %+v, %v; want the escaped name and PID 7", o, ok)
	}
}

// TestRefusalAttributedOncePerName: only the first refusal of a name (per
// kind of flow and port) in a session pays for the process lookup; its
// repeats are logged without one, so a sandbox cannot make every refusal
// scan its descriptors.
func TestRefusalAttributedOncePerName(t *testing.T) {
	p := attributingProxy(t)
	_, dnsUDP, _ := loopbackSession(t, p)
	for _, name := range []string{"once.test", "once.test", "once.test", "other.test"} {
		if r := query(t, "udp", dnsUDP, name, dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Fatalf("denied name answered: %v", r)
		}
	}
	var attributed []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(p.Logs(100))), "\n") {
		var d Decision
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if d.ProcPID > 0 {
			attributed = append(attributed, d.Name)
		}
	}
	if strings.Join(attributed, " ") != "once.test other.test" {
		t.Errorf("attributed refusals %q, want the first of each name", attributed)
	}
}
