package hook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/trust"
)

// The exported shell variables that hold the hook's state. Every shell that
// inherits them (nested shells, tmux panes) knows what its parent applied, so
// it stays quiet about a project it has already announced.
const (
	// VarDir is the directory the last export was computed for.
	VarDir = "PENT_DIR"
	// VarProject is the project file in effect (unset without a project).
	VarProject = "PENT_PROJECT"
	// VarTrust is the project's trust key: "allowed:<record>", "error:<record>",
	// "changed", "unknown", "denied" or "unreadable", followed by "|" and a
	// signature of the untrusted nested project files passed over, if any. A
	// message is printed only when its part of (VarProject, VarTrust) changes.
	VarTrust = "PENT_TRUST"
	// VarWrapped lists the wrapped command names, separated by spaces.
	VarWrapped = "PENT_WRAPPED"
	// VarStamp names the stamp file (under Trust.Dir/stamps) whose mtime is
	// when the last export read its inputs.
	VarStamp = "PENT_STAMP"
)

// StateVars lists every variable the hook owns; configuration loading must
// not read them as PENT_* overrides.
var StateVars = []string{VarDir, VarProject, VarTrust, VarWrapped, VarStamp}

// stampsDir is the directory under Trust.Dir holding stamp files.
const stampsDir = "stamps"

// Input is everything Decide looks at. Only cmd/pent fills it from the real
// process environment.
type Input struct {
	// Cwd is the shell's logical working directory ($PWD), absolute.
	Cwd string
	// Env holds the shell's PENT_* state variables and its PWD (other keys
	// are ignored).
	Env map[string]string
	// Fresh is true when this shell process has applied no plan yet (a new,
	// nested or exec'd shell): it has none of the wrapper functions that the
	// inherited PENT_WRAPPED names, and any function of such a name is the
	// user's.
	Fresh bool
	// Trust is the trust store; stamps live under Trust.Dir/stamps.
	Trust trust.Trust
	// GlobalConfig is the global configuration file (watched for edits).
	GlobalConfig string
	// Home shortens paths in messages to ~/…; may be empty.
	Home string
	// Bin is the pent binary path the wrappers call (absolute, unresolved).
	Bin string
	// LoadWrap parses the wrap list of a project file's content (the bytes
	// whose trust was checked; never read again).
	LoadWrap func(trust.Snapshot) ([]string, error)
}

// Plan is what a shell must do to match its working directory. A shell
// renders it (package shells) and evaluates the result; the caller prints
// Messages on stderr.
type Plan struct {
	// Bin is the pent binary the wrapper functions run.
	Bin string
	// Unwrap lists wrapper functions to remove; a user function of the same
	// name that a wrapper shadowed is restored.
	Unwrap []string
	// Wrap lists wrapper functions to define; a user function of the same
	// name is saved first.
	Wrap []string
	// Set lists exported variables to set, in order.
	Set []Var
	// Unset lists exported variables to remove.
	Unset []string
	// Messages are one-line notices, each starting with "pent: ". Paths and
	// errors in them are raw: the caller prints them with control
	// characters escaped (config.Escape), once.
	Messages []string
	// Watch is what later prompts compare, without starting a process, to
	// decide whether to run export again.
	Watch Watch
}

// Var is an exported shell variable.
type Var struct{ Name, Value string }

// Watch describes the state a plan was computed from. The shell re-runs
// export when $PWD differs from Dir, when a Present path is missing, an Absent
// path exists, the Stamp is missing, or a Newer path is missing or has a
// later mtime than the Stamp (shells compare nanoseconds).
type Watch struct {
	Dir     string
	Stamp   string
	Newer   []string
	Present []string
	Absent  []string
}

// Decide works out what the shell must change for in.Cwd. It creates a new
// stamp file before reading anything, so that an edit made while it runs is
// still noticed at the next prompt, and removes the shell's previous stamp.
func Decide(in Input) (Plan, error) {
	if !filepath.IsAbs(in.Cwd) {
		return Plan{}, fmt.Errorf("working directory %q is not absolute", in.Cwd)
	}
	cwd := filepath.Clean(in.Cwd)
	stampDir := filepath.Join(in.Trust.Dir, stampsDir)
	stamp, err := newStamp(stampDir)
	if err != nil {
		return Plan{}, err
	}
	if old := in.Env[VarStamp]; !in.Fresh && validStamp(old) && old != filepath.Base(stamp) {
		if err := os.Remove(filepath.Join(stampDir, old)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Plan{}, fmt.Errorf("removing old stamp: %w", err)
		}
	}
	// The shell did not cd since the last export ($PWD is what it was),
	// yet $PWD no longer leads here: its directory, or one above, was
	// renamed under it (by a sandboxed command or the user). Leaving a
	// project is the user's act, never a side effect of that: the shell
	// keeps its wrappers, and its state stays at $PWD until it cds.
	dir, moved := cwd, false
	if pwd := in.Env["PWD"]; pwd != "" && pwd == in.Env[VarDir] && filepath.Clean(pwd) != cwd {
		dir, moved = filepath.Clean(pwd), true
	}
	p := Plan{Bin: in.Bin, Watch: Watch{Dir: dir, Stamp: stamp}}
	p.watchFile(in.GlobalConfig)

	prevFile, prevKey := in.Env[VarProject], in.Env[VarTrust]
	prevBase, prevSkip, _ := strings.Cut(prevKey, keySep)
	prevWrapped := splitNames(in.Env[VarWrapped])
	cur, err := in.project(cwd, prevFile, prevWrapped, moved, &p)
	if err != nil {
		return Plan{}, err
	}
	if cur.file != prevFile || cur.key != prevBase {
		if lost := without(prevWrapped, cur.wrap); prevFile != "" && prevFile != cur.file && len(lost) > 0 {
			p.Messages = append(p.Messages, fmt.Sprintf("pent: %s no longer sandboxed (left %s)",
				strings.Join(lost, ", "), tilde(prevFile, in.Home)))
		}
		if cur.message != "" {
			p.Messages = append(p.Messages, cur.message)
		}
	}
	if cur.file != prevFile || cur.skipKey != prevSkip {
		p.Messages = append(p.Messages, cur.notices...)
	}
	p.Messages = append(p.Messages, cur.warnings...)

	inShell := prevWrapped
	if in.Fresh {
		inShell = nil
	}
	p.Unwrap = without(inShell, cur.wrap)
	p.Wrap = without(cur.wrap, inShell)

	key := cur.key
	if cur.skipKey != "" {
		key += keySep + cur.skipKey
	}
	p.Set = append(p.Set, Var{VarDir, dir}, Var{VarStamp, filepath.Base(stamp)})
	p.setOrUnset(VarProject, cur.file)
	p.setOrUnset(VarTrust, key)
	p.setOrUnset(VarWrapped, strings.Join(cur.wrap, " "))
	return p, nil
}

// keySep separates, in VarTrust, the project's trust key from the signature
// of the untrusted nested files passed over, so that each kind of notice is
// printed once per change.
const keySep = "|"

// project is what the working directory's project files mean now.
type project struct {
	file, key, message string
	// skipKey identifies the nested files passed over; notices tell the
	// user about them.
	skipKey        string
	wrap, warnings []string
	notices        []string
}

// project selects the project in force for cwd (Select) and judges it, and
// records in p.Watch every path whose change would change the answer. A
// project that is not allowed keeps the wrappers the shell has for its
// project root (prevWrapped, when prevFile has the same root, whichever of
// the root's two candidate files it was) and those of the allowed project
// around it or beside it (Selection.Enclosing); a changed one, or one gone
// since it was allowed, gets the wrappers of its last trusted content too:
// they refuse to run until the user reviews the file (fail closed). Only
// `pent deny` removes them. When the shell's directory moved under it
// (moved), the shell keeps all of prevWrapped until it changes directory.
func (in Input) project(cwd, prevFile string, prevWrapped []string, moved bool, p *Plan) (cur project, err error) {
	sel, err := Select(cwd, in.Trust)
	if err != nil {
		return project{}, err
	}
	f := sel.Project
	p.watchNearer(cwd, f.File)
	for _, found := range append(sel.Skipped, f, sel.Enclosing) {
		p.watchFound(in.Trust, found)
	}
	cur = project{file: f.File}
	if moved && len(prevWrapped) > 0 {
		defer in.keepMoved(&cur, prevFile, prevWrapped)
	}
	if f.File == "" {
		return cur, nil
	}
	var keep []string
	if prevFile != "" && (moved || rootOf(prevFile) == f.Root) {
		keep = prevWrapped
	}
	name := tilde(f.File, in.Home)
	switch {
	case f.State == trust.Changed:
		last, known := in.lastTrustedWrap(f)
		cur.key, cur.wrap = "changed", union(union(last, in.allowedWrap(sel.Enclosing)), keep)
		why := "changed since you allowed it"
		switch {
		case f.Err != nil:
			cur.key, why = "changed-unreadable", fmt.Sprintf("is gone or unreadable since you allowed it (%v)", f.Err)
		case !known:
			why = "was allowed by an older pent, whose trust records are ambiguous"
		}
		cur.message = fmt.Sprintf("pent: %s %s; it has no effect until you review it with `pent allow`", name, why)
		if len(cur.wrap) > 0 {
			cur.message = fmt.Sprintf("pent: %s %s; %s stay wrapped and refuse to run until you review it with `pent allow` (or `pent deny` to stop sandboxing here)", name, why, strings.Join(cur.wrap, ", "))
		}
	case f.Err != nil:
		cur.key, cur.wrap = "unreadable", union(keep, in.allowedWrap(sel.Enclosing))
		cur.message = fmt.Sprintf("pent: cannot read %s: %v%s", name, f.Err, refusing(cur.wrap))
	case f.State == trust.Denied:
		cur.key = "denied"
		cur.message = fmt.Sprintf("pent: %s is denied; run `pent allow` if you trust it after all", name)
		if len(keep) > 0 {
			cur.message = fmt.Sprintf("pent: %s is denied: %s now run unsandboxed here; `pent allow` sandboxes them again", name, strings.Join(keep, ", "))
		}
	case f.State == trust.Unknown:
		cur.key, cur.wrap = "unknown", union(keep, in.allowedWrap(sel.Enclosing))
		cur.message = fmt.Sprintf("pent: %s is not allowed yet — run `pent allow` to review it%s", name, refusing(cur.wrap))
	default:
		in.allowed(&cur, f, name, keep)
	}
	cur.skipKey, cur.notices = in.skipped(sel.Skipped, name)
	return cur, nil
}

// keepMoved makes cur, the project of a directory that moved under the
// shell, keep the wrappers the shell had (prevWrapped, from prevFile) and
// stay prevFile's, so that leaving names what stops being sandboxed: they
// run sandboxed by the project found here or refuse, never unsandboxed.
func (in Input) keepMoved(cur *project, prevFile string, prevWrapped []string) {
	cur.file, cur.key, cur.wrap = prevFile, "moved", union(cur.wrap, prevWrapped)
	cur.message = fmt.Sprintf("pent: %s moved or is gone while the shell was in it; %s stay wrapped (sandboxed or refusing, never unsandboxed) until you cd elsewhere",
		tilde(prevFile, in.Home), strings.Join(cur.wrap, ", "))
}

// rootOf is the project root of a project file: the directory holding
// .pent.toml, or the one holding .pent/pent.toml.
func rootOf(file string) string {
	dir := filepath.Dir(file)
	if filepath.Join(filepath.Base(dir), filepath.Base(file)) == SeedProjectFile {
		return filepath.Dir(dir)
	}
	return dir
}

// refusing is the end of a notice about a project that is not allowed while
// the shell keeps its wrappers.
func refusing(kept []string) string {
	if len(kept) == 0 {
		return ""
	}
	return fmt.Sprintf("; %s stay wrapped and refuse to run (`pent deny` stops sandboxing here)", strings.Join(kept, ", "))
}

// skipped describes the untrusted nested files passed over in favour of the
// trusted project called name: a signature for VarTrust and one notice each.
func (in Input) skipped(files []Found, name string) (key string, notices []string) {
	if len(files) == 0 {
		return "", nil
	}
	h := sha256.New()
	for _, f := range files {
		why, hint := f.Status(), "`pent allow "+tilde(f.Root, in.Home)+"`"
		fmt.Fprintf(h, "%d:%s:%s\x00", len(f.File), f.File, why)
		if f.Linked {
			why, hint = why+"; it is "+tilde(f.Snap.Path, in.Home), "cd to "+tilde(rootOf(f.Snap.Path), in.Home)
		}
		notices = append(notices, fmt.Sprintf("pent: ignoring %s (%s); %s stays in force — %s to use it instead",
			tilde(f.File, in.Home), why, name, hint))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], notices
}

// lastTrustedWrap is the valid wrap list of the content last allowed for a
// changed file (nil when it does not parse); known is false when the store
// kept no content (a record of the first format).
func (in Input) lastTrustedWrap(f Found) (names []string, known bool) {
	content, ok, err := in.Trust.LastTrusted(f.Snap.Path)
	if err != nil || !ok {
		return nil, false
	}
	return in.validWrap(trust.Snapshot{Path: f.Snap.Path, Content: content}), true
}

// allowedWrap is the valid wrap list of an allowed project file (nil for
// none).
func (in Input) allowedWrap(f Found) []string {
	if f.File == "" {
		return nil
	}
	return in.validWrap(f.Snap)
}

// validWrap parses the valid, distinct wrap entries of s; nil when it does
// not parse.
func (in Input) validWrap(s trust.Snapshot) []string {
	names, err := in.LoadWrap(s)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if ValidName(n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// allowed fills cur for an allowed project file from its wrap list; when the
// file does not load, the shell keeps the wrappers it has (keep), which
// refuse to run.
func (in Input) allowed(cur *project, f Found, name string, keep []string) {
	record := in.Trust.RecordPath(f.Snap)
	names, err := in.LoadWrap(f.Snap)
	if err != nil {
		cur.key, cur.wrap = "error:"+filepath.Base(record), keep
		cur.message = fmt.Sprintf("pent: %v — no commands are sandboxed until it is fixed", err)
		if len(keep) > 0 {
			cur.message = fmt.Sprintf("pent: %v — %s refuse to run until it is fixed", err, strings.Join(keep, ", "))
		}
		return
	}
	cur.key = "allowed:" + filepath.Base(record)
	for _, n := range names {
		switch {
		case !ValidName(n):
			cur.warnings = append(cur.warnings, fmt.Sprintf("pent: ignoring wrap entry %q in %s: not a command name a shell function can take", n, name))
		case !slices.Contains(cur.wrap, n):
			cur.wrap = append(cur.wrap, n)
		}
	}
	if len(cur.wrap) == 0 {
		cur.message = fmt.Sprintf("pent: using %s (it wraps no commands)", name)
		return
	}
	cur.message = fmt.Sprintf("pent: sandboxing %s (%s)", strings.Join(cur.wrap, ", "), name)
}

// watchNearer records the candidate project files that would take
// precedence over file (every candidate from cwd up to file, or up to /
// without a project) and do not exist now: creating one would change the
// answer. Existing ones were read by Select and are watched by watchFound.
func (p *Plan) watchNearer(cwd, file string) {
	for d := cwd; ; d = filepath.Dir(d) {
		for _, c := range projectCandidates(d) {
			if c == file {
				return
			}
			if !present(c) {
				p.Watch.Absent = append(p.Watch.Absent, c)
			}
		}
		if filepath.Dir(d) == d {
			return
		}
	}
}

// watchFound watches a project file that Select read, and the trust records
// that decide its state: the allow record of its current content (when it
// could be read) and its deny record.
func (p *Plan) watchFound(t trust.Trust, f Found) {
	if f.File == "" {
		return
	}
	p.watchFile(f.File)
	if f.Err == nil {
		p.watchPresence(t.RecordPath(f.Snap), f.State == trust.Allowed)
	}
	if rec, err := t.DenyRecordPath(f.File); err == nil {
		p.watchPresence(rec, f.State == trust.Denied)
	}
}

// watchFile watches a file for edits when it exists, or for its creation.
func (p *Plan) watchFile(path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err == nil {
		p.Watch.Newer = append(p.Watch.Newer, path)
	} else {
		p.Watch.Absent = append(p.Watch.Absent, path)
	}
}

func (p *Plan) watchPresence(path string, present bool) {
	if present {
		p.Watch.Present = append(p.Watch.Present, path)
	} else {
		p.Watch.Absent = append(p.Watch.Absent, path)
	}
}

func (p *Plan) setOrUnset(name, value string) {
	if value == "" {
		p.Unset = append(p.Unset, name)
		return
	}
	p.Set = append(p.Set, Var{name, value})
}

// newStamp creates a stamp file whose mtime is one nanosecond before the
// filesystem's own timestamp for its creation, so that any later write to a
// watched file (on the same clock, even within the same tick) is newer.
func newStamp(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating stamp directory: %w", err)
	}
	// Unique, not secret: the directory is the user's own (0700) and
	// O_EXCL refuses a name taken. math/rand/v2 is seeded by the runtime;
	// crypto/rand's first use cost the hook's one process about 60 µs.
	path := filepath.Join(dir, fmt.Sprintf("%s%016x", stampPrefix, rand.Uint64()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating stamp: %w", err)
	}
	fi, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		t := fi.ModTime().Add(-time.Nanosecond)
		err = os.Chtimes(path, t, t)
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("creating stamp: %w", err)
	}
	return path, nil
}

const stampPrefix = "s-"

// validStamp says whether name is a stamp's: s- and 16 lowercase hex digits.
func validStamp(name string) bool {
	hexDigits, ok := strings.CutPrefix(name, stampPrefix)
	return ok && len(hexDigits) == 16 && strings.Trim(hexDigits, "0123456789abcdef") == ""
}

// PruneStamps removes stamp files older than maxAge under the trust store t.
// A shell whose stamp was removed runs export once more, quietly.
func PruneStamps(t trust.Trust, now time.Time, maxAge time.Duration) (removed []string, err error) {
	dir := filepath.Join(t.Dir, stampsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stamps: %w", err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !validStamp(e.Name()) || now.Sub(fi.ModTime()) < maxAge {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("stamps: %w", err)
		}
		removed = append(removed, path)
	}
	return removed, nil
}

// ValidName reports whether a wrap entry can become a wrapper function in
// every supported shell without quoting and without replacing a builtin, a
// shell hook point or the hook's own functions (config.ValidWrapName).
func ValidName(name string) bool { return config.ValidWrapName(name) }

// splitNames parses VarWrapped, dropping anything that is not a valid name.
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Fields(s) {
		if ValidName(n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// union returns a followed by the elements of b that are not in a.
func union(a, b []string) []string {
	return append(slices.Clip(a), without(b, a)...)
}

// without returns the elements of a that are not in b, in order.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// tilde shortens path under home to ~/… for messages.
func tilde(path, home string) string {
	if home == "" || home == "/" {
		return path
	}
	if rest, ok := strings.CutPrefix(path, strings.TrimSuffix(home, "/")+"/"); ok {
		return "~/" + rest
	}
	return path
}
