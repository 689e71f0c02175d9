package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/quarantine"
)

// TestMoverReport: the run fails, with one line saying why, when an entry
// was only renamed in place or the guard met an error; an entry already
// renamed in place is not taken again.
func TestMoverReport(t *testing.T) {
	root := t.TempDir()
	envrc := filepath.Join(root, ".envrc")
	tests := []struct {
		name   string
		moved  []quarantine.Entry
		err    error
		fails  bool
		output string
	}{
		{"moved", []quarantine.Entry{{ID: "1", Path: envrc}}, nil, false, "moved it to the quarantine as 1"},
		{"kept in place", []quarantine.Entry{{ID: "2", Path: envrc, Kept: envrc + quarantine.KeptMark + "2"}}, nil, true, "renamed it in place to"},
		{"guard error", nil, errors.New("quarantining x: permission denied"), true, "permission denied: it may still be where"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		m := &mover{moved: tt.moved}
		err := m.report(testOutput{&out}, "", tt.err)
		if (err != nil) != tt.fails || !strings.Contains(out.String(), tt.output) {
			t.Errorf("%s: report() = %v, output:\n%s", tt.name, err, out.String())
		}
		if tt.fails && !errors.Is(err, ErrFailed) {
			t.Errorf("%s: want ErrFailed, got %v", tt.name, err)
		}
	}
	// An entry the store renamed in place (its record says so) is left;
	// the same kind of name without a record is the command's and is taken.
	store := quarantine.Store{Dir: t.TempDir()}
	kept := envrc + quarantine.KeptMark + "3"
	forged := envrc + quarantine.KeptMark + "4"
	for _, p := range []string{kept, forged} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	record := filepath.Join(store.Dir, quarantine.ProjectKey(root), "3")
	if err := os.MkdirAll(record, 0o700); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(quarantine.Entry{Path: envrc, Root: root, Kept: kept})
	if err := os.WriteFile(filepath.Join(record, "meta.json"), meta, 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mover{store: store}
	if err := m.move(root, kept); err != nil || len(m.moved) != 0 {
		t.Errorf("an entry renamed in place was taken again: %v %v", m.moved, err)
	}
	if err := m.move(root, forged); err != nil || len(m.moved) != 1 {
		t.Errorf("a name the command chose like pent's was left in place: %v %v", m.moved, err)
	}
}
