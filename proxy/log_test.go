package proxy

import (
	"encoding/json"
	"testing"
	"time"
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
