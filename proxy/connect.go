package proxy

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// connectTimeout bounds the dial to the proxy and its answer to CONNECT.
const connectTimeout = 30 * time.Second

// ProxyConnect opens a tunnel to host:port through pent's proxy listener at
// proxyURL (the http:// URL of the proxy variables, with the session's
// credentials as user info when the listener needs them) with an HTTP
// CONNECT, then copies in to the tunnel and the tunnel to out until the
// server closes it. It is `pent proxy connect`, the ProxyCommand that lets
// ssh (git over SSH) through an authenticated loopback listener, which
// macOS's nc cannot do. The proxy must be on a loopback address: the
// credentials are never sent anywhere else.
func ProxyConnect(proxyURL, host string, port int, in io.Reader, out io.Writer) error {
	u, err := url.Parse(proxyURL)
	if err != nil {
		return fmt.Errorf("proxy URL: %w", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("proxy URL scheme %q: want http", u.Scheme)
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("proxy address %q is not a loopback IP:port: pent's proxy listens on 127.0.0.1", u.Host)
	}
	if host == "" || strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '/' }) {
		return fmt.Errorf("host %q is not a host name or address", host)
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is not 1-65535", port)
	}
	target := net.JoinHostPort(host, strconv.Itoa(port))
	c, err := net.DialTimeout("tcp", ap.String(), connectTimeout)
	if err != nil {
		return fmt.Errorf("connecting to the proxy: %w", err)
	}
	defer c.Close()
	br, err := connectTunnel(c, u.User, target)
	if err != nil {
		return err
	}
	go func() {
		// ssh's end: when it closes, so does the tunnel's write half.
		if _, err := io.Copy(c, in); err == nil {
			_ = c.(*net.TCPConn).CloseWrite()
		} else {
			c.Close()
		}
	}()
	if _, err := io.Copy(out, br); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("tunnel to %s: %w", target, err)
	}
	return nil
}

// connectTunnel sends CONNECT target on c with user's credentials (when
// there are any) and reads the answer; on success the returned reader
// holds whatever the server sent already.
func connectTunnel(c net.Conn, user *url.Userinfo, target string) (*bufio.Reader, error) {
	_ = c.SetDeadline(time.Now().Add(connectTimeout))
	head := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if user != nil {
		pass, _ := user.Password()
		head += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, head+"\r\n"); err != nil {
		return nil, fmt.Errorf("asking the proxy for %s: %w", target, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("the proxy's answer for %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		reason, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		msg := strings.TrimSpace(strings.TrimPrefix(string(reason), "pent: "))
		return nil, fmt.Errorf("the proxy refused %s: %s: %q", target, resp.Status, msg)
	}
	_ = c.SetDeadline(time.Time{})
	return br, nil
}
