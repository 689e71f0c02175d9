// Package trust is pent's trust store: the records of which project files,
// with which content, the user allowed (`pent allow`) or denied (`pent
// deny`), kept under $XDG_DATA_HOME/pent. A project file grants nothing
// until its exact content is allowed; the shell hook, config loading and
// `pent allow` all ask it.
package trust

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pent-sandbox/pent/config"
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

// Trust is the trust store. An allow record lives under Dir/allow, is named
// by the hex sha256 of the length-prefixed pair (absolute path, content) — see
// allowKey — and holds the path and the trusted content (JSON), so that a
// re-allow can show what changed and a changed file keeps its last trusted
// wrap list. A deny record lives under Dir/deny, is named sha256(abs path +
// "\n") and holds the path. Records of the first format (named
// sha256(path + "\n" + content), holding only the path) match nothing: a
// file allowed under them is Changed until the user reviews it again. Dir is
// $XDG_DATA_HOME/pent (default ~/.local/share/pent), computed by the caller.
type Trust struct{ Dir string }

const (
	allowDir   = "allow"
	denyDir    = "deny"
	tempPrefix = ".tmp-"
	// recordFormat names the allow record format; it is part of the hashed
	// key, so a record of another format can never match.
	recordFormat = "pent-allow-v2"
)

// Snapshot is a project file as read once: its canonical path and the bytes
// that are both hashed for trust and parsed for policy.
type Snapshot struct {
	Path    string
	Content []byte
}

// ReadProject reads a project file once (config.ReadFile: regular files
// only, no symlink at the final component, at most config.MaxFileSize).
func ReadProject(file string) (Snapshot, error) {
	path, err := canonicalPath(file)
	if err != nil {
		return Snapshot{}, err
	}
	content, err := config.ReadFile(path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("project file: %w", err)
	}
	return Snapshot{Path: path, Content: content}, nil
}

// record is the content of an allow record. Path and Content are bytes
// (base64 in JSON), so that a path or content that is not UTF-8 is kept
// exactly.
type record struct {
	Format  string `json:"format"`
	Path    []byte `json:"path"`
	Content []byte `json:"content"`
}

// Check reports the trust state of the snapshot.
func (t Trust) Check(s Snapshot) (State, error) {
	denied, err := exists(t.denyRecord(s.Path))
	if err != nil || denied {
		return Denied, err
	}
	allowed, err := exists(t.allowRecord(s))
	if err != nil || allowed {
		return Allowed, err
	}
	older, err := t.allowRecordsFor(s.Path)
	if err != nil {
		return Unknown, err
	}
	if len(older) > 0 {
		return Changed, nil
	}
	return Unknown, nil
}

// Allow records trust in the snapshot's content. It removes older allow
// records for the same path and any deny record.
func (t Trust) Allow(s Snapshot) error {
	rec := t.allowRecord(s)
	data, err := json.Marshal(record{Format: recordFormat, Path: []byte(s.Path), Content: s.Content})
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	if err := writeRecord(rec, data); err != nil {
		return err
	}
	older, err := t.allowRecordsFor(s.Path)
	if err != nil {
		return err
	}
	for _, r := range older {
		if r.name != rec {
			if err := removeRecord(r.name); err != nil {
				return err
			}
		}
	}
	return removeRecord(t.denyRecord(s.Path))
}

// LastTrusted returns the content last allowed for the canonical path, and
// false when there is none (never allowed, or allowed under the first record
// format, which kept no content).
func (t Trust) LastTrusted(path string) ([]byte, bool, error) {
	recs, err := t.allowRecordsFor(path)
	if err != nil {
		return nil, false, err
	}
	for _, r := range recs {
		if r.Format == recordFormat {
			return r.Content, true, nil
		}
	}
	return nil, false, nil
}

// Deny records that the file's path must not be used, whatever its content,
// and removes every allow record for the path.
func (t Trust) Deny(file string) error {
	path, err := canonicalPath(file)
	if err != nil {
		return err
	}
	if err := writeRecord(t.denyRecord(path), []byte(path)); err != nil {
		return err
	}
	allows, err := t.allowRecordsFor(path)
	if err != nil {
		return err
	}
	for _, r := range allows {
		if err := removeRecord(r.name); err != nil {
			return err
		}
	}
	return nil
}

// Prune removes allow records whose file no longer exists or whose content
// changed, deny records whose file no longer exists, and leftover temporary
// files. It returns the project files whose records it removed.
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
			rec := filepath.Join(dir, e.Name())
			project, stale, err := t.stale(sub, rec)
			if err != nil {
				return removed, err
			}
			if !stale {
				continue
			}
			if err := removeRecord(rec); err != nil {
				return removed, err
			}
			if project != "" {
				removed = append(removed, project)
			}
		}
	}
	return removed, nil
}

// RecordPath returns the path of the allow record that matches the
// snapshot, whether or not it exists; the shell hook watches it to notice
// `pent allow` without a directory change.
func (t Trust) RecordPath(s Snapshot) string { return t.allowRecord(s) }

// DenyRecordPath returns the path of the deny record for file, whether or not
// it exists; the shell hook watches it.
func (t Trust) DenyRecordPath(file string) (string, error) {
	path, err := canonicalPath(file)
	if err != nil {
		return "", err
	}
	return t.denyRecord(path), nil
}

// stale reports whether a record under sub (allow or deny) no longer
// applies, and the project file it names ("" for a temporary file).
func (t Trust) stale(sub, rec string) (project string, stale bool, err error) {
	if strings.HasPrefix(filepath.Base(rec), tempPrefix) {
		return "", true, nil
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		return "", false, fmt.Errorf("trust store: %w", err)
	}
	if sub == denyDir {
		path := string(data)
		_, err := os.Lstat(path)
		return path, errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR), nil
	}
	path := string(parseRecord(rec, data).Path)
	s, err := ReadProject(path)
	if err != nil {
		// Gone, or no longer a file pent reads: the record can never match.
		return path, true, nil
	}
	return path, rec != t.allowRecord(s), nil
}

// storedRecord is an allow record on disk and what it holds.
type storedRecord struct {
	record
	name string
}

// parseRecord reads an allow record; one of the first format holds only the
// path.
func parseRecord(name string, data []byte) storedRecord {
	var r record
	if json.Unmarshal(data, &r) != nil || r.Format != recordFormat {
		r = record{Path: data}
	}
	return storedRecord{record: r, name: name}
}

// allowRecordsFor lists the allow records that name path.
func (t Trust) allowRecordsFor(path string) ([]storedRecord, error) {
	recs, err := t.allowRecords()
	if err != nil {
		return nil, err
	}
	var out []storedRecord
	for _, r := range recs {
		if string(r.Path) == path {
			out = append(out, r)
		}
	}
	return out, nil
}

// AllowDir is the directory of allow records: a record written there can
// change whether a project file counts (the project proxy watches it).
func (t Trust) AllowDir() string { return filepath.Join(t.Dir, allowDir) }

// allowRecords lists every allow record.
func (t Trust) allowRecords() ([]storedRecord, error) {
	dir := t.AllowDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	var out []storedRecord
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		out = append(out, parseRecord(name, data))
	}
	return out, nil
}

// RecordedPaths is the set of paths that have an allow record.
func (t Trust) RecordedPaths() (map[string]bool, error) {
	recs, err := t.allowRecords()
	if err != nil {
		return nil, err
	}
	paths := make(map[string]bool, len(recs))
	for _, r := range recs {
		paths[string(r.Path)] = true
	}
	return paths, nil
}

// allowRecord names the allow record of s.
func (t Trust) allowRecord(s Snapshot) string {
	sum := sha256.Sum256(allowKey(s))
	return filepath.Join(t.AllowDir(), hex.EncodeToString(sum[:]))
}

// allowKey encodes the record format, the path and the content, each
// prefixed by its length, so that no two (path, content) pairs share a key.
func allowKey(s Snapshot) []byte {
	var b []byte
	for _, field := range [][]byte{[]byte(recordFormat), []byte(s.Path), s.Content} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(field)))
		b = append(b, field...)
	}
	return b
}

func (t Trust) denyRecord(path string) string {
	sum := sha256.Sum256([]byte(path + "\n"))
	return filepath.Join(t.Dir, denyDir, hex.EncodeToString(sum[:]))
}

// canonicalPath makes file absolute and resolves symlinks in its directory
// (not in the file name itself), so that trust follows the project's real
// location whichever way the shell reached it, while a .pent.toml symlinked
// into two projects is trusted separately in each. Directories that no longer
// exist at the end of the path (a deleted .pent directory) are kept as named,
// so that a vanished trusted file keeps its path.
func canonicalPath(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("project file %s: %w", file, err)
	}
	rest := filepath.Base(abs)
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return "", fmt.Errorf("project file %s: %w", file, err)
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// writeRecord atomically writes a 0600 record holding data, creating its
// directory 0700.
func writeRecord(record string, data []byte) error {
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
	_, werr := tmp.Write(data)
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
