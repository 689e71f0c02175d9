package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Ubuntu 23.10 and later (kernel.apparmor_restrict_unprivileged_userns=1)
// let a program create unprivileged user namespaces only when an AppArmor
// profile attached to its path grants `userns`. The .deb ships one for
// /usr/bin/pent (packaging/apparmor/pent, which is apparmorProfile's text
// for that path); a pent installed elsewhere (./install.sh puts it in
// ~/.local/bin) needs its own, which doctor prints.

// apparmorHost is where the AppArmor facts of a host are read: the real
// places in HostChecks, fixtures in tests.
type apparmorHost struct {
	// procSys is /proc/sys.
	procSys string
	// profileDir is /etc/apparmor.d, the profiles loaded at boot.
	profileDir string
	// loaded is /sys/kernel/security/apparmor/profiles, the loaded
	// profiles (root only).
	loaded string
	// exe is the real path of the running pent binary.
	exe string
}

// apparmorProfileBinary is the path the AppArmor profile pent ships
// (packaging/apparmor/pent, /etc/apparmor.d/pent in the .deb) applies to.
const apparmorProfileBinary = "/usr/bin/pent"

// apparmorMaxProfile bounds how much of one profile file is read.
const apparmorMaxProfile = 1 << 20

// apparmorSafePath matches the binary paths a generated profile may name:
// no AppArmor glob or quoting characters, no spaces.
var apparmorSafePath = lazyRegexp(`^/[A-Za-z0-9/._+@-]*$`)

// apparmorProfileName is the profile (and file) name for the binary at exe:
// pent for the .deb's path, else pent with the path's slashes as dashes.
func apparmorProfileName(exe string) string {
	if exe == apparmorProfileBinary {
		return "pent"
	}
	return "pent" + strings.ReplaceAll(exe, "/", "-")
}

// apparmorProfile is the profile that lets the binary at exe create user
// namespaces and confines nothing else, the way Ubuntu's own profiles for
// bwrap, chrome and podman do. exe must be absolute, clean and match
// apparmorSafePath.
func apparmorProfile(exe string) (string, error) {
	if filepath.Clean(exe) != exe || !apparmorSafePath().MatchString(exe) {
		return "", fmt.Errorf("the path %q holds characters an AppArmor profile would read as a pattern", exe)
	}
	name := apparmorProfileName(exe)
	return "abi <abi/4.0>,\ninclude <tunables/global>\n\n" +
		"profile " + name + " " + exe + " flags=(unconfined) {\n" +
		"  userns,\n\n" +
		"  # Site-specific additions and overrides. See local/README for details.\n" +
		"  include if exists <local/" + name + ">\n}\n", nil
}

// apparmorFix is what doctor tells a user whose pent at exe may not create
// user namespaces under the restriction: the profile for exe and the two
// commands that install and load it, or, for a path a profile cannot name,
// where to install pent instead.
func apparmorFix(exe string) string {
	profile, err := apparmorProfile(exe)
	if err != nil {
		return err.Error() + ": install pent where only root can write, e.g. `sudo install -m755 " + shellWord(exe) +
			" /usr/local/bin/pent`, and run `/usr/local/bin/pent doctor` for the profile to install"
	}
	file := "/etc/apparmor.d/" + apparmorProfileName(exe)
	var b strings.Builder
	fmt.Fprintf(&b, "Ubuntu lets only programs with an AppArmor profile create user namespaces, and none covers %s. ", exe)
	b.WriteString("Install this profile and load it (two commands, the first one up to EOF):\n")
	fmt.Fprintf(&b, "sudo tee %s >/dev/null <<'EOF'\n%sEOF\nsudo apparmor_parser -r %s\n", file, profile, file)
	if dir := filepath.Dir(exe); unix.Access(dir, unix.W_OK) == nil {
		fmt.Fprintf(&b, "Note: the profile lets whatever is at %s create user namespaces, and you can write %s, so any program you run could put itself there. "+
			"Safer: `sudo install -m755 %s /usr/local/bin/pent` and use that pent, whose profile doctor then prints.", exe, dir, shellWord(exe))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// shellPlain matches the words sh takes as they are.
var shellPlain = lazyRegexp(`^[A-Za-z0-9/._+@=-]+$`)

// shellWord is s quoted for sh when it needs to be.
func shellWord(s string) string {
	if shellPlain().MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// restricted reads kernel.apparmor_restrict_unprivileged_userns:
// its value, and whether the sysctl exists.
func (h apparmorHost) restricted() (string, bool) {
	v, err := readSysctl(h.procSys, "kernel/apparmor_restrict_unprivileged_userns")
	return v, err == nil
}

// coveringProfile is the file in the profile directory that attaches a
// profile granting userns to exactly h.exe, or "" when none does. Only the
// directory's top level is read, as apparmor_parser loads it at boot;
// attachments written as patterns are not matched.
func (h apparmorHost) coveringProfile() (string, error) {
	entries, err := os.ReadDir(h.profileDir)
	if err != nil {
		return "", fmt.Errorf("reading the AppArmor profiles: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(h.profileDir, e.Name())
		f, err := os.Open(path)
		if err != nil {
			continue // unreadable: not evidence either way
		}
		text, err := io.ReadAll(io.LimitReader(f, apparmorMaxProfile))
		f.Close()
		if err != nil {
			continue
		}
		for _, p := range apparmorAttachments(text) {
			if p.attach == h.exe && p.userns {
				return path, nil
			}
		}
	}
	return "", nil
}

// apparmorAttachment is one top-level profile of a file: the path it
// attaches to ("" for none) and whether its body grants userns.
type apparmorAttachment struct {
	attach string
	userns bool
}

// apparmorHeader matches a top-level profile header: "profile NAME
// [ATTACH]" or a bare "ATTACH", optional flags, then "{".
var apparmorHeader = lazyRegexp(`^(?:profile\s+("[^"]*"|\S+)(?:\s+("[^"]*"|/\S*))?|("[^"]*"|/\S*))\s*(?:flags\s*=\s*\([^)]*\)\s*)?\{\s*$`)

// apparmorUserns matches a rule that grants user namespaces: "userns,",
// "userns create," and their "allow" forms (not "deny").
var apparmorUserns = lazyRegexp(`^(?:allow\s+)?userns(?:\s+create)?\s*,$`)

// apparmorAttachments lists the top-level profiles of an AppArmor profile
// file, reading just enough of the syntax: comments, headers, braces, and
// userns rules directly in a profile's body.
func apparmorAttachments(text []byte) []apparmorAttachment {
	var out []apparmorAttachment
	depth := 0
	s := bufio.NewScanner(bytes.NewReader(text))
	s.Buffer(make([]byte, 0, 4096), apparmorMaxProfile)
	for s.Scan() {
		line := s.Text()
		if i := strings.Index(line, "#"); i >= 0 && !strings.HasPrefix(strings.TrimSpace(line), "#include") {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if depth == 0 {
			if m := apparmorHeader().FindStringSubmatch(line); m != nil {
				attach := m[2]
				if m[1] == "" {
					attach = m[3]
				}
				out = append(out, apparmorAttachment{attach: strings.Trim(attach, `"`)})
				depth = 1
			}
			continue
		}
		if depth == 1 && apparmorUserns().MatchString(line) {
			out[len(out)-1].userns = true
		}
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if depth < 0 {
			depth = 0
		}
	}
	return out
}

// profileState says whether the loaded profiles (h.loaded, root
// only) include the one for h.exe.
func (h apparmorHost) profileState() string {
	name := apparmorProfileName(h.exe)
	list, err := os.ReadFile(h.loaded)
	switch {
	case err != nil:
		return fmt.Sprintf("AppArmor profile %s: loaded state unknown (%v; run pent doctor as root to see)", name, err)
	case apparmorProfileLoaded(list, name):
		return "AppArmor profile " + name + ": loaded"
	default:
		return "AppArmor profile " + name + ": not loaded"
	}
}

// apparmorProfileLoaded reports whether list, in the format of the loaded
// profiles file ("NAME (MODE)" per line), names the profile name.
func apparmorProfileLoaded(list []byte, name string) bool {
	for _, line := range strings.Split(string(list), "\n") {
		n, _, _ := strings.Cut(strings.TrimSpace(line), " (")
		if n == name {
			return true
		}
	}
	return false
}

// lazyRegexp compiles expr on first use rather than when the package
// initialises: every start of pent, and of its init stage, runs this
// package's initialisation, and only diagnostics use these expressions.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
