package run

import (
	"bytes"
	"os"
	"path/filepath"
	"time"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/trace"
)

// daemonLogLines is how many recent decisions a traced run asks the
// project's proxy for: all it keeps.
const daemonLogLines = 1000

// traceRun collects the denials of one run: all of them for `pent run
// --trace`, the proxy's for the summary a proxy-mode run prints at exit.
type traceRun struct {
	hinter trace.Hinter
	rec    *trace.Recorder
	log    string // where the entries go
	start  time.Time
	// daemon is the project's proxy when the run uses it: its decisions
	// of this pent process are read from it after the run.
	daemon *proxy.Client
	// proxyLog is a private proxy's decision log, for the summary to point at.
	proxyLog string
}

// newTraceRun prepares the trace of the run.
func (x *runner) newTraceRun() *traceRun {
	l := x.c
	cfg := "your global config"
	if x.h.GlobalConfig != "" {
		cfg = config.Tilde(x.h.GlobalConfig, l.Home)
	}
	if l.ProjectFile != "" {
		cfg = filepath.Base(l.ProjectFile)
		if filepath.Base(filepath.Dir(l.ProjectFile)) == ".pent" {
			cfg = ".pent/" + cfg
		}
	}
	return &traceRun{
		hinter: trace.Hinter{Home: l.Home, Config: cfg, HostExecuted: x.h.HostExecuted},
		log:    trace.LogPath(l.ProjectRoot, x.h.StateDir),
		start:  time.Now().UTC(),
	}
}

// recorder is the run's Recorder, created once the proxy's allowlist (if
// any) is known.
func (t *traceRun) recorder() *trace.Recorder {
	if t.rec == nil {
		t.rec = trace.NewRecorder(t.hinter)
	}
	return t.rec
}

// Write takes the private proxy's decision lines.
func (t *traceRun) Write(p []byte) (int, error) { return t.recorder().Write(p) }

// collect adds the project proxy's decisions of this run, if it used the
// project's proxy. Call it once, after the run.
func (t *traceRun) collect(out Output) {
	if t.daemon != nil {
		if err := t.collectDaemon(t.recorder(), out); err != nil {
			out.Warn("could not read the project proxy's decisions: %v", err)
		}
	}
}

// finish appends the run's entries (collected) to the log and says what was
// found.
func (t *traceRun) finish(out Output, home string) error {
	entries := t.recorder().Entries()
	if err := trace.AppendLog(t.log, entries); err != nil {
		return err
	}
	if len(entries) == 0 {
		out.Say("trace: nothing was denied")
		return nil
	}
	out.Say("trace: %d denial(s) recorded in %s — `pent trace show` lists them, `pent trace suggest` turns them into config",
		len(entries), config.Tilde(t.log, home))
	return nil
}

// collectDaemon adds the project proxy's denials of this pent process
// since the run started. The daemon keeps its last daemonLogLines
// decisions only; when they all belong to this run, earlier ones may be
// lost, and the user is told.
func (t *traceRun) collectDaemon(rec *trace.Recorder, out Output) error {
	data, err := t.daemon.Logs(daemonLogLines)
	if err != nil {
		return err
	}
	lines, ours := 0, 0
	pid := os.Getpid()
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		d, ok := proxy.ParseDecision(line)
		if !ok {
			continue
		}
		lines++
		if d.PID == pid && !d.Time.Before(t.start) {
			ours++
			rec.AddDecision(d)
		}
	}
	if lines >= daemonLogLines && ours == lines {
		out.Warn("trace: the project's proxy keeps its last %d decisions only; earlier network denials of this run may be missing", daemonLogLines)
	}
	return nil
}

// AdoptTraceLog moves the trace log of the project at root from where
// earlier versions of pent kept it, inside the project, to pent's state
// directory (trace.AdoptLegacyLog), and says so on out.
func AdoptTraceLog(out Output, root, stateDir, home string) {
	old, err := trace.AdoptLegacyLog(root, stateDir)
	switch {
	case err != nil:
		out.Warn("%v", err)
	case old != "":
		out.Say("moved the trace log from %s to %s", config.Tilde(old, home), config.Tilde(trace.LogPath(root, stateDir), home))
	}
}
