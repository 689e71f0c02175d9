package proxy

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
)

// Session credentials of an authenticated loopback listener (ServeLoopback).
// The user name is fixed; the password is the session's token: 32 random
// bytes, hex-encoded, so that it can stand in a proxy URL as it is.
const (
	SessionUser = "pent"
	tokenBytes  = 32
	authRealm   = `Basic realm="pent"`
)

// SOCKS5 authentication (RFC 1928 methods, RFC 1929 sub-negotiation).
const (
	socksNoAuth       = 0x00
	socksUserPass     = 0x02
	socksNoAcceptable = 0xff
	userPassVersion   = 0x01
)

// errNoCredentials is the refusal of a request without valid credentials.
var errNoCredentials = errors.New("no valid proxy credentials: this listener serves only the pent session that holds its token")

// newToken returns a fresh session token from crypto/rand.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("proxy: session token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validToken reports whether tok looks like a token newToken made: a
// daemon's answer is checked before its token goes into URLs.
func validToken(tok string) bool {
	if len(tok) != 2*tokenBytes {
		return false
	}
	_, err := hex.DecodeString(tok)
	return err == nil
}

// checkBasicAuth checks one Proxy-Authorization value: the Basic scheme with
// user "pent" and the token as password. The comparison takes the same time
// wherever the first wrong byte is.
func checkBasicAuth(value string, token []byte) error {
	scheme, encoded, ok := strings.Cut(strings.TrimSpace(value), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return errNoCredentials
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return errNoCredentials
	}
	want := append([]byte(SessionUser+":"), token...)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return errNoCredentials
	}
	return nil
}

// authorize checks a proxy request's credentials. A capture session (no
// token) needs none: only its own sandbox can reach its listener.
func (s *session) authorize(req *http.Request) error {
	if s.token == nil {
		return nil
	}
	values := req.Header.Values("Proxy-Authorization")
	if len(values) != 1 {
		return errNoCredentials
	}
	return checkBasicAuth(values[0], s.token)
}

// refuseUnauthorized logs a request without valid credentials and answers
// 407, naming the scheme the client must use.
func (s *session) refuseUnauthorized(c net.Conn, req *http.Request, err error) {
	kind := "http"
	if req.Method == http.MethodConnect {
		kind = "connect"
	}
	s.decide(c.RemoteAddr(), false, kind, "", 0, req.Host, err.Error())
	writeHTTPError(c, http.StatusProxyAuthRequired, "proxy authentication required", "Proxy-Authenticate: "+authRealm)
}

// socksAuthenticate answers a SOCKS5 greeting that offered methods. Without
// a token the client must offer "no authentication"; with one it must offer
// user/password and then send user "pent" and the token (RFC 1929). On
// failure the client has been told, and the connection must be closed.
func socksAuthenticate(r io.Reader, w io.Writer, methods, token []byte) error {
	want := byte(socksNoAuth)
	if token != nil {
		want = socksUserPass
	}
	if !slices.Contains(methods, want) {
		_, _ = w.Write([]byte{5, socksNoAcceptable})
		if token != nil {
			return fmt.Errorf("socks5 client offers no user/password authentication: %w", errNoCredentials)
		}
		return errors.New("socks5 client offers no method without authentication")
	}
	if _, err := w.Write([]byte{5, want}); err != nil {
		return fmt.Errorf("socks5 greeting reply: %w", err)
	}
	if token == nil {
		return nil
	}
	user, pass, err := readUserPass(r)
	if err != nil {
		_, _ = w.Write([]byte{userPassVersion, 1})
		return err
	}
	userOK := subtle.ConstantTimeCompare(user, []byte(SessionUser))
	passOK := subtle.ConstantTimeCompare(pass, token)
	if userOK&passOK != 1 {
		_, _ = w.Write([]byte{userPassVersion, 1})
		return fmt.Errorf("socks5 authentication failed: %w", errNoCredentials)
	}
	if _, err := w.Write([]byte{userPassVersion, 0}); err != nil {
		return fmt.Errorf("socks5 authentication reply: %w", err)
	}
	return nil
}

// readUserPass reads an RFC 1929 request: version 1, then the user name and
// the password, each preceded by its length.
func readUserPass(r io.Reader) (user, pass []byte, err error) {
	ver := make([]byte, 1)
	if _, err := io.ReadFull(r, ver); err != nil {
		return nil, nil, fmt.Errorf("socks5 authentication: %w", err)
	}
	if ver[0] != userPassVersion {
		return nil, nil, fmt.Errorf("socks5 authentication version %d is not 1", ver[0])
	}
	if user, err = readLengthPrefixed(r); err != nil {
		return nil, nil, fmt.Errorf("socks5 user name: %w", err)
	}
	if pass, err = readLengthPrefixed(r); err != nil {
		return nil, nil, fmt.Errorf("socks5 password: %w", err)
	}
	return user, pass, nil
}

func readLengthPrefixed(r io.Reader) ([]byte, error) {
	l := make([]byte, 1)
	if _, err := io.ReadFull(r, l); err != nil {
		return nil, err
	}
	b := make([]byte, l[0])
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
