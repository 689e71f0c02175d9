package trust

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	file := filepath.Join(proj, ".pent.toml")
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
	s, err := checkFile(tr, file)
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
					err = allowFile(tr, file)
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
	if err := allowFile(tr, file); err != nil {
		t.Fatal(err)
	}
	rec, err := recordPath(tr, file)
	if err != nil {
		t.Fatal(err)
	}
	// sha256 of the length-prefixed format name, path and content,
	// computed independently.
	if len(file) > 255 {
		t.Fatalf("temp path too long for this test: %s", file)
	}
	key := "\x00\x00\x00\x00\x00\x00\x00\x0dpent-allow-v2" +
		"\x00\x00\x00\x00\x00\x00\x00" + string([]byte{byte(len(file))}) + file +
		"\x00\x00\x00\x00\x00\x00\x00\x06x = 1\n"
	want := filepath.Join(tr.Dir, "allow", sha256hex(key))
	if rec != want {
		t.Fatalf("RecordPath = %s, want %s", rec, want)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Format        string
		Path, Content []byte
	}
	if err := json.Unmarshal(data, &r); err != nil || r.Format != "pent-allow-v2" || string(r.Path) != file || string(r.Content) != "x = 1\n" {
		t.Errorf("record content %q (%v), want the format, path and content", data, err)
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
	if err := allowFile(tr, filepath.Join(link, ".pent.toml")); err != nil {
		t.Fatal(err)
	}
	if got := mustCheck(t, tr, file); got != Allowed {
		t.Errorf("allowed through a symlinked directory, real path state %v, want allowed", got)
	}
	// A project file that is itself a symlink is refused: it could point
	// anywhere (a pseudo-file, a file the sandbox can write).
	other := filepath.Join(t.TempDir(), ".pent.toml")
	if err := os.Symlink(file, other); err != nil {
		t.Fatal(err)
	}
	if _, err := checkFile(tr, other); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlinked project file: %v, want a refusal naming the link", err)
	}
}

// A record of the first format (sha256(path + "\n" + content), holding only
// the path) is ambiguous; it must not count, and asks for a new review.
func TestTrustLegacyRecordAsksAgain(t *testing.T) {
	tr, file := trustFixture(t, "x = 1\n")
	if err := os.MkdirAll(filepath.Join(tr.Dir, "allow"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tr.Dir, "allow", sha256hex(file+"\n"+"x = 1\n")), file)
	if got := mustCheck(t, tr, file); got != Changed {
		t.Fatalf("file allowed under a first-format record: %v, want changed", got)
	}
	if _, ok, err := tr.LastTrusted(file); ok || err != nil {
		t.Errorf("LastTrusted of a first-format record: %v, %v; want none", ok, err)
	}
	if err := allowFile(tr, file); err != nil {
		t.Fatal(err)
	}
	if got := mustCheck(t, tr, file); got != Allowed {
		t.Errorf("after a new allow: %v", got)
	}
	entries, _ := os.ReadDir(filepath.Join(tr.Dir, "allow"))
	if len(entries) != 1 {
		t.Errorf("allow dir holds %d records, want 1 (the first-format one replaced)", len(entries))
	}
	content, ok, err := tr.LastTrusted(file)
	if !ok || err != nil || string(content) != "x = 1\n" {
		t.Errorf("LastTrusted = %q, %v, %v", content, ok, err)
	}
}

// Two (path, content) pairs that concatenate to the same bytes must not
// share a record.
func TestTrustKeyUnambiguous(t *testing.T) {
	tr := Trust{Dir: "/store"}
	a := tr.RecordPath(Snapshot{Path: "/p/.pent.toml\nx", Content: []byte("y")})
	b := tr.RecordPath(Snapshot{Path: "/p/.pent.toml", Content: []byte("x\ny")})
	if a == b {
		t.Error("path and content are not bound unambiguously")
	}
}

func TestTrustCheckMissingFile(t *testing.T) {
	tr, file := trustFixture(t, "")
	if _, err := checkFile(tr, file+".missing"); err == nil {
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
		if err := allowFile(tr, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{deniedGone, deniedKeep} {
		if err := tr.Deny(f); err != nil {
			t.Fatal(err)
		}
	}
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
	want := []string{edited, gone, deniedGone}
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
	if _, err := os.Lstat(leftover); !os.IsNotExist(err) {
		t.Errorf("prune left the temporary file %s (%v)", leftover, err)
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

// FuzzTrustRecord: any bytes in an allow record parse without panicking and
// name at most a path; a record pent writes reads back as written; distinct
// (path, content) pairs never share a record name.
func FuzzTrustRecord(f *testing.F) {
	f.Add("/p/.pent.toml", []byte("wrap = []\n"), []byte(`{"format":"pent-allow-v2","path":"/x","content":"eA=="}`))
	f.Add("/p/.pent.toml\nx", []byte("y"), []byte("/legacy/path"))
	f.Fuzz(func(t *testing.T, path string, content, raw []byte) {
		_ = parseRecord("r", raw)
		data, err := json.Marshal(record{Format: recordFormat, Path: []byte(path), Content: content})
		if err != nil {
			t.Fatal(err)
		}
		r := parseRecord("r", data)
		if r.Format != recordFormat || string(r.Path) != path || string(r.Content) != string(content) {
			t.Fatalf("record %q read back as %+v", data, r.record)
		}
		tr := Trust{Dir: "/store"}
		a := tr.RecordPath(Snapshot{Path: path, Content: content})
		b := tr.RecordPath(Snapshot{Path: path + string(content[:min(1, len(content))]), Content: content[min(1, len(content)):]})
		if len(content) > 0 && a == b {
			t.Fatalf("(%q, %q) and a split of it share the record %s", path, content, a)
		}
	})
}
