package trace

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/scope"
)

// This file decides what a fix may propose (SPEC §7, §13): never a secret
// (scope.SecretIn), never a write where the host runs or trusts files
// (scope.HostExecutedIn), in a directory that holds such a place (but by a
// built-in profile), or outside the home directory, where the system does
// (/etc, /var…), never the home directory, /home or / wholesale,
// and nothing that holds only on this host (a process's /proc directory, a
// control group, a boot or session id) — those are generalised or dropped
// with the reason. Where a built-in profile grants the path, the fix is the
// profile. Hinter.File applies it to each denial, Hinter.Suggest again to
// every fix of a log, which may come from an older pent.

// idElement matches a path element that names one machine, boot or
// session: a UUID or a long hexadecimal id (machine-id, boot_id, a
// container's or a cgroup's id).
var idElement = regexp.MustCompile(`^(?i:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})(\.[a-z]+)?$`)

// cgroupRoot is where the kernel shows control groups. The files a program
// reads below it (node's and the JVM's memory limits) lie in this
// session's group, whose path differs on every host.
const cgroupRoot = "/sys/fs/cgroup"

// Skip is a fix pent does not propose, and why.
type Skip struct {
	// What names it: a path, or "a write grant for PATH".
	What string `json:"what"`
	// Why is the reason and what to do instead.
	Why string `json:"why"`
}

// String is the one-line hint: "pent does not suggest WHAT: WHY".
func (s Skip) String() string { return "pent does not suggest " + s.What + ": " + s.Why }

// portable returns the path a grant of abs should name on any host: abs
// itself, or the general path it stands for (note says so). reason is
// non-empty when no portable grant exists.
func portable(grant scope.Grant, abs string) (path, note, reason string) {
	elems := elements(abs)
	switch {
	case len(elems) >= 2 && elems[0] == "proc" && (isNumber(elems[1]) || elems[1] == "self" || elems[1] == "thread-self"):
		return "", "", "it names one process of one run (/proc/PID)"
	case grant != scope.GrantRead && len(elems) > 0 && (elems[0] == "proc" || elems[0] == "sys"):
		return "", "", "pent never suggests changing kernel state (/proc, /sys)"
	case strings.HasPrefix(abs, cgroupRoot+"/"):
		return cgroupRoot, fmt.Sprintf("%s stands for %s, this host's control groups", cgroupRoot, abs), ""
	}
	for _, e := range elems {
		if idElement.MatchString(e) {
			return "", "", fmt.Sprintf("it holds only on this host (%s is an id of this machine, boot or session)", e)
		}
	}
	return abs, "", ""
}

// isNumber reports whether s is a decimal number.
func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// elements splits an absolute path into its names.
func elements(abs string) []string {
	if abs = strings.Trim(abs, "/"); abs == "" {
		return nil
	}
	return strings.Split(abs, "/")
}

// wholesale reports whether a grant of abs would hand over a whole home
// directory or more: /, the home directory or a directory above it (/home).
func (h Hinter) wholesale(abs string) bool {
	if abs == "/" || abs == "/home" || abs == "/Users" {
		return true
	}
	home := scope.CleanAbs(h.Home)
	return home != "" && scope.Within(home, abs)
}

// inHome reports whether abs lies in the home directory (false when there
// is none).
func (h Hinter) inHome(abs string) bool {
	home := scope.CleanAbs(h.Home)
	return home != "" && home != "/" && scope.Within(abs, home)
}

// fileFix is the fix that allows grant on path (absolute): a built-in
// profile that grants it, or the path itself as it holds on any host. A nil
// fix comes with the reason why none is proposed; a fix may come with a
// note on how it was generalised.
func (h Hinter) fileFix(grant scope.Grant, path string) (fix *Fix, note string, skip Skip) {
	shown := h.tilde(path)
	abs, note, why := portable(grant, path)
	if why != "" {
		return nil, "", Skip{shown, why}
	}
	if h.wholesale(abs) {
		return nil, "", Skip{shown, fmt.Sprintf("it would grant %s wholesale; name the files the command needs", h.tilde(abs))}
	}
	if s, ok := scope.SecretIn(abs, h.Home); ok {
		return nil, "", Skip{shown, fmt.Sprintf("it holds secrets (%s, %s); grant it yourself only if the command must have them", h.tilde(s.Pattern), s.Why)}
	}
	if l, ok := scope.HostExecutedIn(abs, h.HostExecuted); ok && grant == scope.GrantWrite {
		return nil, "", Skip{"a write grant for " + h.tilde(abs),
			fmt.Sprintf("%s runs or is trusted outside the sandbox (%s); change it outside the sandbox", h.tilde(l.Path), l.Why)}
	}
	if grant == scope.GrantWrite && !h.inHome(abs) {
		return nil, "", Skip{"a write grant for " + h.tilde(abs),
			"it lies outside your home directory, where the system's programs and services run or trust files (/etc, /usr, /var, /opt…); change it outside the sandbox, or write to a directory of your home or /tmp, which is private inside"}
	}
	if name := h.profileFor(grant, abs); name != "" {
		return &Fix{Table: TableTop, Key: KeyProfiles, Value: name}, note, Skip{}
	}
	if in := scope.HostExecutedBeneath(abs, h.HostExecuted); len(in) > 0 && grant == scope.GrantWrite {
		return nil, "", Skip{"a write grant for " + h.tilde(abs),
			fmt.Sprintf("it holds %s, which runs or is trusted outside the sandbox (%s); grant the files the command writes by name", h.tilde(in[0].Path), in[0].Why)}
	}
	return &Fix{Table: TablePaths, Key: string(grant), Value: h.tilde(abs)}, note, Skip{}
}

// profileFor is the built-in profile that grants grant on abs by one of its
// own paths, the most specific such path first, then by name; "" when none
// does.
func (h Hinter) profileFor(grant scope.Grant, abs string) string {
	best, bestLen := "", 0
	for _, p := range profiles.Builtin() {
		lists := map[scope.Grant][][]string{
			scope.GrantRead:    {p.Read, p.Execute, p.ReadWrite},
			scope.GrantExecute: {p.Execute, p.ReadWrite},
			scope.GrantWrite:   {p.ReadWrite},
		}[grant]
		for _, path := range slices.Concat(lists...) {
			dir := h.expand(path)
			if dir != "" && scope.Within(abs, dir) && len(dir) > bestLen {
				best, bestLen = p.Name, len(dir)
			}
		}
	}
	return best
}

// expand is the absolute path of a profile's or a log's path (~/… under
// Home); "" when it cannot be made absolute.
func (h Hinter) expand(path string) string {
	if rest, ok := strings.CutPrefix(path, "~"); ok && (rest == "" || rest[0] == '/') {
		home := scope.CleanAbs(h.Home)
		if home == "" {
			return ""
		}
		return filepath.Join(home, rest)
	}
	return scope.CleanAbs(path)
}

// vet checks a fix read back from a log against the rules a new one is
// made by, and returns the fix to propose (the same, a profile, or a
// generalised path), with the note or the reason.
func (h Hinter) vet(f Fix) (fix *Fix, note string, skip Skip) {
	switch {
	case !validFix(f):
		return nil, "", Skip{f.Value, "not a value pent's config has for " + f.Key}
	case f.Table != TablePaths:
		return &f, "", Skip{}
	}
	abs := h.expand(f.Value)
	if abs == "" {
		return nil, "", Skip{f.Value, "not an absolute path"}
	}
	return h.fileFix(scope.Grant(f.Key), abs)
}
