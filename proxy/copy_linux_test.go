package proxy

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"

	"github.com/pent-sandbox/pent/internal/testutil"
)

// TestCopyConnTCP relays a stream between two loopback TCP connections and
// checks that every byte arrives (streams shorter than the smallest buffer,
// as long as it, and longer than the largest), the end of the stream is
// passed on, and the relay leaves no pipe open, unlike the pipes io.Copy
// borrows from Go's pool for splice(2), which only a garbage collection
// closes.
func TestCopyConnTCP(t *testing.T) {
	for _, size := range []int{0, 1, 32 << 10, 3<<20 + 7} {
		want := make([]byte, size)
		if _, err := rand.Read(want); err != nil {
			t.Fatal(err)
		}
		srcFar, src := tcpPair(t)
		dst, dstFar := tcpPair(t)
		go func() {
			_, _ = srcFar.Write(want)
			srcFar.Close()
		}()
		got := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(dstFar)
			got <- b
		}()
		pipesBefore := testutil.FDs(t, 0, testutil.IsPipe)
		n, err := copyConn(dst, src)
		pipesAfter := testutil.FDs(t, 0, testutil.IsPipe)
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: copyConn = %d, %v", size, n, err)
		}
		if err := dst.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if b := <-got; !bytes.Equal(b, want) {
			t.Errorf("size %d: received %d bytes that differ from the %d sent", size, len(b), size)
		}
		if pipesAfter > pipesBefore {
			t.Errorf("size %d: %d pipe descriptors before the copy, %d after it", size, pipesBefore, pipesAfter)
		}
	}
}

// TestCopyConnNotTCP falls back to io.Copy for other connections.
func TestCopyConnNotTCP(t *testing.T) {
	a, b := net.Pipe()
	c, d := net.Pipe()
	go func() {
		_, _ = a.Write([]byte("hello"))
		a.Close()
	}()
	got := make(chan string)
	go func() {
		buf, _ := io.ReadAll(d)
		got <- string(buf)
	}()
	if n, err := copyConn(c, b); n != 5 || err != nil {
		t.Fatalf("copyConn = %d, %v", n, err)
	}
	c.Close()
	if s := <-got; s != "hello" {
		t.Errorf("received %q", s)
	}
}

// tcpPair is both ends of a loopback TCP connection, closed with the test.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}
