package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestApparmorProfileLoaded(t *testing.T) {
	tests := []struct {
		name string
		list string
		want bool
	}{
		{"loaded unconfined", "snap.lxd (enforce)\npent (unconfined)\nbwrap (unconfined)\n", true},
		{"loaded enforce, no newline", "pent (enforce)", true},
		{"absent", "bwrap (unconfined)\nchrome (unconfined)\n", false},
		{"only a prefix", "pentagon (unconfined)\n", false},
		{"a child profile", "pent//null-1 (complain)\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apparmorProfileLoaded([]byte(tt.list)); got != tt.want {
				t.Fatalf("apparmorProfileLoaded(%q) = %v, want %v", tt.list, got, tt.want)
			}
		})
	}
}

func FuzzApparmorProfileLoaded(f *testing.F) {
	f.Add([]byte("pent (unconfined)\n"))
	f.Add([]byte("a (enforce)\n\n (\npent"))
	f.Fuzz(func(t *testing.T, list []byte) {
		got := apparmorProfileLoaded(list)
		if got && !strings.Contains(string(list), "pent") {
			t.Fatalf("found pent in %q", list)
		}
	})
}

// TestApparmorFixCommands runs the commands the fix prints (without sudo,
// on a copy of the shipped profile) and checks the profile then names the
// binary doctor ran as.
func TestApparmorFixCommands(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "packaging", "apparmor", "pent"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		exe      string
		wantLine string // the profile line after the fix; "" when the fix asks for a manual edit
	}{
		{"/usr/bin/pent", "profile pent /usr/bin/pent flags=(unconfined) {"},
		{"/usr/local/bin/pent", "profile pent /usr/local/bin/pent flags=(unconfined) {"},
		{"/opt/pent-1.0/bin/pent", "profile pent /opt/pent-1.0/bin/pent flags=(unconfined) {"},
		{"/home/a|b/pent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.exe, func(t *testing.T) {
			fix := apparmorFix(tt.exe)
			for _, want := range []string{"sudo install -m644 packaging/apparmor/pent /etc/apparmor.d/pent", "sudo apparmor_parser -r /etc/apparmor.d/pent"} {
				if !strings.Contains(fix, want) {
					t.Fatalf("fix %q does not say %q", fix, want)
				}
			}
			if tt.wantLine == "" {
				if !strings.Contains(fix, "edit /usr/bin/pent in /etc/apparmor.d/pent to "+tt.exe) {
					t.Fatalf("fix %q does not ask for the manual edit", fix)
				}
				return
			}
			profile := filepath.Join(t.TempDir(), "pent")
			if err := os.WriteFile(profile, shipped, 0o644); err != nil {
				t.Fatal(err)
			}
			_, cmds, _ := strings.Cut(fix, ": ")
			cmds, _, _ = strings.Cut(cmds, " (")
			for _, c := range strings.Split(cmds, " && ") {
				c = strings.TrimPrefix(c, "sudo ")
				if !strings.HasPrefix(c, "sed ") {
					continue // install and apparmor_parser touch the real system
				}
				c = strings.ReplaceAll(c, "/etc/apparmor.d/pent", profile)
				if out, err := exec.Command("sh", "-c", c).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", c, err, out)
				}
			}
			got, err := os.ReadFile(profile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), "\n"+tt.wantLine+"\n") {
				t.Fatalf("after the fix the profile does not contain %q:\n%s", tt.wantLine, got)
			}
		})
	}
}
