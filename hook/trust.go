package hook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// State is the trust state of a project file.
type State int

// The trust states a project file can be in.
const (
	// Unknown: the file was never allowed (or its records were pruned).
	Unknown State = iota
	// Allowed: an allow record matches the file's current path and content.
	Allowed
	// Changed: the file was allowed before, but its content differs now.
	Changed
	// Denied: the user ran `pent deny` on this path.
	Denied
)

// String returns the lower-case name of s.
func (s State) String() string {
	switch s {
	case Allowed:
		return "allowed"
	case Changed:
		return "changed"
	case Denied:
		return "denied"
	default:
		return "unknown"
	}
}

// Trust is the trust store: allow records under Dir/allow, named
// sha256(abs path + "\n" + content) and holding the absolute path, and deny
// records under Dir/deny, named sha256(abs path + "\n") and holding the path.
// Dir is $XDG_DATA_HOME/pent (default ~/.local/share/pent), computed by the
// caller.
type Trust struct{ Dir string }

const (
	allowDir   = "allow"
	denyDir    = "deny"
	tempPrefix = ".tmp-"
)

// Check reports the trust state of the project file.
func (t Trust) Check(file string) (State, error) {
	path, content, err := readProject(file)
	if err != nil {
		return Unknown, err
	}
	denied, err := exists(t.denyRecord(path))
	if err != nil || denied {
		return Denied, err
	}
	allowed, err := exists(t.allowRecord(path, content))
	if err != nil || allowed {
		return Allowed, err
	}
	older, err := t.allowRecordsFor(path)
	if err != nil {
		return Unknown, err
	}
	if len(older) > 0 {
		return Changed, nil
	}
	return Unknown, nil
}

// Allow records trust in the file's current content. It removes older allow
// records for the same path and any deny record.
func (t Trust) Allow(file string) error {
	path, content, err := readProject(file)
	if err != nil {
		return err
	}
	record := t.allowRecord(path, content)
	if err := writeRecord(record, path); err != nil {
		return err
	}
	older, err := t.allowRecordsFor(path)
	if err != nil {
		return err
	}
	for _, r := range older {
		if r != record {
			if err := removeRecord(r); err != nil {
				return err
			}
		}
	}
	return removeRecord(t.denyRecord(path))
}

// Deny records that the file's path must not be used, whatever its content,
// and removes every allow record for the path.
func (t Trust) Deny(file string) error {
	path, err := canonicalPath(file)
	if err != nil {
		return err
	}
	if err := writeRecord(t.denyRecord(path), path); err != nil {
		return err
	}
	allows, err := t.allowRecordsFor(path)
	if err != nil {
		return err
	}
	for _, r := range allows {
		if err := removeRecord(r); err != nil {
			return err
		}
	}
	return nil
}

// Prune removes allow records whose file no longer exists or whose content
// changed, deny records whose file no longer exists, and leftover temporary
// files. It returns the paths of the removed records.
func (t Trust) Prune() (removed []string, err error) {
	for _, sub := range []string{allowDir, denyDir} {
		dir := filepath.Join(t.Dir, sub)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("trust store: %w", err)
		}
		for _, e := range entries {
			record := filepath.Join(dir, e.Name())
			stale, err := t.stale(sub, record)
			if err != nil {
				return removed, err
			}
			if !stale {
				continue
			}
			if err := removeRecord(record); err != nil {
				return removed, err
			}
			removed = append(removed, record)
		}
	}
	return removed, nil
}

// RecordPath returns the path of the allow record that matches the file's
// current path and content, whether or not it exists; the shell hook watches
// it to notice `pent allow` without a directory change.
func (t Trust) RecordPath(file string) (string, error) {
	path, content, err := readProject(file)
	if err != nil {
		return "", err
	}
	return t.allowRecord(path, content), nil
}

// DenyRecordPath returns the path of the deny record for file, whether or not
// it exists; the shell hook watches it.
func (t Trust) DenyRecordPath(file string) (string, error) {
	path, err := canonicalPath(file)
	if err != nil {
		return "", err
	}
	return t.denyRecord(path), nil
}

// stale reports whether a record under sub (allow or deny) no longer applies.
func (t Trust) stale(sub, record string) (bool, error) {
	name := filepath.Base(record)
	if strings.HasPrefix(name, tempPrefix) {
		return true, nil
	}
	data, err := os.ReadFile(record)
	if err != nil {
		return false, fmt.Errorf("trust store: %w", err)
	}
	path := string(data)
	content, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("trust store: reading %s: %w", path, err)
	}
	return sub == allowDir && record != t.allowRecord(path, content), nil
}

// allowRecordsFor lists the allow records whose content names path.
func (t Trust) allowRecordsFor(path string) ([]string, error) {
	dir := filepath.Join(t.Dir, allowDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		record := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(record)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		if string(data) == path {
			out = append(out, record)
		}
	}
	return out, nil
}

func (t Trust) allowRecord(path string, content []byte) string {
	h := sha256.New()
	h.Write([]byte(path + "\n"))
	h.Write(content)
	return filepath.Join(t.Dir, allowDir, hex.EncodeToString(h.Sum(nil)))
}

func (t Trust) denyRecord(path string) string {
	sum := sha256.Sum256([]byte(path + "\n"))
	return filepath.Join(t.Dir, denyDir, hex.EncodeToString(sum[:]))
}

// canonicalPath makes file absolute and resolves symlinks in its directory
// (not in the file name itself), so that trust follows the project's real
// location whichever way the shell reached it, while a .pent.toml symlinked
// into two projects is trusted separately in each.
func canonicalPath(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("project file %s: %w", file, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", fmt.Errorf("project file %s: %w", file, err)
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// readProject returns the canonical path and the content of a project file.
func readProject(file string) (string, []byte, error) {
	path, err := canonicalPath(file)
	if err != nil {
		return "", nil, err
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("project file: %w", err)
	}
	return path, content, nil
}

// writeRecord atomically writes a 0600 record holding path, creating its
// directory 0700.
func writeRecord(record, path string) error {
	dir := filepath.Dir(record)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	_, werr := tmp.WriteString(path)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), record)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("trust store: writing %s: %w", record, werr)
	}
	return nil
}

func removeRecord(record string) error {
	if err := os.Remove(record); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("trust store: %w", err)
	}
	return nil
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("trust store: %w", err)
}
