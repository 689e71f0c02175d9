package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/pent-sandbox/pent/termtext"
)

// Decision is one allow/deny decision, written as one JSON line. It feeds
// `pent proxy logs` and the trace feature (§7).
type Decision struct {
	Time    time.Time `json:"time"`
	Action  string    `json:"action"` // "allow" or "deny"
	Kind    string    `json:"kind"`   // "dns", "tcp", "connect", "socks5", "http"
	Name    string    `json:"name,omitempty"`
	Port    int       `json:"port,omitempty"`
	Addr    string    `json:"addr,omitempty"` // the original destination or dialled address
	Reason  string    `json:"reason"`
	Session string    `json:"session,omitempty"`
	PID     int       `json:"pid,omitempty"` // the pent process that opened the session
	// Comm and ProcPID name a process of the sandbox that held the socket
	// of a refused connection or query (its command name, escaped, and
	// its PID in the sandbox), when the proxy found one (Linux capture
	// sessions, the first refusal of a name and port in a session);
	// ProcPID is 0 otherwise. The name is the sandboxed program's choice.
	// Holders is how many of the sandbox's processes held the socket (a
	// socket is shared across fork and descriptor passing), at least 1 when
	// ProcPID is set.
	Comm    string `json:"comm,omitempty"`
	ProcPID int    `json:"proc_pid,omitempty"`
	Holders int    `json:"holders,omitempty"`
}

// ParseDecision decodes one line of the decision log; ok is false for a
// blank line or one that is not a Decision.
func ParseDecision(line []byte) (d Decision, ok bool) {
	if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &d) != nil {
		return Decision{}, false
	}
	return d, true
}

// decisionLog writes decisions to an io.Writer and keeps the last ones in a
// ring for the `logs` control request.
type decisionLog struct {
	mu   sync.Mutex
	w    io.Writer
	ring [][]byte
	next int
	full bool
}

const logRingSize = 1000

func newDecisionLog(w io.Writer) *decisionLog {
	return &decisionLog{w: w, ring: make([][]byte, logRingSize)}
}

func (l *decisionLog) record(d Decision) {
	line, err := json.Marshal(d)
	if err != nil {
		return // a Decision always marshals; nothing sensible to do otherwise
	}
	// `pent proxy logs` and the log file reach a terminal.
	line = append(termtext.JSON(line), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = line
	l.next = (l.next + 1) % len(l.ring)
	l.full = l.full || l.next == 0
	if l.w != nil {
		_, _ = l.w.Write(line) // a failing log sink must not stop the proxy
	}
}

// tail returns up to n of the most recent lines, oldest first.
func (l *decisionLog) tail(n int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := l.next
	if l.full {
		count = len(l.ring)
	}
	n = min(n, count)
	var out []byte
	for i := range n {
		idx := (l.next - n + i + len(l.ring)) % len(l.ring)
		out = append(out, l.ring[idx]...)
	}
	return out
}
