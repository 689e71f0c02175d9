package run

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/quarantine"
	"github.com/pent-sandbox/pent/sandbox"
)

// guardRun keeps a run's guard: the record for the next pent if this one is
// killed (marked alive every beatInterval), the host-side watch, and the
// entries it moved.
type guardRun struct {
	mover
	record *quarantine.Run
	watch  *sandbox.GuardWatch
	beats  chan struct{} // closed to stop the beats
}

// beatInterval is how often a running pent marks its record alive; the
// sweep of a killed run leaves what was born two intervals after the
// last mark, which its command could not have made.
const beatInterval = time.Second

// startGuard records g and starts watching it; call finish after the run.
func startGuard(store quarantine.Store, g sandbox.Guard) (*guardRun, error) {
	data, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("recording the protected entries: %w", err)
	}
	r := &guardRun{mover: mover{store: store}}
	if r.record, err = store.BeginRun(data); err != nil {
		return nil, err
	}
	if r.watch, err = sandbox.WatchGuard(g, r.move); err != nil {
		_ = r.record.End()
		return nil, err
	}
	r.beats = make(chan struct{})
	go r.beat()
	return r, nil
}

// beat marks the record alive until finish.
func (r *guardRun) beat() {
	tick := time.NewTicker(beatInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.beats:
			return
		case <-tick.C:
			_ = r.record.Beat()
		}
	}
}

// mover quarantines the entries a guard finds and keeps what it did.
type mover struct {
	store quarantine.Store
	// since, when set, is when the run's command had surely ended (a
	// killed run's): an entry born after it is the host's own and stays.
	since time.Time

	mu    sync.Mutex
	moved []quarantine.Entry
}

// move quarantines one entry; one already renamed in place is left so.
func (m *mover) move(root, path string) error {
	if m.store.IsKept(root, path) {
		return nil
	}
	if born, ok := quarantine.Born(path); ok && !m.since.IsZero() && born.After(m.since) {
		return nil
	}
	e, err := m.store.Put(root, path)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.moved = append(m.moved, e)
	m.mu.Unlock()
	return nil
}

// report names each moved entry and how to get it back, and fails (one
// line, exit status 1) when something could not be moved: err, the
// guard's error, or an entry left in place under another name.
func (m *mover) report(out Output, home string, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inPlace := 0
	for _, e := range m.moved {
		if e.Kept != "" {
			inPlace++
			out.Warn("the sandboxed command created %s, which pent protects: pent could not move it to the quarantine and renamed it in place to %s; review it, then `pent quarantine restore %s` or `drop %s`",
				config.Tilde(e.Path, home), config.Tilde(e.Kept, home), e.ID, e.ID)
			continue
		}
		out.Warn("the sandboxed command created %s, which pent protects: moved it to the quarantine as %s; review it with `pent quarantine list`, then `pent quarantine restore %s` or `drop %s`",
			config.Tilde(e.Path, home), e.ID, e.ID, e.ID)
	}
	switch {
	case err != nil:
		out.Say("%v: it may still be where the sandboxed command put it; check the project's protected entries (.git, .envrc, .claude…) before using it outside the sandbox", err)
	case inPlace > 0:
		out.Say("%d protected entries could not be moved to the quarantine and were renamed in place; the run counts as failed", inPlace)
	default:
		return nil
	}
	return ErrFailed
}

// finish stops the watch (a last sweep included), removes the record and
// says what was moved aside; it fails when something could not be.
func (r *guardRun) finish(out Output, home string) error {
	close(r.beats)
	err := r.watch.Stop()
	for _, p := range r.watch.Replaced() {
		out.Say("the sandboxed command tried to replace %s (it created %s.lock), which pent keeps read-only in the sandbox; make that change outside the sandbox, e.g. run `git config` there",
			config.Tilde(p, home), filepath.Base(p))
	}
	if rerr := r.record.End(); rerr != nil {
		out.Warn("%v", rerr)
	}
	return r.report(out, home, err)
}

// RecoverGuards finishes the guard of runs whose pent was killed: what
// appeared in their guarded directories since they started, and before
// their command could no longer write, is quarantined and reported on out.
// What was born later (where the file system records birth times) is the
// host's: `git worktree add` after the kill writes .git/worktrees.
func RecoverGuards(store quarantine.Store, home string, out Output) error {
	return store.Abandoned(func(data []byte, alive time.Time) error {
		var g sandbox.Guard
		if err := json.Unmarshal(data, &g); err != nil {
			return fmt.Errorf("reading the record of a killed run: %w", err)
		}
		if err := g.Check(home); err != nil {
			return fmt.Errorf("the record of a killed run: %w", err)
		}
		m := &mover{store: store, since: alive.Add(2 * beatInterval)}
		_ = m.report(out, home, g.FinalSweep(m.move))
		return nil
	})
}
