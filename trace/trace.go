// Package trace is pent's denial log (SPEC §7): what `pent run --trace`
// records and what `pent trace show|clear|suggest` read.
//
// It is a package of its own because it joins two others without belonging
// to either: file denials come from the sandbox's trace observer
// (sandbox.FileDenial), network denials from the proxy's decision log
// (proxy.Decision). Both become Entries — what was denied, to which process,
// how often, and the fix: the exact config key and value that would allow
// it. A Recorder aggregates one run's repeats; the log is JSON lines, one
// Entry each, appended per run; Merge aggregates a whole log again; Suggest
// merges the fixes into a Suggestion, which renders as a TOML snippet or is
// applied to a config file keeping its comments.
package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/profiles"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/termtext"
)

// Kinds of Entry.
const (
	KindFile    = "file"
	KindNetwork = "network"
)

// Network operations (file operations are sandbox.FileOp values).
const (
	OpDNS     = "dns"     // a name that does not resolve in the sandbox
	OpConnect = "connect" // a refused connection
)

// Config tables and keys a Fix can name.
const (
	TableTop    = "" // the file's top level, before any [table]
	KeyProfiles = "profiles"
	TablePaths  = "sandbox.paths"
	TableProxy  = "proxy"
	KeyAllow    = "domain_allowlist"
)

// Fix is the config value that would allow a denied access.
type Fix struct {
	Table string `json:"table"` // TableTop, TablePaths or TableProxy
	Key   string `json:"key"`   // profiles; read, execute, read_write; domain_allowlist
	Value string `json:"value"` // a built-in profile, a path (~/… under $HOME) or a domain[:port]
}

// dottedKey is the fix's key as a config file's dotted key.
func (f Fix) dottedKey() string {
	if f.Table == TableTop {
		return f.Key
	}
	return f.Table + "." + f.Key
}

// Entry is one denial, with its repeats folded in.
type Entry struct {
	// Time is the first occurrence, Last the latest.
	Time time.Time `json:"time"`
	Last time.Time `json:"last"`
	// Kind is KindFile or KindNetwork; Op what was attempted (read, write,
	// create, delete, exec, probe; dns, connect).
	Kind string `json:"kind"`
	Op   string `json:"op"`
	// Target is the path, or the name or name:port (an address when there
	// was no name).
	Target string `json:"target"`
	// PID and Command name the process of the first occurrence: a PID in
	// the sandbox for files and for the network when the proxy found the
	// process (Holders > 0), the pent process otherwise. The command name
	// is the sandboxed program's choice.
	PID     int    `json:"pid,omitempty"`
	Command string `json:"command,omitempty"`
	// Holders is, for the network, how many of the sandbox's processes
	// held the refused flow's socket when the proxy looked (PID and
	// Command name one of them); 0 when the proxy found none.
	Holders int `json:"holders,omitempty"`
	// Count is how many times it happened.
	Count int `json:"count"`
	// Fix is what would allow it; nil when no config value can (a
	// protected path, a raw IP connection).
	Fix *Fix `json:"fix,omitempty"`
	// Hint tells the user what to do, in one line.
	Hint string `json:"hint"`
	// Skip says, for a file denial without a fix, which fix pent does not
	// propose and why (a secret, a host-executed location…).
	Skip *Skip `json:"skip,omitempty"`
}

// key identifies the repeats of one denial.
func (e Entry) key() string { return e.Kind + "\x00" + e.Op + "\x00" + e.Target }

// Hinter writes fixes and hints for one configuration.
type Hinter struct {
	// Home is the user's home directory: paths beneath it are written ~/….
	Home string
	// Config names the config file the hints point to, as the user knows
	// it (".pent.toml", "~/.config/pent/pent.toml").
	Config string
	// Allow is the run's domain allowlist, which tells a denied name from
	// an allowed name on a denied port; nil without a proxy.
	Allow *proxy.Allowlist
	// HostExecuted are the locations the host runs or trusts: a write
	// denied in one of them gets no fix (SPEC §13), only the reason.
	HostExecuted []scope.HostExecuted
}

// File turns an observed file denial into an Entry, with the fix that is
// safe to propose (see fileFix) or the reason there is none.
func (h Hinter) File(d sandbox.FileDenial) Entry {
	e := Entry{Time: d.Time, Last: d.Time, Kind: KindFile, Op: string(d.Op), Target: h.tilde(d.Path),
		PID: d.PID, Command: d.Command, Count: 1}
	if d.Grant == sandbox.GrantNone {
		e.Hint = "pent protects " + e.Target + " from the sandbox; change it outside the sandbox"
		return e
	}
	// A creation or deletion needs its directory's grant; where that would
	// be the home directory or more, the name itself is the grant (pent
	// shows a granted name that does not exist yet through an overlay).
	rule := d.Rule
	if h.wholesale(rule) {
		rule = d.Path
	}
	fix, note, skip := h.fileFix(d.Grant, rule)
	if fix == nil {
		e.Skip, e.Hint = &skip, skip.String()
		return e
	}
	e.Fix, e.Hint = fix, h.render(*fix)
	switch {
	case fix.Table == TableTop:
		e.Hint += fmt.Sprintf(" (it grants %s; or add %s to [%s] %s)", h.tilde(rule), strconv.Quote(h.tilde(rule)), TablePaths, d.Grant)
	case note != "":
		e.Hint += " (" + note + ")"
	}
	return e
}

// Network turns a proxy decision into an Entry; ok is false for a decision
// that is not a denial by policy (an allowed one, an upstream failure).
func (h Hinter) Network(d proxy.Decision) (e Entry, ok bool) {
	if d.Action != "deny" || strings.HasPrefix(d.Reason, "upstream failed") {
		return Entry{}, false
	}
	e = Entry{Time: d.Time, Last: d.Time, Kind: KindNetwork, Op: OpConnect, PID: d.PID, Command: "pent", Count: 1}
	if d.ProcPID > 0 {
		e.PID, e.Command, e.Holders = d.ProcPID, d.Comm, max(d.Holders, 1)
	}
	if d.Kind == "dns" {
		e.Op = OpDNS
	}
	name := strings.TrimSuffix(d.Name, ".")
	switch {
	case name == "":
		e.Target = d.Addr
		e.Hint = d.Reason
		return e, true
	case e.Op == OpDNS || d.Port == 0:
		e.Target = name
	default:
		e.Target = name + ":" + strconv.Itoa(d.Port)
	}
	switch {
	case h.Allow == nil || !h.Allow.AllowsName(name):
		e.Fix = &Fix{Table: TableProxy, Key: KeyAllow, Value: name}
	case e.Op == OpConnect && !h.Allow.Allows(name, d.Port):
		e.Fix = &Fix{Table: TableProxy, Key: KeyAllow, Value: e.Target}
	default:
		e.Hint = d.Reason // allowed name and port: a destination range, an SNI or Host mismatch
		return e, true
	}
	e.Hint = h.render(*e.Fix)
	return e, true
}

// render is the one-line hint for a fix.
func (h Hinter) render(f Fix) string {
	file := h.Config
	if file == "" {
		file = "your pent.toml"
	}
	if f.Table == TableTop {
		return fmt.Sprintf("add %s to %s in %s", strconv.Quote(f.Value), f.Key, file)
	}
	return fmt.Sprintf("add %s to [%s] %s in %s", strconv.Quote(f.Value), f.Table, f.Key, file)
}

// tilde writes path beneath Home as ~/….
func (h Hinter) tilde(path string) string {
	if h.Home == "" || h.Home == "/" {
		return path
	}
	if path == h.Home {
		return "~"
	}
	if rest, ok := strings.CutPrefix(path, h.Home+"/"); ok {
		return "~/" + rest
	}
	return path
}

// Recorder aggregates the denials of one run; it is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	entries []Entry
	index   map[string]int
	partial []byte // an unfinished decision line (see Write)
	hinter  Hinter
}

// NewRecorder returns an empty Recorder whose Write turns proxy decision
// lines into entries with h.
func NewRecorder(h Hinter) *Recorder { return &Recorder{index: map[string]int{}, hinter: h} }

// Add folds e into the run's entries.
func (r *Recorder) Add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries, r.index = fold(r.entries, r.index, e)
}

// AddFile records a file denial (sandbox.LaunchOptions.Observe).
func (r *Recorder) AddFile(d sandbox.FileDenial) { r.Add(r.hinter.File(d)) }

// AddDecision records a proxy decision if it is a denial.
func (r *Recorder) AddDecision(d proxy.Decision) {
	if e, ok := r.hinter.Network(d); ok {
		r.Add(e)
	}
}

// Write takes the proxy's decision log (JSON lines) so that a Recorder can
// be one of the proxy's log writers. Lines that do not decode are skipped:
// they are not denials this run can hint at.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	data := append(r.partial, p...)
	lines := bytes.Split(data, []byte("\n"))
	r.partial = slices.Clone(lines[len(lines)-1])
	r.mu.Unlock()
	for _, line := range lines[:len(lines)-1] {
		if d, ok := proxy.ParseDecision(line); ok {
			r.AddDecision(d)
		}
	}
	return len(p), nil
}

// Entries returns the run's entries, oldest first.
func (r *Recorder) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.entries)
}

// fold adds e to entries, summing repeats, keeping the first occurrence's
// process and the latest time. A path has one file entry: a probe of a path
// that was also denied outright folds into that denial, whose fix covers
// the check.
func fold(entries []Entry, index map[string]int, e Entry) ([]Entry, map[string]int) {
	if e.Count < 1 {
		e.Count = 1
	}
	if e.Kind == KindFile {
		probe := Entry{Kind: KindFile, Op: string(sandbox.OpProbe), Target: e.Target}.key()
		if e.Op == string(sandbox.OpProbe) {
			for _, op := range deniedOps {
				if _, ok := index[Entry{Kind: KindFile, Op: op, Target: e.Target}.key()]; ok {
					e.Op = op // one more of the denial
					break
				}
			}
		} else if i, ok := index[probe]; ok {
			// The denial takes the probe's place and counts its checks.
			p := entries[i]
			delete(index, probe)
			index[e.key()] = i
			entries[i] = e
			entries[i].Count += p.Count
			if p.Time.Before(e.Time) {
				entries[i].Time, entries[i].PID, entries[i].Command, entries[i].Holders = p.Time, p.PID, p.Command, p.Holders
			}
			if p.Last.After(e.Last) {
				entries[i].Last = p.Last
			}
			return entries, index
		}
	}
	i, ok := index[e.key()]
	if !ok {
		index[e.key()] = len(entries)
		return append(entries, e), index
	}
	cur := &entries[i]
	cur.Count += e.Count
	if e.Last.After(cur.Last) {
		cur.Last = e.Last
	}
	if e.Time.Before(cur.Time) {
		cur.Time, cur.PID, cur.Command, cur.Holders = e.Time, e.PID, e.Command, e.Holders
	}
	return entries, index
}

// deniedOps are the file operations other than a probe, in the order a
// probe folds into them.
var deniedOps = []string{string(sandbox.OpRead), string(sandbox.OpExec), string(sandbox.OpWrite), string(sandbox.OpCreate), string(sandbox.OpDelete)}

// Merge aggregates entries (e.g. a whole log, several runs) by what was
// denied, in order of first occurrence.
func Merge(entries []Entry) []Entry {
	var out []Entry
	index := map[string]int{}
	for _, e := range entries {
		out, index = fold(out, index, e)
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return out
}

// Append writes entries to w as JSON lines.
func Append(w io.Writer, entries []Entry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("encoding a trace entry: %w", err)
		}
	}
	// The log is printed by `pent trace show --json`.
	if _, err := w.Write(termtext.JSON(buf.Bytes())); err != nil {
		return fmt.Errorf("writing the trace log: %w", err)
	}
	return nil
}

// ParseLine decodes one log line. It rejects lines that are not a valid
// Entry: unknown kind, no target, a count below 1, a fix with an unknown
// table or key.
func ParseLine(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("not a trace entry: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("not a trace entry: more than one value on the line")
	}
	switch {
	case e.Kind != KindFile && e.Kind != KindNetwork:
		return Entry{}, fmt.Errorf("trace entry of unknown kind %q", e.Kind)
	case e.Target == "" || e.Op == "":
		return Entry{}, errors.New("trace entry without operation or target")
	case e.Count < 1:
		return Entry{}, fmt.Errorf("trace entry with count %d", e.Count)
	case e.Fix != nil && !validFix(*e.Fix):
		return Entry{}, fmt.Errorf("trace entry with an unknown fix [%s] %s", e.Fix.Table, e.Fix.Key)
	}
	return e, nil
}

// validFix reports whether f names a key pent's config has.
func validFix(f Fix) bool {
	switch f.Table {
	case TableTop:
		_, known := profiles.Lookup(f.Value)
		return f.Key == KeyProfiles && known && strings.HasPrefix(f.Value, "@")
	case TablePaths:
		return slices.Contains([]string{"read", "execute", "read_write"}, f.Key) && f.Value != ""
	case TableProxy:
		return f.Key == KeyAllow && f.Value != ""
	}
	return false
}

// Read parses a log; a bad line is an error naming its line number.
func Read(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the trace log: %w", err)
	}
	var out []Entry
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := ParseLine(line)
		if err != nil {
			return nil, fmt.Errorf("trace log line %d: %w", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Show writes entries for people: grouped by kind and operation, each with
// its count, process and hint.
func Show(w io.Writer, entries []Entry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "no denials recorded")
		return err
	}
	groups := map[string][]Entry{}
	var order []string
	for _, e := range entries {
		g := e.Kind + " " + e.Op
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], e)
	}
	slices.SortStableFunc(order, func(a, b string) int { return strings.Compare(groupRank(a), groupRank(b)) })
	var b strings.Builder
	for i, g := range order {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s (%d)\n", groupTitle(g), len(groups[g]))
		for _, e := range groups[g] {
			proc := e.Command
			if e.PID > 0 {
				proc += "[" + strconv.Itoa(e.PID) + "]"
			}
			// Targets and command names come from the sandboxed command.
			fmt.Fprintf(&b, "  %s  %dx  %s  %s\n", config.Escape(e.Target), e.Count, config.Escape(proc), e.Last.Local().Format(time.DateTime))
			fmt.Fprintf(&b, "    → %s\n", config.Escape(e.Hint))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// groupRank orders the groups: files before the network, by operation.
func groupRank(g string) string {
	ranks := []string{"file read", "file write", "file create", "file delete", "file exec", "file probe", "network dns", "network connect"}
	if i := slices.Index(ranks, g); i >= 0 {
		return strconv.Itoa(i)
	}
	return "z" + g
}

// groupTitle names a group.
func groupTitle(g string) string {
	titles := map[string]string{
		"file read": "denied reads", "file write": "denied writes", "file create": "denied creations",
		"file delete": "denied deletions", "file exec": "denied executions",
		"file probe":  "checks of hidden or refused paths (stat, access, readlink)",
		"network dns": "names that did not resolve", "network connect": "refused connections",
	}
	if t, ok := titles[g]; ok {
		return t
	}
	return "denied " + g
}
