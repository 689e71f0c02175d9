package proxy

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode"
)

func TestParseDecision(t *testing.T) {
	want := Decision{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Action: "deny", Kind: "dns", Name: "evil.test", Reason: "not allowed", PID: 42}
	line, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		line string
		ok   bool
	}{
		{"decision", string(line), true},
		{"blank", "  \t", false},
		{"empty", "", false},
		{"not json", "pent: warning", false},
		{"wrong type", `{"pid":"x"}`, false},
	}
	for _, tt := range tests {
		d, ok := ParseDecision([]byte(tt.line))
		if ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.ok)
		}
		if ok && d != want {
			t.Errorf("%s: got %+v, want %+v", tt.name, d, want)
		}
		if !ok && d != (Decision{}) {
			t.Errorf("%s: a refused line returned %+v", tt.name, d)
		}
	}
}

// FuzzParseDecision: any line either decodes to a Decision that encodes
// again, or is refused with the zero Decision; it never panics.
func FuzzParseDecision(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-02T03:04:05Z","action":"deny","kind":"tcp","name":"a.test","port":443,"reason":"x","pid":7}`))
	f.Add([]byte(""))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, line []byte) {
		d, ok := ParseDecision(line)
		if !ok {
			if d != (Decision{}) {
				t.Fatalf("refused line returned %+v", d)
			}
			return
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", d, err)
		}
	})
}

// TestDecisionLogTerminalSafe: a decision line, as the log file and `pent
// proxy logs` get it, has no rune a terminal could act on (encoding/json
// escapes only C0), and still decodes to the same decision.
func TestDecisionLogTerminalSafe(t *testing.T) {
	var file bytes.Buffer
	l := newDecisionLog(&file)
	d := Decision{Action: "deny", Kind: "dns", Name: "x.test.", Reason: "r\u2028", Comm: "\u202eevil\u009b31m\u200f\u007f", ProcPID: 7}
	l.record(d)
	for what, out := range map[string][]byte{"file": file.Bytes(), "tail": l.tail(1)} {
		for _, r := range string(out) {
			if r != '\n' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) {
				t.Errorf("%s line %q keeps %U", what, out, r)
			}
		}
		var got Decision
		if err := json.Unmarshal(out, &got); err != nil || got != d {
			t.Errorf("%s line %q decodes to %+v (%v), want %+v", what, out, got, err, d)
		}
	}
}
