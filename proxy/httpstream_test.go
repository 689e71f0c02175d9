package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseRequestHead(t *testing.T) {
	tests := []struct {
		name, in string
		host     string // "" means an error is wanted
		chunked  bool
		length   int64
	}{
		{"origin form", "GET /x HTTP/1.1\r\nHost: WWW.Test:8080\r\n\r\nbody", "www.test", false, 0},
		{"lower-case method", "get / HTTP/1.1\r\nhost: a.test\r\n\r\n", "a.test", false, 0},
		{"absolute form", "GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", "a.test", false, 0},
		{"absolute form names another host", "GET http://evil.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"content-length", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\n", "a.test", false, 5},
		{"repeated equal content-length", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", "a.test", false, 5},
		{"chunked", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: Chunked\r\n\r\n", "a.test", true, 0},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n", "a.test", false, 0},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "::1", false, 0},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a.test\r\nHost: evil.test\r\n\r\n", "", false, 0},
		{"no host", "GET / HTTP/1.0\r\n\r\n", "", false, 0},
		{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", "", false, 0},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a.test\r\n evil.test\r\n\r\n", "", false, 0},
		{"space before colon", "GET / HTTP/1.1\r\nHost : evil.test\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"bare LF", "GET / HTTP/1.1\r\nHost: a.test\nHost: evil.test\r\n\r\n", "", false, 0},
		{"bare CR", "GET / HTTP/1.1\r\nX: 1\rHost: evil.test\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"NUL in host", "GET / HTTP/1.1\r\nHost: a.test\x00.evil.test\r\n\r\n", "", false, 0},
		{"NUL in absolute target", "GET http://a.test%00.evil/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"userinfo", "GET http://a.test@evil.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"CONNECT", "CONNECT evil.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"h2c upgrade", "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAA\r\n\r\n", "", false, 0},
		{"websocket upgrade", "GET / HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n\r\n", "", false, 0},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "", false, 0},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "", false, 0},
		{"TE not chunked", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "", false, 0},
		{"two TE", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "", false, 0},
		{"differing CL", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "", false, 0},
		{"CL list", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3, 3\r\n\r\n", "", false, 0},
		{"CL sign", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: +3\r\n\r\n", "", false, 0},
		{"bad target", "GET a.test HTTP/1.1\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"bad version", "GET / HTTP/1.2\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: evil.test\n\n", "", false, 0},
		{"empty line first", "\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n", "", false, 0},
		{"TE on HTTP/1.0", "POST / HTTP/1.0\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseRequestHead([]byte(tt.in), 80)
			if tt.host == "" {
				if err == nil || errors.Is(err, errIncomplete) {
					t.Fatalf("want an error, got %+v, %v", h, err)
				}
				return
			}
			if err != nil || h.host != tt.host || h.chunked != tt.chunked || h.length != tt.length {
				t.Fatalf("got %+v, %v; want host %q chunked %v length %d", h, err, tt.host, tt.chunked, tt.length)
			}
			if !strings.HasSuffix(tt.in[:h.size], "\r\n\r\n") {
				t.Fatalf("size %d does not end at the blank line", h.size)
			}
		})
	}
	if _, err := parseRequestHead([]byte("GET / HTTP/1.1\r\nHost: a"), 80); !errors.Is(err, errIncomplete) {
		t.Fatalf("incomplete head: %v", err)
	}
}

func TestSniffRequestLine(t *testing.T) {
	tests := []struct {
		in   string
		want error // nil: HTTP
	}{
		{"GE", errIncomplete},
		{"get / HT", errIncomplete},
		{"get / HTTP/1.1\r\n", nil},
		{"PuT /x http/1.1\r\n", nil},
		{"SSH-2.0-OpenSSH_9.6\r\n", errNotHTTP},
		{"\x16\x03\x01", errNotHTTP},
		{"HELO mail.test\r\n", errNotHTTP},
		{"*1\r\n$4\r\nPING\r\n", errNotHTTP},
		{"\x00\x00\x00\x08\x04\xd2\x16\x2f", errNotHTTP},
		{"AB\x00 / HTTP/1.1\r\n", errNotHTTP},
		// Servers read these as requests: never relayed unchecked.
		{strings.Repeat("A", 40) + " / HTTP/1.1\r\n", nil},
		{strings.Repeat("A", 40), errIncomplete},
		{"\r\nGET / HTTP/1.1\r\n", nil},
		{"\n\nGET / HTTP/1.1\r\n", nil},
		{" \tGET / HTTP/1.1\r\n", nil},
		{"\r\n", errIncomplete},
		{"GET\t/ HTTP/1.1\r\n", nil},
		{"GET / HTTP/1.1\n", nil},
		{"GET /x\x01 HTTP/1.1\r\n", nil},
		{"GET / HTTP/1.1", errIncomplete},
		{"GET /\r\n", errHTTP09},
		{"get http://evil.test/\r\n", errHTTP09},
	}
	for _, tt := range tests {
		if err := sniffRequestLine([]byte(tt.in)); !errors.Is(err, tt.want) && err != tt.want {
			t.Errorf("sniffRequestLine(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestRelayHTTPRequests(t *testing.T) {
	const ok1 = "GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n"
	const post = "POST /2 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 40\r\n\r\n" +
		"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\nxxxxx" // a body that looks like a request
	const chunked = "POST /3 HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"1e;ext=1\r\nGET / HTTP/1.1\r\nHost: evil.tes\r\n0\r\nTrailer: x\r\n\r\n"
	tests := []struct {
		name, in  string
		forwarded string // what reaches upstream
		denied    bool
	}{
		{"keep-alive then another host", ok1 + "GET /2 HTTP/1.1\r\nHost: evil.test\r\n\r\n", ok1, true},
		{"pipelined lower-case", ok1 + "get /2 HTTP/1.1\r\nHost: evil.test\r\n\r\n", ok1, true},
		{"body framed by length", post + ok1, post + ok1, false},
		{"chunked body", chunked + ok1, chunked + ok1, false},
		{"after a chunked body", chunked + "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", chunked, true},
		{"unframeable second request", ok1 + "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip\r\n\r\n", ok1, true},
		{"not HTTP after a request", ok1 + "\x16\x03\x01\x00\x05hello", ok1, true},
		{"empty line before a request", ok1 + "\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", ok1, true},
		{"bare LF line ends", ok1 + "GET / HTTP/1.1\nHost: evil.test\n\n", ok1, true},
		{"long method", ok1 + strings.Repeat("A", 40) + " / HTTP/1.1\r\nHost: a.test\r\n\r\n" + ok1, ok1, true},
		{"Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", true},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"chunk longer than its size", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na", true},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), relayBufferSize)
			if oneByte { // requests split across segments
				r = bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tt.in)), relayBufferSize)
			}
			var up bytes.Buffer
			err := relayHTTPRequests(r, &up, "a.test", 80)
			if up.String() != tt.forwarded {
				t.Errorf("%s (one byte %v): forwarded %q, want %q", tt.name, oneByte, up.String(), tt.forwarded)
			}
			if isDenial(err) != tt.denied || (!tt.denied && err != nil) {
				t.Errorf("%s (one byte %v): err %v, want denied %v", tt.name, oneByte, err, tt.denied)
			}
		}
	}
}

func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET http://www.test/ HTTP/1.1\r\nHost: www.test\r\n\r\n",
		"get / HTTP/1.1\r\nHost: www.test\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: [::1]:80\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: www.test\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: www.test\r\n\r\n" + strings.Repeat("A", 40) + " / HTTP/1.1\r\nHost: www.test\r\n\r\n",
		"GET / HTTP/1.1\nHost: www.test\n\n",
		"POST / HTTP/1.0\r\nHost: www.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseRequestHead(b, 80)
		if err == nil {
			if h.size < 4 || h.size > len(b) || h.length < 0 || (h.chunked && h.length != 0) {
				t.Fatalf("bad head %+v for %d bytes", h, len(b))
			}
			if bytes.IndexByte(b[:h.size], 0) >= 0 {
				t.Fatalf("accepted a head with NUL: %q", b[:h.size])
			}
			if a, aerr := CanonicalName(h.host); h.host == "" || (aerr == nil && a != h.host) {
				t.Fatalf("host %q is not canonical", h.host)
			}
		}
		// The stream framer never forwards a request for another host, and
		// forwards only whole requests' prefixes of the input.
		var up bytes.Buffer
		_ = relayHTTPRequests(bufio.NewReaderSize(bytes.NewReader(b), relayBufferSize), &up, "www.test", 80)
		if !bytes.HasPrefix(b, up.Bytes()) {
			t.Fatalf("forwarded bytes that are not a prefix of the input")
		}
		if up.Len() > 0 {
			if h, err := parseRequestHead(up.Bytes(), 80); err != nil || h.host != "www.test" {
				t.Fatalf("forwarded a request that is not for www.test: %q (%v)", up.Bytes(), err)
			}
		}
	})
}

// FuzzSniffRequestLine: a decision is final (more bytes never turn "not
// HTTP" into HTTP or back), and "not HTTP" is never said of bytes whose first
// line, after the blank bytes servers skip, is a token, blanks and a line
// that names an HTTP version.
func FuzzSniffRequestLine(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\n",
		"\r\nGET / HTTP/1.1\r\n",
		strings.Repeat("A", 40) + " / HTTP/1.1\r\n",
		"GET /\r\n",
		"SSH-2.0-x\r\n",
		"\x16\x03\x01",
		"HELO x\r\n",
	} {
		f.Add([]byte(s), []byte("GET / HTTP/1.1\r\n"))
	}
	f.Fuzz(func(t *testing.T, b, more []byte) {
		err := sniffRequestLine(b)
		if errors.Is(err, errIncomplete) {
			return
		}
		if later := sniffRequestLine(append(slices.Clone(b), more...)); (err == nil) != (later == nil) || errors.Is(err, errNotHTTP) != errors.Is(later, errNotHTTP) {
			t.Fatalf("sniffRequestLine(%q) = %v but with %q appended %v", b, err, more, later)
		}
		if !errors.Is(err, errNotHTTP) {
			return
		}
		rest := bytes.TrimLeft(b, " \t\r\n\v\f")
		method := bytes.IndexFunc(rest, func(r rune) bool { return r > 0x7f || !isTchar(byte(r)) })
		if line, _, ok := bytes.Cut(rest, []byte("\n")); ok && method > 0 && strings.IndexByte(" \t\v\f\r", rest[method]) >= 0 &&
			bytes.Contains(bytes.ToUpper(line), []byte("HTTP/")) {
			t.Fatalf("sniffRequestLine(%q) says not HTTP", b)
		}
	})
}
