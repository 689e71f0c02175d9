package hook

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
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
	// "changed", "unknown", "denied" or "unreadable". A message is printed only
	// when the pair (VarProject, VarTrust) changes.
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
	// Env holds the shell's PENT_* state variables (other keys are ignored).
	Env map[string]string
	// Fresh is true when this shell process has applied no plan yet (a new,
	// nested or exec'd shell): it has none of the wrapper functions that the
	// inherited PENT_WRAPPED names, and any function of such a name is the
	// user's.
	Fresh bool
	// Trust is the trust store; stamps live under Trust.Dir/stamps.
	Trust Trust
	// GlobalConfig is the global configuration file (watched for edits).
	GlobalConfig string
	// Home shortens paths in messages to ~/…; may be empty.
	Home string
	// Bin is the pent binary path the wrappers call (absolute, unresolved).
	Bin string
	// LoadWrap returns the wrap list of an allowed project file.
	LoadWrap func(projectFile string) ([]string, error)
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
	// Messages are one-line notices, each starting with "pent: ".
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
	p := Plan{Bin: in.Bin, Watch: Watch{Dir: cwd, Stamp: stamp}}
	p.watchFile(in.GlobalConfig)

	cur := in.project(cwd, &p)

	prevFile, prevKey := in.Env[VarProject], in.Env[VarTrust]
	prevWrapped := splitNames(in.Env[VarWrapped])
	if cur.file != prevFile || cur.key != prevKey {
		if cur.message != "" {
			p.Messages = append(p.Messages, cur.message)
		} else if len(prevWrapped) > 0 && prevFile != "" {
			p.Messages = append(p.Messages, fmt.Sprintf("pent: %s no longer sandboxed (left %s)",
				strings.Join(prevWrapped, ", "), tilde(prevFile, in.Home)))
		}
	}
	p.Messages = append(p.Messages, cur.warnings...)

	inShell := prevWrapped
	if in.Fresh {
		inShell = nil
	}
	p.Unwrap = without(inShell, cur.wrap)
	p.Wrap = without(cur.wrap, inShell)

	p.Set = append(p.Set, Var{VarDir, cwd}, Var{VarStamp, filepath.Base(stamp)})
	p.setOrUnset(VarProject, cur.file)
	p.setOrUnset(VarTrust, cur.key)
	p.setOrUnset(VarWrapped, strings.Join(cur.wrap, " "))
	return p, nil
}

// project is what the working directory's project file means now.
type project struct {
	file, key, message string
	wrap, warnings     []string
}

// project finds and judges the project file for cwd and records in p.Watch
// every path whose change would change the answer.
func (in Input) project(cwd string, p *Plan) project {
	file, root, ok := FindProject(cwd)
	p.watchNearer(cwd, root, file, ok)
	if !ok {
		return project{}
	}
	p.watchFile(file)
	name := tilde(file, in.Home)
	cur := project{file: file}
	state, err := in.Trust.Check(file)
	if err != nil {
		cur.key, cur.message = "unreadable", fmt.Sprintf("pent: cannot read %s: %v", name, err)
		return cur
	}
	p.watchRecords(in.Trust, file, state)
	switch state {
	case Denied:
		cur.key, cur.message = "denied", fmt.Sprintf("pent: %s is denied; run `pent allow` if you trust it after all", name)
	case Changed:
		cur.key, cur.message = "changed", fmt.Sprintf("pent: %s changed since you allowed it; its commands are not sandboxed until you run `pent allow` to review it", name)
	case Unknown:
		cur.key, cur.message = "unknown", fmt.Sprintf("pent: %s is not allowed yet — run `pent allow` to review it", name)
	case Allowed:
		in.allowed(&cur, name)
	}
	return cur
}

// allowed fills cur for an allowed project file from its wrap list.
func (in Input) allowed(cur *project, name string) {
	record, err := in.Trust.RecordPath(cur.file)
	if err != nil {
		cur.key, cur.message = "unreadable", fmt.Sprintf("pent: cannot read %s: %v", name, err)
		return
	}
	names, err := in.LoadWrap(cur.file)
	if err != nil {
		cur.key = "error:" + filepath.Base(record)
		cur.message = fmt.Sprintf("pent: %v — no commands are sandboxed until it is fixed", err)
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

// watchNearer records the candidate project files that would take precedence
// over file: every candidate from cwd up to root (or up to / without a
// project) that does not exist now.
func (p *Plan) watchNearer(cwd, root, file string, found bool) {
	for d := cwd; ; d = filepath.Dir(d) {
		for _, c := range projectCandidates(d) {
			if found && c == file {
				return
			}
			p.Watch.Absent = append(p.Watch.Absent, c)
		}
		if filepath.Dir(d) == d || (found && d == root) {
			return
		}
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

// watchRecords watches the trust records that decide the file's state: the
// allow record of its current content and its deny record.
func (p *Plan) watchRecords(t Trust, file string, state State) {
	if rec, err := t.RecordPath(file); err == nil {
		p.watchPresence(rec, state == Allowed)
	}
	if rec, err := t.DenyRecordPath(file); err == nil {
		p.watchPresence(rec, state == Denied)
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

// PruneStamps removes stamp files older than maxAge under the trust store. A
// shell whose stamp was removed runs export once more, quietly.
func (t Trust) PruneStamps(now time.Time, maxAge time.Duration) (removed []string, err error) {
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

// commandName says whether name is made of [A-Za-z0-9_.+@-] and starts
// with none of ".+@-".
func commandName(name string) bool {
	const word = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
	return name != "" && strings.ContainsRune(word, rune(name[0])) && strings.Trim(name, word+".+@-") == ""
}

// reserved are names a wrapper function must not take: shell keywords and the
// builtins the hook and its rendered code rely on.
var reserved = []string{
	"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do", "done",
	"in", "function", "time", "coproc", "begin", "end", "and", "or", "not", "switch", "repeat", "foreach",
	"builtin", "command", "eval", "exec", "export", "source", "set", "unset", "local", "return",
	"typeset", "declare", "functions", "unfunction", "emulate", "printf", "print", "test", "cd",
	"true", "false", "status", "exit", "trap", "pent",
}

// ValidName reports whether a wrap entry can become a wrapper function in
// every supported shell without quoting.
func ValidName(name string) bool {
	return commandName(name) && !slices.Contains(reserved, name)
}

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
