package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCompile(t *testing.T) {
	p, err := Compile(Settings{Allow: []string{"a.test"}, Destinations: []string{"127.0.0.0/8", "10.1.2.3"}},
		HostResolvers(strings.NewReader("# comment\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch x\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Upstreams, ","); got != "127.0.0.53:53,[fe80::1]:53" {
		t.Errorf("upstreams %s", got)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true}, {"127.0.0.1", true}, {"10.1.2.3", true}, {"10.1.2.4", false},
		{"169.254.169.254", false}, {"192.168.1.1", false}, {"172.16.0.1", false}, {"100.64.0.1", false},
		{"198.19.0.1", false}, {"224.0.0.1", false}, {"0.0.0.0", false}, {"::ffff:169.254.169.254", false},
		{"fd00::1", false}, {"fe80::1", false}, {"::1", false}, {"2606:4700::1", true},
		// The host's own addresses are refused unless listed.
		{"192.0.2.2", false}, {"::ffff:192.0.2.2", false}, {"2001:db8::2", false}, {"10.1.2.3", true},
	}
	own := []netip.Addr{mustAddr("192.0.2.2"), mustAddr("2001:db8::2"), mustAddr("10.1.2.3"), mustAddr("127.0.0.1")}
	for _, tc := range tests {
		if got := p.DestinationAllowed(netip.MustParseAddr(tc.addr), own, true); got != tc.want {
			t.Errorf("DestinationAllowed(%s) = %v", tc.addr, got)
		}
	}
	// Unspecified addresses are never dialled, whatever destinations say;
	// IPv6 forms that embed an IPv4 address are judged by that address.
	open, err := Compile(Settings{Allow: []string{"a.test"}, Destinations: []string{"0.0.0.0/0", "::/0"}, UpstreamDNS: []string{"192.0.2.53"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	loop6, err := Compile(Settings{Allow: []string{"a.test"}, Destinations: []string{"::1"}, UpstreamDNS: []string{"192.0.2.53"}}, nil)
	if err != nil || !loop6.DestinationAllowed(netip.MustParseAddr("::1"), nil, true) {
		t.Errorf("destinations [::1] does not let ::1 through (%v)", err)
	}
	for _, a := range []string{"0.0.0.0", "::", "::ffff:0.0.0.0"} {
		if open.DestinationAllowed(netip.MustParseAddr(a), nil, true) {
			t.Errorf("with every destination listed, DestinationAllowed(%s) = true", a)
		}
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"64:ff9b::c0a8:101", false}, {"64:ff9b::a9fe:a9fe", false}, {"64:ff9b::5db8:d822", true}, // NAT64
		{"64:ff9b:1::5db8:d822", false},                                                       // local-use NAT64: where the IPv4 sits is not known
		{"2002:c0a8:101::1", false}, {"2002:c000:202::1", false}, {"2002:5db8:d822::1", true}, // 6to4
		{"::c0a8:101", false}, {"::a9fe:a9fe", false}, {"::c000:202", false}, // IPv4-compatible
		{"2001:0:5db8:d822::1", false}, // Teredo
		{"64:ff9b::a01:203", true},     // 10.1.2.3 is listed
	} {
		if got := p.DestinationAllowed(netip.MustParseAddr(tc.addr), own, true); got != tc.want {
			t.Errorf("DestinationAllowed(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	for _, bad := range []Settings{
		{Allow: []string{"a.test"}},                                        // no upstream at all
		{Allow: []string{"*"}, UpstreamDNS: []string{"1.1.1.1"}},           // bad entry
		{UpstreamDNS: []string{"dns.example:53"}},                          // names are not resolvers
		{UpstreamDNS: []string{"1.1.1.1"}, Destinations: []string{"10/8"}}, // bad CIDR
	} {
		if _, err := Compile(bad, nil); err == nil {
			t.Errorf("Compile(%+v) succeeded", bad)
		}
	}
}

func TestNameTable(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newNameTable(func() time.Time { return now }, syntheticPoolSize)
	first := tab.addrFor("a.test")
	if !syntheticNet.Contains(first) || first == syntheticNet.Addr() {
		t.Fatalf("bad synthetic address %s", first)
	}
	if tab.addrFor("a.test") != first {
		t.Fatal("same name, different address")
	}
	now = now.Add(nameLifetime + time.Second)
	if _, ok := tab.nameOf(first); ok {
		t.Fatal("expired binding still resolves")
	}
	// Fill the whole pool; the next name takes the binding that expires first.
	tab = newNameTable(func() time.Time { return now }, syntheticPoolSize)
	first = tab.addrFor("n0.test")
	for i := 1; i < tab.size; i++ {
		now = now.Add(time.Millisecond)
		tab.addrFor("n" + strconv.Itoa(i) + ".test")
	}
	if len(tab.byAddr) != tab.size {
		t.Fatalf("pool holds %d bindings, want %d", len(tab.byAddr), tab.size)
	}
	now = now.Add(time.Millisecond)
	if got := tab.addrFor("late.test"); got != first {
		t.Fatalf("full pool: got %s, want the oldest %s", got, first)
	}
	if name, _ := tab.nameOf(first); name != "late.test" {
		t.Fatalf("reused address bound to %q", name)
	}
	if _, ok := tab.byName["n0.test"]; ok {
		t.Fatal("evicted name still bound")
	}
}

func TestParseHosts(t *testing.T) {
	got := ParseHosts(strings.NewReader("127.0.0.1 localhost\n::1 localhost ip6-localhost # comment\n" +
		"192.168.1.5\tDB.Local db # the database\n# 10.0.0.1 commented.out\nbogus line\nfe80::1%eth0 zoned\n10.0.0.2 bad\x00name ok.name\n"))
	want := map[string]string{
		"localhost": "[127.0.0.1 ::1]", "ip6-localhost": "[::1]", "db.local": "[192.168.1.5]", "db": "[192.168.1.5]", "ok.name": "[10.0.0.2]",
	}
	if len(got) != len(want) {
		t.Errorf("ParseHosts = %v", got)
	}
	for name, addrs := range want {
		if s := fmt.Sprint(got[name]); s != addrs {
			t.Errorf("%s: %s, want %s", name, s, addrs)
		}
	}
}

func FuzzParseHosts(f *testing.F) {
	f.Add("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
	f.Add("192.168.1.5\tdb.local db # x\n")
	f.Fuzz(func(t *testing.T, in string) {
		for name, addrs := range ParseHosts(strings.NewReader(in)) {
			if n, err := CanonicalName(name); err != nil || n != name || len(addrs) == 0 {
				t.Fatalf("name %q (%v) with %v", name, err, addrs)
			}
		}
	})
}

func TestLocalNames(t *testing.T) {
	hosts := map[string][]netip.Addr{"db.local": {mustAddr("192.168.1.5")}, "nas.local": {mustAddr("192.168.1.6")}}
	p, err := Compile(Settings{Allow: []string{"localhost:5432", "db.local:5432", "nas.local", "*.local:80"}, HostNames: hosts,
		UpstreamDNS: []string{"127.0.0.53"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.Local); got != "map[db.local:[192.168.1.5] localhost:[127.0.0.1 ::1]]" {
		t.Errorf("Local = %s (only names listed exactly with a port are host-local)", got)
	}
}

// TestLocalhostPorts: only entries naming localhost exactly with a port
// send the sandbox's loopback port to the proxy.
func TestLocalhostPorts(t *testing.T) {
	for _, tc := range []struct {
		allow []string
		want  []int
	}{
		{[]string{"localhost:5432", "LOCALHOST.:8080", "localhost:5432"}, []int{5432, 8080}},
		{[]string{"localhost", "*.localhost:80", "**.localhost:81", "db.local:5432", "localhost.test:3"}, nil},
		{nil, nil},
	} {
		pol, err := Compile(Settings{Allow: tc.allow, UpstreamDNS: []string{"127.0.0.1:53"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := pol.LocalhostPorts(); !slices.Equal(got, tc.want) {
			t.Errorf("%q: ports %v, want %v", tc.allow, got, tc.want)
		}
	}
}

// TestLoopbackDestinations: a loopback destination, in any form (IPv4,
// ::1, mapped, NAT64, 6to4, IPv4-compatible), is for host-local names
// only, even when destinations lists every address; "upstream:" opens the
// ranges it marks, and only those, to names resolved upstream.
func TestLoopbackDestinations(t *testing.T) {
	all, err := Compile(Settings{Destinations: []string{"0.0.0.0/0", "::/0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	marked, err := Compile(Settings{Destinations: []string{"upstream:127.0.0.0/24", "10.0.0.0/8"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pol      *Policy
		addr     string
		upstream bool // allowed for a name resolved upstream
		local    bool // allowed for a host-local name
	}{
		{all, "127.0.0.1", false, true},
		{all, "127.1.2.3", false, true},
		{all, "::1", false, true},
		{all, "::ffff:127.0.0.1", false, true},
		{all, "64:ff9b::7f00:1", false, true},
		{all, "2002:7f00:1::1", false, true},
		{all, "::7f00:1", false, true},
		{all, "10.1.2.3", true, true},
		{marked, "127.0.0.1", true, true},
		{marked, "127.0.1.1", false, false},
		{marked, "::1", false, false},
		{marked, "10.1.2.3", true, true},
	} {
		if got := tc.pol.DestinationAllowed(netip.MustParseAddr(tc.addr), nil, false); got != tc.upstream {
			t.Errorf("%v: DestinationAllowed(%s) for an upstream name = %v", tc.pol.Destinations, tc.addr, got)
		}
		if got := tc.pol.DestinationAllowed(netip.MustParseAddr(tc.addr), nil, true); got != tc.local {
			t.Errorf("%v: DestinationAllowed(%s) for a host-local name = %v", tc.pol.Destinations, tc.addr, got)
		}
	}
}
