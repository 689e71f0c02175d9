package proxy

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// clientHello returns the bytes a Go TLS client sends first for sni.
func clientHello(t testing.TB, sni string) []byte {
	t.Helper()
	return firstFlight(t, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
}

// echClientHello returns the outer ClientHello a Go TLS client sends with
// Encrypted Client Hello to a server whose ECH configuration names
// publicName: its SNI is publicName, and inner, the name the client really
// asks for, is only in the encrypted inner hello.
func echClientHello(t testing.TB, inner, publicName string) []byte {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return firstFlight(t, &tls.Config{
		ServerName: inner, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13,
		EncryptedClientHelloConfigList: echConfigList(key.PublicKey().Bytes(), publicName),
	})
}

// echConfigList encodes one ECHConfig (draft-ietf-tls-esni, version
// 0xfe0d): X25519, HKDF-SHA256, AES-128-GCM, the given public name.
func echConfigList(pub []byte, publicName string) []byte {
	u16 := func(b []byte, v int) []byte { return append(b, byte(v>>8), byte(v)) }
	var c []byte
	c = append(c, 1)                        // config_id
	c = u16(c, 0x0020)                      // KEM: DHKEM(X25519, HKDF-SHA256)
	c = append(u16(c, len(pub)), pub...)    // public_key
	c = u16(u16(u16(c, 4), 0x0001), 0x0001) // cipher_suites: HKDF-SHA256, AES-128-GCM
	c = append(c, 0)                        // maximum_name_length
	c = append(append(c, byte(len(publicName))), publicName...)
	c = u16(c, 0) // extensions
	cfg := append(u16(u16(nil, 0xfe0d), len(c)), c...)
	return append(u16(nil, len(cfg)), cfg...)
}

// firstFlight returns the bytes a Go TLS client with cfg sends first.
func firstFlight(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		c := tls.Client(a, cfg)
		_ = c.Handshake()
	}()
	defer a.Close()
	defer b.Close()
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if _, perr := handshakeBytes(out); perr == nil || err != nil {
			return out
		}
	}
}

// splitRecords re-frames one handshake record as several small records.
func splitRecords(rec []byte, size int) []byte {
	body := rec[5:]
	var out []byte
	for len(body) > 0 {
		n := min(size, len(body))
		out = append(out, 0x16, 3, 1, byte(n>>8), byte(n))
		out = append(out, body[:n]...)
		body = body[n:]
	}
	return out
}

// sniExtension builds a server_name extension body from (type, name) entries.
func sniExtension(entries ...any) []byte {
	var list []byte
	for i := 0; i < len(entries); i += 2 {
		name := entries[i+1].(string)
		list = append(list, entries[i].(byte), byte(len(name)>>8), byte(len(name)))
		list = append(list, name...)
	}
	return append([]byte{byte(len(list) >> 8), byte(len(list))}, list...)
}

func TestParseSNIExtension(t *testing.T) {
	tests := []struct {
		name string
		ext  []byte
		want string // "" means refused
	}{
		{"one host_name", sniExtension(byte(0), "A.test"), "a.test"},
		{"two host_names", sniExtension(byte(0), "a.test", byte(0), "evil.test"), ""},
		{"another type before host_name", sniExtension(byte(1), "evil.test", byte(0), "a.test"), ""},
		{"another type after host_name", sniExtension(byte(0), "a.test", byte(7), "evil.test"), ""},
		{"only another type", sniExtension(byte(1), "evil.test"), ""},
		{"empty list", sniExtension(), ""},
	}
	for _, tt := range tests {
		got, err := parseSNIExtension(tt.ext)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestParseClientHello(t *testing.T) {
	hello := clientHello(t, "WWW.Example.test")
	if sni, err := parseClientHello(hello); err != nil || sni != "www.example.test" {
		t.Fatalf("SNI = %q, %v", sni, err)
	}
	if sni, err := parseClientHello(splitRecords(hello, 100)); err != nil || sni != "www.example.test" {
		t.Fatalf("split records: SNI = %q, %v", sni, err)
	}
	if _, err := parseClientHello(hello[:len(hello)-1]); !errors.Is(err, errIncomplete) {
		t.Fatalf("short hello: %v", err)
	}
	if sni, err := parseClientHello(clientHello(t, "")); err != nil || sni != "" {
		t.Fatalf("no SNI: %q, %v", sni, err)
	}
	for _, bad := range [][]byte{{0x17, 3, 1, 0, 1, 0}, {0x16, 3, 1, 0, 4, 2, 0, 0, 0}, {0x16, 3, 1, 0, 0}} {
		if _, err := parseClientHello(bad); err == nil || errors.Is(err, errIncomplete) {
			t.Errorf("%x: want a parse error, got %v", bad, err)
		}
	}
}

// TestParseClientHelloECH: with Encrypted Client Hello the SNI the sniffer
// reads, and the proxy decides, is the outer one (the ECH configuration's
// public name); the inner name is not in the clear.
func TestParseClientHelloECH(t *testing.T) {
	for _, tc := range []struct{ inner, public string }{
		{"evil.test", "www.test"},
		{"www.test", "evil.test"},
	} {
		hello := echClientHello(t, tc.inner, tc.public)
		if !bytes.Contains(hello, []byte{0xfe, 0x0d}) || bytes.Contains(hello, []byte(tc.inner)) {
			t.Fatalf("inner %s, public %s: not an ECH hello (no extension 0xfe0d, or the inner name in the clear)", tc.inner, tc.public)
		}
		for _, b := range [][]byte{hello, splitRecords(hello, 64)} {
			if sni, err := parseClientHello(b); err != nil || sni != tc.public {
				t.Errorf("inner %s, public %s: SNI = %q, %v; want the outer %s", tc.inner, tc.public, sni, err, tc.public)
			}
		}
	}
}

func FuzzParseClientHello(f *testing.F) {
	hello := clientHello(f, "www.example.test")
	f.Add(hello)
	f.Add(splitRecords(hello, 50))
	f.Add(hello[:60])
	f.Add(echClientHello(f, "inner.example.test", "www.example.test"))
	f.Add([]byte{0x16, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		sni, err := parseClientHello(b)
		if err == nil && sni != "" {
			if n, cerr := CanonicalName(sni); cerr != nil || n != sni {
				t.Fatalf("SNI %q is not canonical", sni)
			}
		}
	})
}

func TestSplitHostPort(t *testing.T) {
	if h, p, err := splitHostPort("WWW.Test:8080", 80); err != nil || h != "www.test" || p != 8080 {
		t.Fatalf("splitHostPort = %q %d %v", h, p, err)
	}
	for _, bad := range []string{"a.test:0", "a.test:99999", "a..test", "bü.test:80", "a.test:x", "a\x00.test", "a.test\x00.evil", "a b.test", "a%00.test"} {
		if _, _, err := splitHostPort(bad, 80); err == nil {
			t.Errorf("splitHostPort(%q) succeeded", bad)
		}
	}
}

func TestSOCKS5(t *testing.T) {
	tests := []struct {
		in      string
		want    socksTarget
		wantErr bool
		reply   string
	}{
		{"\x05\x01\x00\x05\x01\x00\x03\x08www.test\x01\xbb", socksTarget{name: "www.test", port: 443}, false, "\x05\x00"},
		{"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", socksTarget{addr: mustAddr("127.0.0.1"), port: 80}, false, "\x05\x00"},
		{"\x05\x01\x02", socksTarget{}, true, "\x05\xff"},
		{"\x05\x01\x00\x05\x02\x00\x01", socksTarget{}, true, "\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00"},
		{"\x04\x01", socksTarget{}, true, ""},
		{"\x05\x01\x00\x05\x01\x00\x03\x03a b\x00\x50", socksTarget{}, true, "\x05\x00\x05\x08\x00\x01\x00\x00\x00\x00\x00\x00"},
		{"\x05\x01\x00\x05\x01\x00\x03\x01a\x00\x00", socksTarget{name: "a"}, true, "\x05\x00\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		got, err := readSOCKS5(bytes.NewReader([]byte(tc.in)), &out, nil)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) || out.String() != tc.reply {
			t.Errorf("%q: got %+v, %v, reply %q", tc.in, got, err, out.String())
		}
	}
}

func FuzzSOCKS5(f *testing.F) {
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x08www.test\x01\xbb"))
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x16"))
	f.Add([]byte("\x05\x02\x00\x02\x05\x03\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readSOCKS5(bytes.NewReader(b), io.Discard, nil)
		if err == nil && (got.port < 1 || (got.name == "") == !got.addr.IsValid()) {
			t.Fatalf("accepted a bad target %+v", got)
		}
	})
}
