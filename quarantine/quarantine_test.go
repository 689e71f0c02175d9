package quarantine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPutListRestoreDrop(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	root := t.TempDir()
	other := t.TempDir()
	envrc := filepath.Join(root, ".envrc")
	claude := filepath.Join(root, ".claude")
	write(t, envrc, "export A=1\n")
	write(t, filepath.Join(claude, "settings.json"), "{}\n")
	if err := os.Symlink("/etc/passwd", filepath.Join(other, ".mcp.json")); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range []struct{ root, path string }{{root, envrc}, {root, claude}, {other, filepath.Join(other, ".mcp.json")}} {
		e, err := s.Put(p.root, p.path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(p.path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", p.path, err)
		}
		ids = append(ids, e.ID)
	}
	if _, err := s.Put(root, envrc); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put of a missing path: %v", err)
	}
	if fi, err := os.Stat(s.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("quarantine directory: %v %v", fi, err)
	}

	mine, err := s.List(root)
	if err != nil || len(mine) != 2 || mine[0].Path != envrc || mine[1].Path != claude {
		t.Fatalf("List(root) = %+v, %v", mine, err)
	}
	all, err := s.List("")
	if err != nil || len(all) != 3 {
		t.Fatalf("List() = %+v, %v", all, err)
	}

	e, err := s.Find(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	write(t, envrc, "host edit\n")
	if err := s.Restore(e); err == nil {
		t.Fatal("Restore overwrote a host file")
	}
	if got := read(t, envrc); got != "host edit\n" {
		t.Fatalf("the host file changed: %q", got)
	}
	if err := os.Remove(envrc); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(e); err != nil {
		t.Fatal(err)
	}
	if got := read(t, envrc); got != "export A=1\n" {
		t.Errorf("restored %q", got)
	}
	if _, err := s.Find(ids[0]); err == nil {
		t.Error("a restored entry is still listed")
	}

	e, err = s.Find(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(e.Content(), "settings.json")); got != "{}\n" {
		t.Errorf("quarantined content %q", got)
	}
	if err := s.Drop(e); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.List(""); len(all) != 1 {
		t.Errorf("after restore and drop: %+v", all)
	}
}

func TestCopyTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	write(t, filepath.Join(src, "a", "b.txt"), "b\n")
	if err := os.Symlink("b.txt", filepath.Join(src, "a", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "a", "b.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dst, "a", "link")); got != "b\n" {
		t.Errorf("copied link reads %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dst, "a", "b.txt")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode not kept: %v %v", fi, err)
	}
	if err := copyTree(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Errorf("copy over an existing tree: %v", err)
	}
}

func TestAbandoned(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	live, err := s.BeginRun([]byte("live"))
	if err != nil {
		t.Fatal(err)
	}
	// A record whose pent died: written, never locked.
	write(t, filepath.Join(s.Dir, runsDir, "1-1.json"), "dead")
	beat := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(s.Dir, runsDir, "1-1.json"), beat, beat); err != nil {
		t.Fatal(err)
	}
	var got []string
	var alive time.Time
	finish := func(data []byte, last time.Time) error { got, alive = append(got, string(data)), last; return nil }
	if err := s.Abandoned(finish); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "dead" {
		t.Fatalf("finished %q, want only the dead run", got)
	}
	if !alive.Equal(beat) {
		t.Errorf("the dead run was last alive at %v, want its record's last beat %v", alive, beat)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, runsDir, "1-1.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the finished record is still there: %v", err)
	}
	// A failing finish keeps the record for the next pent.
	write(t, filepath.Join(s.Dir, runsDir, "2-2.json"), "dead")
	if err := s.Abandoned(func([]byte, time.Time) error { return errors.New("no") }); err == nil {
		t.Error("the error of finish was lost")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, runsDir, "2-2.json")); err != nil {
		t.Errorf("a record that could not be finished was removed: %v", err)
	}
	if err := live.End(); err != nil {
		t.Fatal(err)
	}
}

func TestOriginUnknown(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	root := t.TempDir()
	write(t, filepath.Join(root, ".envrc"), "x\n")
	e, err := s.Put(root, filepath.Join(root, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	// As if pent died between the move and the record.
	if err := os.Remove(filepath.Join(e.dir, metaFile)); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(root)
	if err != nil || len(list) != 1 || list[0].Path != "" || list[0].ID != e.ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := s.Restore(list[0]); err == nil {
		t.Error("restored an entry of unknown origin")
	}
	if got := read(t, list[0].Content()); got != "x\n" {
		t.Errorf("content %q", got)
	}
}
