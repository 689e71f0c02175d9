package proxy

import (
	"context"
	"os"
	"testing"
)

// TestStartSession: StartSession returns once the session serves, and done
// reports its end; sockets it cannot serve are refused before it returns.
func TestStartSession(t *testing.T) {
	pol, err := Compile(Settings{Allow: []string{"a.test"}, UpstreamDNS: []string{"127.0.0.1:9"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(pol, nil)
	files, _, _, _ := captureLikeFiles(t)
	ctx, cancel := context.WithCancel(context.Background())
	done, err := p.StartSession(ctx, SessionInfo{ID: "start"}, files...)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().Sessions; got != 1 {
		t.Errorf("StartSession returned with %d sessions serving, want 1", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("the session ended with %v", err)
	}

	r, w, err := os.Pipe() // not sockets
	if err != nil {
		t.Fatal(err)
	}
	if done, err := p.StartSession(context.Background(), SessionInfo{ID: "bad"}, r, w, r); err == nil || done != nil {
		t.Errorf("StartSession with pipes = %v, %v; want an error", done, err)
	}
}
