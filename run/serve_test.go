package run

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/trust"
)

// syncBuffer is a bytes.Buffer the daemon writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeProxyReloadsTrust checks the project daemon's policy: the allowed
// project's allowlist, and nothing once the project file changes without a
// new allow (the edit reloads it).
func TestServeProxyReloadsTrust(t *testing.T) {
	home, project, runtime := t.TempDir(), t.TempDir(), t.TempDir()
	file := filepath.Join(project, ".pent.toml")
	if err := os.WriteFile(file, []byte("[proxy]\ndomain_allowlist = [\"a.example\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := trust.Trust{Dir: t.TempDir()}
	snap, err := trust.ReadProject(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Allow(snap); err != nil {
		t.Fatal(err)
	}
	src := Sources{Home: home, Cwd: project, Env: map[string]string{},
		GlobalConfig: func() (string, error) { return filepath.Join(home, "pent.toml"), nil },
		Trust:        func() (trust.Trust, error) { return store, nil }}
	var errs syncBuffer
	done := make(chan error, 1)
	c, err := proxy.Ensure(runtime, project, func() error {
		go func() { done <- ServeProxy(src, project, runtime, &errs) }()
		return nil
	})
	if err != nil {
		t.Fatalf("%v; daemon said %q", err, errs.String())
	}
	policy := func() string {
		t.Helper()
		s, err := c.Status()
		if err != nil {
			t.Fatal(err)
		}
		return s.Policy
	}
	if p := policy(); !strings.Contains(p, "allow [a.example]") {
		t.Fatalf("policy %q does not allow the project's name", p)
	}

	if err := os.WriteFile(file, []byte("[proxy]\ndomain_allowlist = [\"b.example\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for p := policy(); !strings.Contains(p, "allow []"); p = policy() {
		if time.Now().After(deadline) {
			t.Fatalf("policy %q 30s after an unallowed edit, want nothing allowed; daemon said %q", p, errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errs.String(), "has no allowed .pent.toml any more") {
		t.Fatalf("the daemon did not say why it denies everything: %q", errs.String())
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeProxy: %v", err)
	}
}
