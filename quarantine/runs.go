package quarantine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runsDir holds the records of running pent processes.
const runsDir = "runs"

// Run is the record of one running pent: what it guards, so that the next
// pent can finish the job if this one is killed. The record stays locked
// (flock) while the run lives.
type Run struct {
	f *os.File
}

// BeginRun writes a record holding data and locks it until End.
func (s Store) BeginRun(data []byte) (*Run, error) {
	dir := filepath.Join(s.Dir, runsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recording the run: %w", err)
	}
	name := filepath.Join(dir, fmt.Sprintf("%d-%d.json", os.Getpid(), time.Now().UnixNano()))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recording the run: %w", err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
	if err == nil {
		_, err = f.Write(data)
	}
	if err != nil {
		f.Close()
		os.Remove(name)
		return nil, fmt.Errorf("recording the run: %w", err)
	}
	return &Run{f: f}, nil
}

// Beat marks the record as alive now (its modification time): a run
// whose pent was killed is known to have ended no later than a beat
// interval after the last one (Abandoned's alive).
func (r *Run) Beat() error {
	now := time.Now()
	return os.Chtimes(r.f.Name(), now, now)
}

// End removes the record.
func (r *Run) End() error {
	err := os.Remove(r.f.Name())
	r.f.Close()
	if err != nil {
		return fmt.Errorf("removing the run record: %w", err)
	}
	return nil
}

// Abandoned calls finish with the data of every record whose pent died
// (its lock is free), and the time its pent last marked it alive (Beat),
// and removes the record when finish succeeds.
func (s Store) Abandoned(finish func(data []byte, alive time.Time) error) error {
	dir := filepath.Join(s.Dir, runsDir)
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the run records: %w", err)
	}
	var first error
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".json") {
			continue
		}
		if err := s.finishRun(filepath.Join(dir, n.Name()), finish); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// finishRun handles one record if its owner is gone.
func (s Store) finishRun(name string, finish func([]byte, time.Time) error) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // finished meanwhile
	}
	if err != nil {
		return fmt.Errorf("reading the run record %s: %w", name, err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil // its pent is still running
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Nlink == 0 {
		return nil // removed by another pent before we got the lock
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading the run record %s: %w", name, err)
	}
	if err := finish(data, time.Unix(st.Mtim.Unix())); err != nil {
		return err
	}
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("removing the run record %s: %w", name, err)
	}
	return nil
}
