package run

import (
	"bytes"
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
	kept := envrc + quarantine.KeptMark + "3"
	if err := os.WriteFile(kept, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m := &mover{store: quarantine.Store{Dir: t.TempDir()}}
	if err := m.move(root, kept); err != nil || len(m.moved) != 0 {
		t.Errorf("an entry renamed in place was taken again: %v %v", m.moved, err)
	}
}
