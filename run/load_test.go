package run

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/trust"
)

// TestLoadLayers checks which layers Load uses: the global file always, the
// project file only once allowed, flags last, and neither file (nor the
// trust store) with NoConfig.
func TestLoadLayers(t *testing.T) {
	home, project := t.TempDir(), t.TempDir()
	global := filepath.Join(home, "pent.toml")
	file := filepath.Join(project, ".pent.toml")
	store := trust.Trust{Dir: t.TempDir()}
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(global, "[sandbox]\nnetwork = \"localhost\"\n")
	write(file, "[sandbox]\nnetwork = \"unrestricted\"\n")
	allow := func() {
		t.Helper()
		snap, err := trust.ReadProject(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Allow(snap); err != nil {
			t.Fatal(err)
		}
	}
	refuse := func() (string, error) { return "", errors.New("asked for a config file with NoConfig") }
	noStore := func() (trust.Trust, error) {
		return trust.Trust{}, errors.New("asked for the trust store with NoConfig")
	}
	src := Sources{Home: home, Cwd: project, Env: map[string]string{},
		GlobalConfig: func() (string, error) { return global, nil },
		Trust:        func() (trust.Trust, error) { return store, nil }}

	tests := []struct {
		name        string
		allow       bool
		src         Sources
		req         LoadRequest
		wantNetwork scope.Network
		wantTrust   trust.State
		wantRoot    string
	}{
		{"untrusted project is passed over", false, src, LoadRequest{Flags: &config.File{}}, scope.NetLocalhost, trust.Unknown, ""},
		{"flags come last", false, src, LoadRequest{Flags: &config.File{Path: "command line", Network: "blocked"}}, scope.NetBlocked, trust.Unknown, ""},
		{"no config reads no file", false, Sources{Home: home, Cwd: project, Env: map[string]string{}, GlobalConfig: refuse, Trust: noStore},
			LoadRequest{NoConfig: true, Flags: &config.File{}}, scope.NetBlocked, trust.Unknown, ""},
		{"allowed project is layered", true, src, LoadRequest{Flags: &config.File{}}, scope.NetUnrestricted, trust.Allowed, project},
		{"project searched from ProjectDir", true, Sources{Home: home, Cwd: home, Env: map[string]string{}, GlobalConfig: src.GlobalConfig, Trust: src.Trust},
			LoadRequest{ProjectDir: project, Flags: &config.File{}}, scope.NetUnrestricted, trust.Allowed, project},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.allow {
				allow()
			}
			l, err := Load(tt.src, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if l.Effective.Network != tt.wantNetwork || l.Trust != tt.wantTrust || l.Root() != tt.wantRoot {
				t.Fatalf("network %s, trust %s, root %q; want %s, %s, %q", l.Effective.Network, l.Trust, l.Root(), tt.wantNetwork, tt.wantTrust, tt.wantRoot)
			}
			if l.Trusted != (l.Trust == trust.Allowed) {
				t.Fatalf("Trusted %v with trust %s", l.Trusted, l.Trust)
			}
		})
	}
}
