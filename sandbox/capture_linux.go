package sandbox

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Addresses of the veth pair SetupCapture creates inside the sandbox netns.
// Both ends stay in the netns: the pair only gives IPv4 a default route, so
// that a connect to any address reaches the OUTPUT hook and is redirected.
var (
	vethLocal = netip.MustParsePrefix("198.18.0.1/30")
	vethPeer  = netip.MustParseAddr("198.18.0.2")
)

const (
	vethName     = "pent0"
	vethPeerName = "pent1"
	nftTableName = "pent"
	vethMTU      = 65535 // the most a veth takes; lo's is 65536
)

// CaptureFiles are the sockets SetupCapture creates inside the sandbox netns.
// They are handed to the proxy (Client.Session or Proxy.ServeSession) and
// must then be closed in the sandbox process.
type CaptureFiles struct {
	// TCP listens on 127.0.0.1:ProxyPort for redirected and proxy-aware
	// connections.
	TCP *os.File
	// DNSUDP and DNSTCP receive every DNS query (UDP/TCP port 53 to any
	// address is redirected to them).
	DNSUDP, DNSTCP *os.File
	// ProxyPort is the TCP listener's port, for ProxyEnv.
	ProxyPort int
}

// Files returns the sockets in the order sessions expect them.
func (c *CaptureFiles) Files() []*os.File { return []*os.File{c.TCP, c.DNSUDP, c.DNSTCP} }

// Close closes the sockets.
func (c *CaptureFiles) Close() error {
	var errs []error
	for _, f := range c.Files() {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// SetupCapture prepares the current network namespace - which must be the
// sandbox's own, fresh one, with CAP_NET_ADMIN in its user namespace - so
// that every TCP connection and DNS query reaches the returned sockets, and
// nothing else leaves: it brings lo up, adds a veth pair with both ends in
// this netns and a default IPv4 route through it, creates the listeners, and
// installs nf_tables rules (NAT OUTPUT redirects; a filter OUTPUT chain that
// accepts loopback, redirected and established traffic, rejects other UDP and
// drops everything else, IPv6 included). TCP connections to 127.0.0.1 on
// loopbackPorts are redirected to the TCP listener as well (the proxy
// decides them as the name localhost); the rest of loopback stays the
// sandbox's own. It never touches another netns.
func SetupCapture(loopbackPorts []int) (*CaptureFiles, error) {
	if err := setupLinks(); err != nil {
		return nil, err
	}
	cf, dnsUDPPort, dnsTCPPort, err := openCaptureSockets()
	if err != nil {
		return nil, err
	}
	if err := installRules(cf.ProxyPort, dnsUDPPort, dnsTCPPort, loopbackPorts); err != nil {
		cf.Close()
		return nil, err
	}
	return cf, nil
}

func setupLinks() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("capture: find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("capture: bring lo up: %w", err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: vethName}, PeerName: vethPeerName}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("capture: create veth pair: %w", err)
	}
	local, err := netlink.LinkByName(vethName)
	if err != nil {
		return fmt.Errorf("capture: find %s: %w", vethName, err)
	}
	peer, err := netlink.LinkByName(vethPeerName)
	if err != nil {
		return fmt.Errorf("capture: find %s: %w", vethPeerName, err)
	}
	peerPrefix := netip.PrefixFrom(vethPeer, vethLocal.Bits())
	for _, a := range []struct {
		link netlink.Link
		pfx  netip.Prefix
	}{{local, vethLocal}, {peer, peerPrefix}} {
		// A connection takes its MSS from the route it starts on (the veth),
		// before the redirect moves it onto lo: at the default 1500 every
		// relayed byte crossed loopback in 1448-byte segments.
		if err := netlink.LinkSetMTU(a.link, vethMTU); err != nil {
			return fmt.Errorf("capture: MTU of %s: %w", a.link.Attrs().Name, err)
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.pfx.Addr().AsSlice(), Mask: net.CIDRMask(a.pfx.Bits(), 32)}}
		if err := netlink.AddrAdd(a.link, addr); err != nil {
			return fmt.Errorf("capture: address %s: %w", a.pfx, err)
		}
		if err := netlink.LinkSetUp(a.link); err != nil {
			return fmt.Errorf("capture: bring %s up: %w", a.link.Attrs().Name, err)
		}
	}
	route := &netlink.Route{LinkIndex: local.Attrs().Index, Gw: vethPeer.AsSlice()}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("capture: default route: %w", err)
	}
	return nil
}

// openCaptureSockets opens the TCP listener and the DNS sockets on loopback
// ports chosen by the kernel.
func openCaptureSockets() (*CaptureFiles, int, int, error) {
	cf := &CaptureFiles{}
	var dnsUDPPort, dnsTCPPort int
	var err error
	if cf.TCP, cf.ProxyPort, err = listenTCPFile(); err == nil {
		if cf.DNSTCP, dnsTCPPort, err = listenTCPFile(); err == nil {
			cf.DNSUDP, dnsUDPPort, err = listenUDPFile()
		}
	}
	if err != nil {
		cf.Close()
		return nil, 0, 0, err
	}
	return cf, dnsUDPPort, dnsTCPPort, nil
}

func listenTCPFile() (*os.File, int, error) {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, 0, fmt.Errorf("capture: listen: %w", err)
	}
	defer l.Close()
	f, err := l.File()
	if err != nil {
		return nil, 0, fmt.Errorf("capture: listener file: %w", err)
	}
	return f, l.Addr().(*net.TCPAddr).Port, nil
}

func listenUDPFile() (*os.File, int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, 0, fmt.Errorf("capture: listen udp: %w", err)
	}
	defer c.Close()
	f, err := c.File()
	if err != nil {
		return nil, 0, fmt.Errorf("capture: udp socket file: %w", err)
	}
	return f, c.LocalAddr().(*net.UDPAddr).Port, nil
}

// installRules programs nf_tables in the current netns, atomically (one
// netlink batch).
//
//	table ip pent { chain nat_output { type nat hook output priority dstnat;
//	    udp dport 53 redirect to :DNSUDP
//	    tcp dport 53 redirect to :DNSTCP
//	    ip daddr 127.0.0.1 tcp dport LOOPBACKPORT redirect to :PROXY   # one per loopback port
//	    ip daddr 127.0.0.0/8 accept        # the sandbox's own loopback, the proxy listener
//	    meta l4proto tcp redirect to :PROXY } }
//	table inet pent { chain filter_output { type filter hook output priority filter; policy drop;
//	    oifname "lo" accept
//	    ct status dnat accept
//	    ct state established,related accept
//	    meta l4proto udp reject } }
func installRules(proxyPort, dnsUDPPort, dnsTCPPort int, loopbackPorts []int) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("capture: nf_tables: %w", err)
	}
	nat := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: nftTableName})
	natOut := c.AddChain(&nftables.Chain{
		Name: "nat_output", Table: nat, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest,
	})
	rules := [][]expr.Any{
		redirect(l4proto(unix.IPPROTO_UDP, dport(53)), dnsUDPPort),
		redirect(l4proto(unix.IPPROTO_TCP, dport(53)), dnsTCPPort),
	}
	for _, port := range loopbackPorts {
		if port < 1 || port > 65535 {
			return fmt.Errorf("capture: loopback port %d out of range", port)
		}
		rules = append(rules, redirect(append(localhostDest(), l4proto(unix.IPPROTO_TCP, dport(uint16(port)))...), proxyPort))
	}
	rules = append(rules,
		append(loopbackDest(), &expr.Verdict{Kind: expr.VerdictAccept}),
		redirect(l4proto(unix.IPPROTO_TCP, nil), proxyPort),
	)
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: nat, Chain: natOut, Exprs: r})
	}

	filter := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: nftTableName})
	drop := nftables.ChainPolicyDrop
	filterOut := c.AddChain(&nftables.Chain{
		Name: "filter_output", Table: filter, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &drop,
	})
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	for _, r := range [][]expr.Any{
		{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
			accept,
		},
		ctBits(expr.CtKeySTATUS, 1<<5 /* IPS_DST_NAT */, accept),
		ctBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED, accept),
		l4proto(unix.IPPROTO_UDP, []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}),
	} {
		c.AddRule(&nftables.Rule{Table: filter, Chain: filterOut, Exprs: r})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("capture: install nf_tables rules: %w", err)
	}
	return nil
}

func l4proto(proto byte, rest []expr.Any) []expr.Any {
	return append([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}, rest...)
}

func dport(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

func redirect(match []expr.Any, port int) []expr.Any {
	return append(match,
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(port))},
		&expr.Redir{RegisterProtoMin: 1},
	)
}

func loopbackDest() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127, 0, 0, 0}},
	}
}

// localhostDest matches IPv4 destination 127.0.0.1.
func localhostDest() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127, 0, 0, 1}},
	}
}

func ctBits(key expr.CtKey, bits uint32, verdict expr.Any) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: key, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		verdict,
	}
}

func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}
