package trace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/pent-sandbox/pent/statedir"
)

// logName is the trace log's file name.
const logName = "trace.log"

// legacyDir is the directory in the project where pent kept a project's
// trace log before it moved it to the state directory.
const legacyDir = ".pent"

// maxLegacyLog bounds the old log AdoptLegacyLog reads.
const maxLegacyLog = 16 << 20

// LogPath is where a run's denials go: the project's own directory in the
// state directory (statedir.Project), or <state dir>/trace.log
// ($XDG_STATE_HOME/pent) without a project. Never inside the project.
func LogPath(projectRoot, stateDir string) string {
	if projectRoot != "" {
		return filepath.Join(statedir.Project(stateDir, projectRoot), logName)
	}
	return filepath.Join(stateDir, logName)
}

// AdoptLegacyLog moves a project's trace log from where earlier versions
// of pent kept it, <root>/.pent/trace.log, to the end of LogPath, and
// removes .pent if that leaves it empty (a .pent/pent.toml project file
// stays). It returns the old path when it moved a log, "" when there was
// none.
//
// The old log is inside the project, which a sandboxed command can write:
// neither .pent nor the log may be a symbolic link (a link is left alone),
// the log must be a regular file of at most 16 MiB, and only the entries
// Read accepts are carried over, written anew by Append.
func AdoptLegacyLog(projectRoot, stateDir string) (string, error) {
	if projectRoot == "" {
		return "", nil
	}
	old := filepath.Join(projectRoot, legacyDir, logName)
	dir, err := unix.Open(filepath.Join(projectRoot, legacyDir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("looking for the old trace log %s: %w", old, err)
	}
	defer unix.Close(dir)
	path := LogPath(projectRoot, stateDir)
	notPlain := fmt.Errorf("the old trace log %s is not a regular file of at most 16 MiB: remove it (pent keeps the log in %s now)", old, path)
	fd, err := unix.Openat(dir, logName, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return "", nil
	case errors.Is(err, unix.ELOOP):
		return "", notPlain
	case err != nil:
		return "", fmt.Errorf("reading the old trace log %s: %w", old, err)
	}
	f := os.NewFile(uintptr(fd), old)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxLegacyLog {
		return "", notPlain
	}
	entries, err := Read(io.LimitReader(f, maxLegacyLog))
	if err != nil {
		return "", fmt.Errorf("%s: %w: remove it (pent keeps the log in %s now)", old, err, path)
	}
	if err := AppendLog(path, entries); err != nil {
		return "", err
	}
	if err := unix.Unlinkat(dir, logName, 0); err != nil {
		return "", fmt.Errorf("removing the old trace log %s after moving it to %s: %w", old, path, err)
	}
	_ = os.Remove(filepath.Dir(old)) // rmdir: only if empty, and never through a link
	return old, nil
}

// AppendLog appends entries to the log at path, creating it (0600) and its
// directory (0700).
func AppendLog(path string, entries []Entry) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the directory of the trace log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the trace log: %w", err)
	}
	if err := Append(f, entries); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
