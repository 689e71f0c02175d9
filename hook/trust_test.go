package hook

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// trustFixture makes a trust store and a project file with the given content.
func trustFixture(t *testing.T, content string) (Trust, string) {
	t.Helper()
	base := t.TempDir()
	proj := filepath.Join(base, "proj dir")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(proj, ProjectFile)
	writeFile(t, file, content)
	return Trust{Dir: filepath.Join(base, "data", "pent")}, file
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustCheck(t *testing.T, tr Trust, file string) State {
	t.Helper()
	s, err := tr.Check(file)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return s
}

func TestTrustTransitions(t *testing.T) {
	type step struct {
		do   string // allow, deny, edit, restore, remove
		want State
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"never allowed", []step{{"", Unknown}}},
		{"allow", []step{{"allow", Allowed}}},
		{"allow twice", []step{{"allow", Allowed}, {"allow", Allowed}}},
		{"edit after allow", []step{{"allow", Allowed}, {"edit", Changed}}},
		{"edit back to allowed content", []step{{"allow", Allowed}, {"edit", Changed}, {"restore", Allowed}}},
		{"re-allow after edit drops old record", []step{{"allow", Allowed}, {"edit", Changed}, {"allow", Allowed}, {"restore", Changed}}},
		{"deny", []step{{"deny", Denied}}},
		{"deny after allow", []step{{"allow", Allowed}, {"deny", Denied}}},
		{"deny survives edits", []step{{"deny", Denied}, {"edit", Denied}}},
		{"allow after deny", []step{{"deny", Denied}, {"allow", Allowed}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, file := trustFixture(t, "wrap = [\"npm\"]\n")
			for i, s := range tc.steps {
				var err error
				switch s.do {
				case "allow":
					err = tr.Allow(file)
				case "deny":
					err = tr.Deny(file)
				case "edit":
					writeFile(t, file, "wrap = [\"npm\", \"node\"]\n")
				case "restore":
					writeFile(t, file, "wrap = [\"npm\"]\n")
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", i, s.do, err)
				}
				if got := mustCheck(t, tr, file); got != s.want {
					t.Fatalf("step %d %s: state %v, want %v", i, s.do, got, s.want)
				}
			}
		})
	}
}

func TestTrustRecordFormat(t *testing.T) {
	tr, file := trustFixture(t, "x = 1\n")
	if err := tr.Allow(file); err != nil {
		t.Fatal(err)
	}
	rec, err := tr.RecordPath(file)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("<abs path>\n<content>"), computed independently.
	want := filepath.Join(tr.Dir, "allow", sha256hex(file+"\n"+"x = 1\n"))
	if rec != want {
		t.Fatalf("RecordPath = %s, want %s", rec, want)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != file {
		t.Errorf("record content %q, want %q", data, file)
	}
	for path, mode := range map[string]os.FileMode{rec: 0o600, filepath.Dir(rec): 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	if err := tr.Deny(file); err != nil {
		t.Fatal(err)
	}
	deny, err := tr.DenyRecordPath(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(tr.Dir, "deny", sha256hex(file+"\n")); deny != want {
		t.Errorf("deny record %s, want %s", deny, want)
	}
	if _, err := os.Stat(rec); !os.IsNotExist(err) {
		t.Errorf("allow record survived deny: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(tr.Dir, "deny"))
	if len(entries) != 1 {
		t.Errorf("deny dir holds %d entries, want 1 (no temp files left)", len(entries))
	}
}

func TestTrustSymlinkedDirectory(t *testing.T) {
	tr, file := trustFixture(t, "x = 1\n")
	link := filepath.Join(filepath.Dir(filepath.Dir(file)), "link")
	if err := os.Symlink(filepath.Dir(file), link); err != nil {
		t.Fatal(err)
	}
	if err := tr.Allow(filepath.Join(link, ProjectFile)); err != nil {
		t.Fatal(err)
	}
	if got := mustCheck(t, tr, file); got != Allowed {
		t.Errorf("allowed through a symlinked directory, real path state %v, want allowed", got)
	}
	// A project file that is itself a symlink is trusted per location.
	other := filepath.Join(t.TempDir(), ProjectFile)
	if err := os.Symlink(file, other); err != nil {
		t.Fatal(err)
	}
	if got := mustCheck(t, tr, other); got != Unknown {
		t.Errorf("symlinked project file in another directory: %v, want unknown", got)
	}
}

func TestTrustCheckMissingFile(t *testing.T) {
	tr, file := trustFixture(t, "")
	if _, err := tr.Check(file + ".missing"); err == nil {
		t.Error("Check of a missing file succeeded")
	}
}

func TestTrustPrune(t *testing.T) {
	tr, keep := trustFixture(t, "keep\n")
	dir := filepath.Dir(keep)
	edited := filepath.Join(dir, "edited.toml")
	gone := filepath.Join(dir, "gone.toml")
	deniedGone := filepath.Join(dir, "denied-gone.toml")
	deniedKeep := filepath.Join(dir, "denied-keep.toml")
	for _, f := range []string{edited, gone, deniedGone, deniedKeep} {
		writeFile(t, f, "v1\n")
	}
	for _, f := range []string{keep, edited, gone} {
		if err := tr.Allow(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{deniedGone, deniedKeep} {
		if err := tr.Deny(f); err != nil {
			t.Fatal(err)
		}
	}
	editedRec, _ := tr.RecordPath(edited)
	goneRec, _ := tr.RecordPath(gone)
	deniedGoneRec, _ := tr.DenyRecordPath(deniedGone)
	writeFile(t, edited, "v2\n")
	for _, f := range []string{gone, deniedGone} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	leftover := filepath.Join(tr.Dir, "allow", ".tmp-123")
	writeFile(t, leftover, "")

	removed, err := tr.Prune()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{editedRec, goneRec, deniedGoneRec, leftover}
	slices.Sort(removed)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q\nwant    %q", removed, want)
	}
	if s := mustCheck(t, tr, keep); s != Allowed {
		t.Errorf("kept file state %v", s)
	}
	if s := mustCheck(t, tr, deniedKeep); s != Denied {
		t.Errorf("denied file state %v", s)
	}
	if s := mustCheck(t, tr, edited); s != Unknown {
		t.Errorf("edited file state after prune %v, want unknown", s)
	}
	if removed, err := tr.Prune(); err != nil || len(removed) != 0 {
		t.Errorf("second prune removed %q, %v", removed, err)
	}
}

func TestTrustPruneEmptyStore(t *testing.T) {
	removed, err := Trust{Dir: filepath.Join(t.TempDir(), "none")}.Prune()
	if err != nil || len(removed) != 0 {
		t.Errorf("Prune on a missing store: %q, %v", removed, err)
	}
}
