package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// handleHTTPProxy serves a proxy-aware HTTP client: CONNECT tunnels and
// absolute-URI requests (plain HTTP proxying), each decided by the name it
// targets. A keep-alive connection may carry requests for several hosts;
// every request is decided on its own.
func (s *session) handleHTTPProxy(c *net.TCPConn, br *bufio.Reader) {
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			if err != io.EOF && !isTimeoutErr(err) {
				s.decide(c.RemoteAddr(), false, "http", "", 0, "", "bad proxy request: "+err.Error())
				writeHTTPError(c, http.StatusBadRequest, "malformed request")
			}
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		if err := s.authorize(req); err != nil {
			s.refuseUnauthorized(c, req, err)
			return
		}
		if req.Method == http.MethodConnect {
			s.handleCONNECT(c, br, req)
			return
		}
		if !s.forwardHTTP(c, req) {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(httpIdleTimeout))
	}
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (s *session) handleCONNECT(c *net.TCPConn, br *bufio.Reader, req *http.Request) {
	host, port, err := splitHostPort(req.Host, 443)
	if err == nil {
		host, err = s.bindName(host, netip.Addr{})
	}
	if err != nil {
		s.decide(c.RemoteAddr(), false, "connect", host, port, req.Host, err.Error())
		writeHTTPError(c, http.StatusForbidden, err.Error())
		return
	}
	addrs, err := s.admit(c.RemoteAddr(), "connect", host, port, "")
	if err != nil {
		writeRefusal(c, host, port, err)
		return
	}
	// The tunnel is granted before it is dialled: the client's first bytes
	// (its ClientHello) must be decided first. A connect failure then
	// closes the tunnel.
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	s.relayChecked(c, br, addrs, "connect", host, port)
}

// forwardHTTP proxies one absolute-URI request and reports whether the
// client connection may carry another.
func (s *session) forwardHTTP(c *net.TCPConn, req *http.Request) bool {
	if !req.URL.IsAbs() || req.URL.Scheme != "http" {
		s.decide(c.RemoteAddr(), false, "http", "", 0, "", "not a proxy request: "+req.RequestURI)
		writeHTTPError(c, http.StatusBadRequest, "pent proxy: send absolute http:// URIs, or CONNECT")
		return false
	}
	host, port, err := splitHostPort(req.URL.Host, 80)
	if err == nil {
		host, err = s.bindName(host, netip.Addr{})
	}
	if err == nil {
		err = s.checkName(host, port)
	}
	if err != nil {
		s.decide(c.RemoteAddr(), false, "http", host, port, req.URL.Host, err.Error())
		writeHTTPError(c, http.StatusForbidden, err.Error())
		return false
	}
	out := req.Clone(context.Background())
	out.RequestURI = ""
	out.URL.Host = net.JoinHostPort(host, strconv.Itoa(port))
	removeHopHeaders(out.Header)
	resp, err := s.transport().RoundTrip(out)
	if err != nil {
		reason := err.Error()
		if !isDenial(err) {
			reason = "upstream failed: " + reason
		}
		s.decide(c.RemoteAddr(), false, "http", host, port, "", reason)
		writeRefusal(c, host, port, err)
		return false
	}
	defer resp.Body.Close()
	s.decide(c.RemoteAddr(), true, "http", host, port, "", "allowed name")
	removeHopHeaders(resp.Header)
	if err := resp.Write(c); err != nil {
		return false
	}
	return !req.Close && !resp.Close
}

// transport is the session's upstream HTTP client: it dials through
// dialName, so every request's destination is checked.
func (s *session) transport() *http.Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tr == nil {
		s.tr = &http.Transport{
			Proxy:              nil,
			DisableCompression: true,
			IdleConnTimeout:    httpIdleTimeout,
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				host, port, err := splitHostPort(addr, 80)
				if err != nil {
					return nil, err
				}
				return s.dialName(ctx, host, port)
			},
		}
	}
	return s.tr
}

// hopHeaders are connection-level headers a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// writeRefusal answers a proxy request for name:port that was not served:
// a policy denial with 403 and its reason, which names the fix; an upstream
// failure (the name does not resolve, the connection is refused) with 502
// and what failed, so that a client does not take it for a refusal.
func writeRefusal(w io.Writer, name string, port int, err error) {
	if isDenial(err) {
		writeHTTPError(w, http.StatusForbidden, err.Error())
		return
	}
	writeHTTPError(w, http.StatusBadGateway, fmt.Sprintf("upstream %s failed: %v", net.JoinHostPort(name, strconv.Itoa(port)), err))
}

// writeHTTPError sends a final response with msg as its body and the extra
// header lines given ("Name: value").
func writeHTTPError(w io.Writer, code int, msg string, headers ...string) {
	body := "pent: " + msg + "\n"
	var extra strings.Builder
	for _, h := range headers {
		extra.WriteString(h + "\r\n")
	}
	_, _ = fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), extra.String(), len(body), body)
}
