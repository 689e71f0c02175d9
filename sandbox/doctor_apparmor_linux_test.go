package sandbox

import (
	"errors"
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
			if got := apparmorProfileLoaded([]byte(tt.list), "pent"); got != tt.want {
				t.Fatalf("apparmorProfileLoaded(%q) = %v, want %v", tt.list, got, tt.want)
			}
		})
	}
}

func FuzzApparmorProfileLoaded(f *testing.F) {
	f.Add([]byte("pent (unconfined)\n"))
	f.Add([]byte("a (enforce)\n\n (\npent"))
	f.Fuzz(func(t *testing.T, list []byte) {
		got := apparmorProfileLoaded(list, "pent")
		if got && !strings.Contains(string(list), "pent") {
			t.Fatalf("found pent in %q", list)
		}
	})
}

// TestApparmorProfileShipped: the profile the .deb ships is the one doctor
// would print for /usr/bin/pent (one text, not two to keep in step).
func TestApparmorProfileShipped(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "packaging", "apparmor", "pent"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := apparmorProfile(apparmorProfileBinary)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(shipped), "abi <")
	if i < 0 || string(shipped[i:]) != want {
		t.Fatalf("packaging/apparmor/pent after its comments:\n%s\nwant apparmorProfile(%s):\n%s", shipped[max(i, 0):], apparmorProfileBinary, want)
	}
}

func TestApparmorProfile(t *testing.T) {
	for _, exe := range []string{"/home/alice/.local/bin/pent", "/opt/pent-1.0/bin/pent", "/usr/local/bin/pent"} {
		text, err := apparmorProfile(exe)
		if err != nil {
			t.Fatal(err)
		}
		name := apparmorProfileName(exe)
		for _, want := range []string{"\nprofile " + name + " " + exe + " flags=(unconfined) {\n  userns,\n", "include if exists <local/" + name + ">"} {
			if !strings.Contains(text, want) {
				t.Errorf("profile for %s lacks %q:\n%s", exe, want, text)
			}
		}
		if got := apparmorAttachments([]byte(text)); len(got) != 1 || got[0] != (apparmorAttachment{attach: exe, userns: true}) {
			t.Errorf("profile for %s reads back as %+v", exe, got)
		}
	}
	for _, bad := range []string{"/home/a b/pent", "/home/a*/pent", "/x/{a,b}/pent", `/x/"q"/pent`, "/x/../pent", "relative/pent", "/x/pent\n", "/x/[ab]"} {
		if text, err := apparmorProfile(bad); err == nil {
			t.Errorf("apparmorProfile(%q) succeeded:\n%s", bad, text)
		}
		if fix := apparmorFix(bad); !strings.Contains(fix, "/usr/local/bin/pent") || strings.Contains(fix, "profile pent") {
			t.Errorf("apparmorFix(%q) = %q, want the advice to install in /usr/local/bin", bad, fix)
		}
	}
}

// TestApparmorProfileParses checks the generated profile with the AppArmor
// parser, without loading it (-Q: skip the kernel, -K: no cache). Debian
// 12's apparmor_parser (3.0) predates the userns rule and abi/4.0, so it
// parses the profile with those two lines written for 3.0; the userns line
// itself is checked by TestApparmorProfile. A damaged profile must fail, so
// that the check can.
func TestApparmorProfileParses(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		t.Skip("apparmor_parser is not installed (apt-get install apparmor)")
	}
	text, err := apparmorProfile("/home/alice/.local/bin/pent")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(profile string) error {
		cmd := exec.Command(parser, "-Q", "-K") // the profile on stdin
		cmd.Stdin = strings.NewReader(profile)
		if out, err := cmd.CombinedOutput(); err != nil {
			return errors.New(strings.TrimSpace(string(out)))
		}
		return nil
	}
	v3 := strings.NewReplacer("abi <abi/4.0>,", "abi <abi/3.0>,", "  userns,\n", "").Replace(text)
	if err := parse(v3); err != nil {
		t.Fatalf("apparmor_parser refuses the profile:\n%s\n%v", v3, err)
	}
	if err := parse(strings.Replace(v3, "{", "", 1)); err == nil {
		t.Fatal("apparmor_parser accepts a profile without its opening brace: this check cannot fail")
	}
}

func TestApparmorAttachments(t *testing.T) {
	tests := []struct {
		name, text string
		want       []apparmorAttachment
	}{
		{"named with path", "abi <abi/4.0>,\nprofile pent /usr/bin/pent flags=(unconfined) {\n  userns,\n}\n", []apparmorAttachment{{"/usr/bin/pent", true}}},
		{"bare path", "/opt/x/pent {\n  allow userns create,\n}\n", []apparmorAttachment{{"/opt/x/pent", true}}},
		{"quoted path", "profile p \"/home/a/bin/pent\" {\n userns ,\n}\n", []apparmorAttachment{{"/home/a/bin/pent", true}}},
		{"no userns", "profile pent /usr/bin/pent flags=(unconfined) {\n  capability,\n}\n", []apparmorAttachment{{"/usr/bin/pent", false}}},
		{"denied userns", "profile pent /usr/bin/pent {\n  deny userns,\n}\n", []apparmorAttachment{{"/usr/bin/pent", false}}},
		{"commented userns", "profile pent /usr/bin/pent {\n  # userns,\n}\n", []apparmorAttachment{{"/usr/bin/pent", false}}},
		{"userns in a child profile", "profile pent /usr/bin/pent {\n  profile child {\n    userns,\n  }\n}\n", []apparmorAttachment{{"/usr/bin/pent", false}}},
		{"no attachment", "profile unattached flags=(unconfined) {\n  userns,\n}\n", []apparmorAttachment{{"", true}}},
		{"two profiles", "/a {\n}\n/b {\n userns,\n}\n", []apparmorAttachment{{"/a", false}, {"/b", true}}},
		{"header in a comment", "# profile pent /usr/bin/pent {\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apparmorAttachments([]byte(tt.text))
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func FuzzApparmorAttachments(f *testing.F) {
	f.Add([]byte("profile pent /usr/bin/pent flags=(unconfined) {\n  userns,\n}\n"))
	f.Add([]byte("/a {\n{\n}}}\n/b {\nuserns,\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, a := range apparmorAttachments(text) {
			if a.userns && !strings.Contains(string(text), "userns") {
				t.Fatalf("userns found in %q", text)
			}
			if a.attach != "" && !strings.Contains(string(text), a.attach) {
				t.Fatalf("attachment %q not in %q", a.attach, text)
			}
		}
	})
}

// restrictedHost is a simulated Ubuntu 24.04 host: the sysctls under a
// fake /proc/sys, an empty /etc/apparmor.d, no readable loaded list.
func restrictedHost(t *testing.T, restrict string) apparmorHost {
	t.Helper()
	dir := t.TempDir()
	h := apparmorHost{
		procSys:    filepath.Join(dir, "proc", "sys"),
		profileDir: filepath.Join(dir, "etc", "apparmor.d"),
		loaded:     filepath.Join(dir, "sys", "profiles"),
		exe:        filepath.Join(dir, "home", "alice", ".local", "bin", "pent"),
	}
	for path, content := range map[string]string{
		filepath.Join(h.procSys, "kernel", "apparmor_restrict_unprivileged_userns"): restrict + "\n",
		filepath.Join(h.procSys, "user", "max_user_namespaces"):                     "63172\n",
		filepath.Join(h.profileDir, "usr.bin.man"):                                  "/usr/bin/man {\n  capability,\n}\n",
		filepath.Join(h.profileDir, "bwrap"):                                        "profile bwrap /usr/bin/bwrap flags=(unconfined) {\n  userns,\n}\n",
		filepath.Join(h.profileDir, "tunables", "global"):                           "",
		h.exe: "binary",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// TestUsernsCheckAppArmor: on a restricted host whose profiles do not cover
// the binary, the failed check prints the profile for the binary's path
// and the commands to install and load it; running the install command
// (without sudo, into the fake /etc/apparmor.d) makes the next check find
// the profile. An unrestricted host gets no AppArmor advice.
func TestUsernsCheckAppArmor(t *testing.T) {
	probeErr := errors.New("creating user, mount, PID and network namespaces failed: operation not permitted")
	h := restrictedHost(t, "1")
	c := usernsCheck(probeResult{}, probeErr, h)
	if c.OK {
		t.Fatal("check passed with a failed probe")
	}
	for _, want := range []string{"kernel.apparmor_restrict_unprivileged_userns=1", "no profile in " + h.profileDir + " grants userns to " + h.exe,
		"loaded state unknown"} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("detail lacks %q: %s", want, c.Detail)
		}
	}
	profile, err := apparmorProfile(h.exe)
	if err != nil {
		t.Fatal(err)
	}
	file := "/etc/apparmor.d/" + apparmorProfileName(h.exe)
	for _, want := range []string{"none covers " + h.exe, "sudo tee " + file + " >/dev/null <<'EOF'\n" + profile + "EOF\nsudo apparmor_parser -r " + file + "\n",
		"you can write " + filepath.Dir(h.exe)} {
		if !strings.Contains(c.Fix, want) {
			t.Errorf("fix lacks %q:\n%s", want, c.Fix)
		}
	}
	// Run the first command as printed, into the fake directory.
	install := c.Fix[strings.Index(c.Fix, "sudo tee "):strings.Index(c.Fix, "\nsudo apparmor_parser")]
	install = strings.Replace(strings.TrimPrefix(install, "sudo "), "/etc/apparmor.d", h.profileDir, 1)
	if out, err := exec.Command("sh", "-c", install).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", install, err, out)
	}
	c = usernsCheck(probeResult{}, probeErr, h)
	if want := "profile for " + h.exe + " with userns: " + filepath.Join(h.profileDir, apparmorProfileName(h.exe)); !strings.Contains(c.Detail, want) {
		t.Errorf("after installing, detail lacks %q: %s", want, c.Detail)
	}
	if strings.Contains(c.Fix, "sudo tee") {
		t.Errorf("after installing, the fix still prints a profile:\n%s", c.Fix)
	}
	if want := "sudo apparmor_parser -r " + filepath.Join(h.profileDir, apparmorProfileName(h.exe)); !strings.Contains(c.Fix, want) || strings.Contains(c.Fix, "CONFIG_USER_NS") {
		t.Errorf("after installing, the fix is not to load the profile (%s):\n%s", want, c.Fix)
	}

	for _, restrict := range []string{"0", ""} {
		h := restrictedHost(t, restrict)
		if restrict == "" {
			os.Remove(filepath.Join(h.procSys, "kernel", "apparmor_restrict_unprivileged_userns"))
		}
		c := usernsCheck(probeResult{}, probeErr, h)
		if strings.Contains(c.Fix, "AppArmor") || strings.Contains(c.Detail, "AppArmor profile") {
			t.Errorf("restrict=%q: AppArmor advice on a host without the restriction:\n%s\n%s", restrict, c.Detail, c.Fix)
		}
	}
}
