//go:build linux

package quarantine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPutFailsClosed: an entry the host cannot move into the quarantine as
// it is still leaves its protected name: a directory without write
// permission is moved after a chmod, and a FIFO on another file system is
// renamed in place; restore and drop handle both.
func TestPutFailsClosed(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "pent-q-")
	if err != nil {
		t.Skipf("no /dev/shm for a second file system: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	var a, b syscall.Statfs_t
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	if syscall.Statfs(shm, &a) != nil || syscall.Statfs(filepath.Dir(s.Dir), &b) != nil || a.Type == b.Type {
		t.Skip("/dev/shm and the temporary directory are the same kind of file system here")
	}
	root := t.TempDir()
	claude := filepath.Join(root, ".claude")
	write(t, filepath.Join(claude, "settings.json"), "{}\n")
	if err := os.Chmod(claude, 0o555); err != nil {
		t.Fatal(err)
	}
	e, err := s.Put(root, claude)
	if err != nil || e.Kept != "" {
		t.Fatalf("Put of a read-only directory: %+v %v", e, err)
	}
	if fi, err := os.Stat(e.Content()); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("the quarantined directory's mode: %v %v", fi, err)
	}
	if got := read(t, filepath.Join(e.Content(), "settings.json")); got != "{}\n" {
		t.Errorf("content: %q", got)
	}

	fifo := filepath.Join(shm, ".envrc")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := s.Put(shm, fifo)
	if err != nil {
		t.Fatal(err)
	}
	if k.Kept != fifo+KeptMark+k.ID || !s.IsKept(shm, k.Kept) || s.IsKept(shm, fifo) {
		t.Fatalf("kept in place as %q", k.Kept)
	}
	// A name the sandboxed command chose is not one pent kept: no record,
	// another ID, or another project's record.
	for _, forged := range []string{filepath.Join(shm, "tools"+KeptMark+"1"), filepath.Join(shm, "x"+KeptMark+k.ID), filepath.Join(shm, "sub", ".envrc"+KeptMark+k.ID)} {
		if s.IsKept(shm, forged) {
			t.Errorf("IsKept(%s) with no such record", forged)
		}
	}
	if s.IsKept(root, k.Kept) {
		t.Errorf("IsKept of another project's entry")
	}
	if _, err := os.Lstat(fifo); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the FIFO kept its protected name: %v", err)
	}
	found, err := s.Find(k.ID)
	if err != nil || found.Content() != k.Kept {
		t.Fatalf("Find: %+v %v", found, err)
	}
	if err := s.Restore(found); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		t.Fatalf("restored: %v %v", fi, err)
	}
	if k, err = s.Put(shm, fifo); err != nil || k.Kept == "" {
		t.Fatalf("Put again: %+v %v", k, err)
	}
	if err := s.Drop(k); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(k.Kept); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("drop left %s: %v", k.Kept, err)
	}
}

// TestReadRefusesForeignPaths: a record naming a path outside its project,
// or an in-place name Put would not give, is refused, so that restore and
// drop never act on it.
func TestReadRefusesForeignPaths(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for _, meta := range []string{
		`{"path":"/home/u/.bashrc","root":"/home/u/src/p"}`,
		`{"path":"/home/u/src/p/../../.bashrc","root":"/home/u/src/p"}`,
		`{"path":"/home/u/src/p/.envrc","root":"/home/u/src/p","kept":"/home/u/.ssh"}`,
		`{"path":"/home/u/src/px/.envrc","root":"/home/u/src/p"}`,
	} {
		dir := filepath.Join(s.Dir, "k", "20260101T000000.000000000-1")
		write(t, filepath.Join(dir, metaFile), meta)
		if _, err := s.List(""); err == nil {
			t.Errorf("List accepted %s", meta)
		}
	}
}
