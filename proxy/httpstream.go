package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A plain-HTTP stream from a sandboxed client (a transparent connection, or
// a CONNECT or SOCKS tunnel that carries HTTP) is relayed one request at a
// time: each request head is parsed strictly and its host checked before any
// byte of it goes upstream, and its body is framed so that the next request
// is found where the server will find it. What cannot be framed without
// guessing how the server reads it ends the connection.

// Limits of the request framer.
const (
	maxMethodLen    = 32
	maxChunkLineLen = 4096
)

// requestHead is what the relay needs from one HTTP/1 request head.
type requestHead struct {
	size    int    // bytes of the head, through the blank line
	host    string // the canonical host the request names (absolute-form target, else Host)
	chunked bool   // the body is chunked
	length  int64  // the body's Content-Length when not chunked
}

// errNotHTTP means the bytes are not an HTTP/1 request line.
var errNotHTTP = errors.New("not an HTTP/1 request")

// errHTTP09 refuses a request line without a version, which servers that
// still speak HTTP/0.9 answer.
var errHTTP09 = errors.New("HTTP/0.9 request line (no version) is not relayed")

// isTchar reports whether c may appear in an HTTP token (RFC 9110 5.6.2).
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// httpBlanks are the bytes lenient servers skip before a request line or
// take as the space after its method.
const httpBlanks = " \t\r\n\v\f"

// sniffRequestLine reports whether b may start an HTTP/1 request as the
// most lenient server reads one, so that anything a server could take for
// a request is checked: after any blank bytes (servers skip empty lines), a
// method token of any length, a blank, and a first line that names an HTTP
// version — or a path and no version (HTTP/0.9), which is refused. It
// returns errIncomplete while b could still become one, errNotHTTP when no
// server reads b as a request.
func sniffRequestLine(b []byte) error {
	start := len(b) - len(bytes.TrimLeft(b, httpBlanks))
	end := start
	for end < len(b) && isTchar(b[end]) {
		end++
	}
	switch {
	case end == len(b):
		return incompleteBelow(len(b), "request line")
	case end == start || strings.IndexByte(httpBlanks, b[end]) < 0:
		return errNotHTTP
	}
	eol := bytes.IndexByte(b[end:], '\n')
	if eol < 0 {
		return incompleteBelow(len(b), "request line")
	}
	line := b[start : end+eol]
	if bytes.Contains(bytes.ToUpper(line), []byte("HTTP/")) {
		return nil
	}
	target := bytes.ToLower(bytes.TrimLeft(b[end:end+eol], httpBlanks))
	if bytes.HasPrefix(target, []byte("/")) || bytes.HasPrefix(target, []byte("http://")) || bytes.HasPrefix(target, []byte("https://")) {
		return errHTTP09
	}
	return errNotHTTP
}

// incompleteBelow is errIncomplete while n bytes of a head are fewer than
// maxHeadSize, and a refusal once they are not.
func incompleteBelow(n int, what string) error {
	if n >= maxHeadSize {
		return fmt.Errorf("HTTP %s larger than %d bytes", what, maxHeadSize)
	}
	return errIncomplete
}

// parseRequestHead parses the HTTP/1 request head at the start of b strictly:
// CRLF line ends only, no control bytes, no obs-fold, one Host, an origin-,
// absolute- or asterisk-form target, a body framed by one Content-Length or
// by chunked alone, no CONNECT and no Upgrade (h2c included). It returns
// errIncomplete until the blank line is in b.
func parseRequestHead(b []byte, defaultPort int) (requestHead, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	head := b
	if end >= 0 {
		head = b[:end]
	}
	for i, c := range head {
		if c == '\n' && (i == 0 || head[i-1] != '\r') {
			return requestHead{}, errors.New("HTTP request line or header ends in a bare LF")
		}
	}
	if end < 0 {
		return requestHead{}, incompleteBelow(len(b), "request head")
	}
	h := requestHead{size: end + 4}
	lines := strings.Split(string(b[:end]), "\r\n")
	for _, l := range lines {
		if i := strings.IndexFunc(l, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }); i >= 0 {
			return h, fmt.Errorf("control byte %q in HTTP request head", l[i])
		}
	}
	target, http10, err := parseRequestLine(lines[0])
	if err != nil {
		return h, err
	}
	var hosts, lengths, encodings []string
	for _, l := range lines[1:] {
		name, value, err := parseHeaderLine(l)
		if err != nil {
			return h, err
		}
		switch strings.ToLower(name) {
		case "host":
			hosts = append(hosts, value)
		case "content-length":
			lengths = append(lengths, value)
		case "transfer-encoding":
			encodings = append(encodings, value)
		case "upgrade", "http2-settings":
			return h, fmt.Errorf("HTTP %s is refused on a checked connection (h2c and WebSocket over plain HTTP are not relayed; use TLS)", name)
		}
	}
	if len(hosts) != 1 {
		return h, fmt.Errorf("HTTP request with %d Host headers, want exactly one", len(hosts))
	}
	claims := hosts
	if target != "" {
		claims = append(claims, target)
	}
	for _, c := range claims {
		host, _, err := splitHostPort(c, defaultPort)
		if err != nil {
			return h, fmt.Errorf("HTTP Host: %w", err)
		}
		if h.host != "" && host != h.host {
			return h, fmt.Errorf("HTTP request names two hosts, %q and %q", h.host, host)
		}
		h.host = host
	}
	if http10 && len(encodings) > 0 {
		return h, errors.New("HTTP/1.0 request with Transfer-Encoding (servers disagree on its framing)")
	}
	h.chunked, h.length, err = bodyFraming(lengths, encodings)
	return h, err
}

// parseRequestLine checks "METHOD SP target SP HTTP/1.x" and returns the
// authority of an absolute-form target ("" for origin- and asterisk-form)
// and whether the version is HTTP/1.0.
func parseRequestLine(line string) (string, bool, error) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || len(method) > maxMethodLen || strings.IndexFunc(method, func(r rune) bool { return r > 0x7f || !isTchar(byte(r)) }) >= 0 {
		return "", false, fmt.Errorf("malformed HTTP request line %q", line)
	}
	if version != "HTTP/1.1" && version != "HTTP/1.0" {
		return "", false, fmt.Errorf("HTTP version %q is not relayed", version)
	}
	if strings.EqualFold(method, "CONNECT") {
		return "", false, errors.New("HTTP CONNECT is refused inside a checked connection")
	}
	switch {
	case target == "*" || strings.HasPrefix(target, "/"):
		return "", version == "HTTP/1.0", nil
	case strings.HasPrefix(strings.ToLower(target), "http://"), strings.HasPrefix(strings.ToLower(target), "https://"):
		_, after, _ := strings.Cut(target, "://")
		authority := after
		if i := strings.IndexAny(after, "/?#"); i >= 0 {
			authority = after[:i]
		}
		if authority == "" || strings.Contains(authority, "@") {
			return "", false, fmt.Errorf("HTTP request target %q has no plain host", target)
		}
		return authority, version == "HTTP/1.0", nil
	}
	return "", false, fmt.Errorf("HTTP request target %q is neither origin- nor absolute-form", target)
}

// parseHeaderLine splits "Name: value"; a folded line (obs-fold) or a name
// that is not a token is an error.
func parseHeaderLine(l string) (string, string, error) {
	name, value, ok := strings.Cut(l, ":")
	if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isTchar(byte(r)) }) >= 0 {
		return "", "", fmt.Errorf("malformed HTTP header line %q (folded or not a token)", l)
	}
	return name, strings.Trim(value, " \t"), nil
}

// bodyFraming decides how the request body ends: by one Content-Length
// (repeats must agree), by chunked as the only transfer coding, or at once.
func bodyFraming(lengths, encodings []string) (chunked bool, length int64, err error) {
	switch {
	case len(encodings) > 0 && len(lengths) > 0:
		return false, 0, errors.New("HTTP request with both Content-Length and Transfer-Encoding")
	case len(encodings) > 1 || len(encodings) == 1 && !strings.EqualFold(encodings[0], "chunked"):
		return false, 0, fmt.Errorf("HTTP Transfer-Encoding %q cannot be framed (only \"chunked\" is)", strings.Join(encodings, ", "))
	case len(encodings) == 1:
		return true, 0, nil
	}
	for _, l := range lengths {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 || l[0] == '+' || (len(lengths) > 1 && l != lengths[0]) {
			return false, 0, fmt.Errorf("HTTP Content-Length %q cannot be framed", strings.Join(lengths, ", "))
		}
		length = n
	}
	return false, length, nil
}

// relayHTTPRequests forwards the client's requests from br to up, one at a
// time, each only after its head named host name. It returns nil when the
// client ends the stream between requests; a request for another host, or
// one that cannot be parsed or framed, is a denial.
func relayHTTPRequests(br *bufio.Reader, up io.Writer, name string, port int) error {
	for {
		if _, err := br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var h requestHead
		err := peekParse(br, func(b []byte) (err error) {
			h, err = parseRequestHead(b, port)
			return err
		})
		if err != nil {
			return deny("refused: %v", err)
		}
		if h.host != name {
			return deny("HTTP Host %q does not match %s, the name this connection was resolved for", h.host, name)
		}
		head, _ := br.Peek(h.size)
		if _, err := up.Write(head); err != nil {
			return err
		}
		_, _ = br.Discard(h.size)
		if h.chunked {
			err = copyChunked(up, br)
		} else {
			err = copyExactly(up, br, h.length)
		}
		if err != nil {
			return err
		}
	}
}

// copyExactly copies n bytes; a stream that ends earlier is an error.
func copyExactly(dst io.Writer, src io.Reader, n int64) error {
	if _, err := io.CopyN(dst, src, n); err != nil {
		return fmt.Errorf("HTTP request body: %w", err)
	}
	return nil
}

// copyChunked copies one chunked body (chunks, last chunk, trailers).
func copyChunked(dst io.Writer, br *bufio.Reader) error {
	for {
		line, err := readCRLFLine(br)
		if err != nil {
			return err
		}
		sizeField, _, _ := strings.Cut(strings.TrimSuffix(string(line), "\r\n"), ";")
		size, perr := strconv.ParseUint(sizeField, 16, 63)
		if perr != nil || len(sizeField) > 16 {
			return deny("refused: bad HTTP chunk size %q", sizeField)
		}
		if _, err := dst.Write(line); err != nil {
			return err
		}
		if size == 0 {
			return copyTrailers(dst, br)
		}
		if err := copyExactly(dst, br, int64(size)); err != nil {
			return err
		}
		crlf, err := readCRLFLine(br)
		if err != nil {
			return err
		}
		if len(crlf) != 2 {
			return deny("refused: HTTP chunk longer than its size")
		}
		if _, err := dst.Write(crlf); err != nil {
			return err
		}
	}
}

// copyTrailers copies trailer lines through the blank line that ends them.
func copyTrailers(dst io.Writer, br *bufio.Reader) error {
	for total := 0; ; {
		line, err := readCRLFLine(br)
		if err != nil {
			return err
		}
		if total += len(line); total > maxHeadSize {
			return deny("refused: HTTP trailers larger than %d bytes", maxHeadSize)
		}
		if len(line) > 2 {
			if _, _, err := parseHeaderLine(string(line[:len(line)-2])); err != nil {
				return deny("refused: %v", err)
			}
		}
		if _, err := dst.Write(line); err != nil {
			return err
		}
		if len(line) == 2 {
			return nil
		}
	}
}

// readCRLFLine reads one line that ends in CRLF and holds no other CR or LF.
// The returned slice is valid until the next read from br.
func readCRLFLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxChunkLineLen:
		return nil, deny("refused: HTTP chunk line longer than %d bytes", maxChunkLineLen)
	case err != nil:
		return nil, fmt.Errorf("HTTP chunked body: %w", err)
	case len(line) < 2 || line[len(line)-2] != '\r' || bytes.ContainsAny(line[:len(line)-2], "\r\n\x00"):
		return nil, deny("refused: HTTP chunk line without CRLF")
	}
	return line, nil
}
