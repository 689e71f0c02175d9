package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// maxClientTTL caps the TTL of answers given to the sandbox, so that a name
// whose synthetic binding or policy changes is asked for again soon.
const maxClientTTL = 300

// syntheticReverse is the reverse zone of syntheticNet.
const syntheticReverse = ".19.198.in-addr.arpa"

// dnsHandler serves the sandbox's DNS queries (UDP and TCP).
func (s *session) dnsHandler() dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		resp := s.answerDNS(context.Background(), w.RemoteAddr(), req)
		size := dns.MaxMsgSize
		if w.LocalAddr().Network() == "udp" {
			size = dns.MinMsgSize
			if o := req.IsEdns0(); o != nil {
				size = max(int(o.UDPSize()), dns.MinMsgSize)
			}
		}
		resp.Truncate(size)
		_ = w.WriteMsg(resp)
	})
}

// answerDNS answers one query. Names the allowlist does not allow get
// NXDOMAIN, whatever the type, and are never sent upstream. For allowed
// names: A gets the name's synthetic address (after upstream confirms the
// name has IPv4 addresses); AAAA, HTTPS, SVCB, CNAME and ANY get an empty
// answer (IPv6 is not proxied, address hints would bypass the synthetic
// binding); zone transfers are refused; other types are forwarded upstream
// with address records removed from the answer.
func (s *session) answerDNS(ctx context.Context, from net.Addr, req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if req.IsEdns0() != nil {
		resp.SetEdns0(1232, false)
	}
	switch {
	case req.Response || len(req.Question) != 1:
		resp.Rcode = dns.RcodeFormatError
		return resp
	case req.Opcode != dns.OpcodeQuery:
		resp.Rcode = dns.RcodeNotImplemented
		return resp
	case req.Question[0].Qclass != dns.ClassINET:
		resp.Rcode = dns.RcodeRefused
		return resp
	}
	q := req.Question[0]
	qtype := dns.TypeToString[q.Qtype]
	if qtype == "" {
		qtype = "TYPE" + strconv.Itoa(int(q.Qtype))
	}
	name, err := CanonicalName(q.Name)
	if err != nil {
		s.decide(from, false, "dns", "", 0, "", "bad query name: "+err.Error())
		resp.Rcode = dns.RcodeNameError
		return resp
	}
	if q.Qtype == dns.TypePTR && strings.HasSuffix(name, syntheticReverse) {
		s.answerSyntheticPTR(resp, q, name)
		return resp
	}
	if !s.p.Policy().Allow.AllowsName(name) {
		s.decide(from, false, "dns", name, 0, "", qtype+" query for a name not in domain_allowlist (add \""+name+"\" to [proxy] domain_allowlist)")
		resp.Rcode = dns.RcodeNameError
		return resp
	}
	switch q.Qtype {
	case dns.TypeA:
		s.answerA(ctx, from, resp, q, name)
	case dns.TypeAAAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeCNAME, dns.TypeANY:
		s.decide(from, true, "dns", name, 0, "", qtype+": empty answer (only IPv4 through pent's synthetic addresses)")
	case dns.TypeAXFR, dns.TypeIXFR:
		s.decide(from, false, "dns", name, 0, "", "zone transfers are refused")
		resp.Rcode = dns.RcodeRefused
	default:
		s.forward(ctx, from, resp, q, name, qtype)
	}
	return resp
}

func (s *session) answerA(ctx context.Context, from net.Addr, resp *dns.Msg, q dns.Question, name string) {
	addrs, ttl, err := s.lookup(ctx, name)
	switch {
	case errors.Is(err, errNXDomain):
		s.decide(from, true, "dns", name, 0, "", "A: does not exist upstream")
		resp.Rcode = dns.RcodeNameError
	case err != nil:
		s.decide(from, true, "dns", name, 0, "", "A: upstream failed: "+err.Error())
		resp.Rcode = dns.RcodeServerFailure
	case len(addrs) == 0:
		s.decide(from, true, "dns", name, 0, "", "A: no address upstream")
	default:
		synth := s.names.addrFor(name)
		s.decide(from, true, "dns", name, 0, synth.String(), "A: allowed name")
		resp.Answer = []dns.RR{&dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: min(ttl, maxClientTTL)},
			A:   synth.AsSlice(),
		}}
	}
}

func (s *session) answerSyntheticPTR(resp *dns.Msg, q dns.Question, name string) {
	labels := strings.Split(strings.TrimSuffix(name, syntheticReverse), ".")
	if len(labels) == 2 {
		c, err1 := strconv.ParseUint(labels[1], 10, 8)
		d, err2 := strconv.ParseUint(labels[0], 10, 8)
		if err1 == nil && err2 == nil {
			addr := netip.AddrFrom4([4]byte{198, 19, byte(c), byte(d)})
			if target, ok := s.names.nameOf(addr); ok {
				resp.Answer = []dns.RR{&dns.PTR{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: maxClientTTL},
					Ptr: dns.Fqdn(target),
				}}
				return
			}
		}
	}
	resp.Rcode = dns.RcodeNameError
}

func (s *session) forward(ctx context.Context, from net.Addr, resp *dns.Msg, q dns.Question, name, qtype string) {
	m, err := s.p.res.ex.Exchange(ctx, dns.Question{Name: dns.Fqdn(name), Qtype: q.Qtype, Qclass: dns.ClassINET})
	if err != nil {
		s.decide(from, true, "dns", name, 0, "", qtype+": upstream failed: "+err.Error())
		resp.Rcode = dns.RcodeServerFailure
		return
	}
	s.decide(from, true, "dns", name, 0, "", qtype+": forwarded")
	resp.Rcode = m.Rcode
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA {
			continue
		}
		h.Ttl = min(h.Ttl, maxClientTTL)
		resp.Answer = append(resp.Answer, rr)
	}
}
