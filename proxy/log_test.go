package proxy

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode"
)

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
