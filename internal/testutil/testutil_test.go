package testutil

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
)

// TestFDs: a new pipe adds two descriptors to every count that keeps pipes
// and none to one that leaves them out, for this process named either way.
func TestFDs(t *testing.T) {
	tests := []struct {
		name      string
		pid       int
		keep      func(string) bool
		wantAdded int
	}{
		{"all, self", 0, nil, 2},
		{"all, by pid", os.Getpid(), nil, 2},
		{"pipes", 0, IsPipe, 2},
		{"not pipes", os.Getpid(), NotPipe, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := FDs(t, tt.pid, tt.keep)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			after := FDs(t, tt.pid, tt.keep)
			r.Close()
			w.Close()
			if after-before != tt.wantAdded {
				t.Errorf("a pipe added %d descriptors to the count, want %d", after-before, tt.wantAdded)
			}
		})
	}
}

// TestServeBanner: every connection gets the banner and is counted.
func TestServeBanner(t *testing.T) {
	var hits atomic.Int32
	addr := ServeBanner(t, "tcp", "127.0.0.1:0", "HELLO\n", &hits)
	for i := range 3 {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "HELLO\n" {
			t.Fatalf("connection %d read %q, %v; want the banner and EOF", i, got, err)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("counted %d connections, want 3", n)
	}
}
