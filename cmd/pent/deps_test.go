package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// daemonPackages are what the proxy needs (HTTP, TLS, DNS, file watching):
// Go initialises every package a binary links, so what a prompt or a
// sandbox's start runs must not reach them.
var daemonPackages = []string{
	"github.com/pent-sandbox/pent/proxy",
	"net/http",
	"crypto/tls",
	"crypto/x509",
	"github.com/miekg/dns",
	"github.com/fsnotify/fsnotify",
}

// TestHotPathDeps: the packages of the paths a user waits on — `pent
// export` on every cd (hook, shells, config, trust) and the init stage in
// every sandbox (sandbox) — link none of the daemon's packages.
func TestHotPathDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("this test lists dependencies with the go command: %v", err)
	}
	const mod = "github.com/pent-sandbox/pent/"
	for _, pkg := range []string{"hook", "shells", "config", "trust", "profiles", "scope", "termtext", "sandbox"} {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v: %s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		for _, heavy := range daemonPackages {
			if slices.Contains(deps, heavy) {
				t.Errorf("package %s depends on %s; keep the daemon's packages out of the hot paths", pkg, heavy)
			}
		}
	}
}
