package seatbelt

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogArgs are the arguments of /usr/bin/log that stream the macOS
// sandbox's reports, one JSON object per line, for ParseLog.
var LogArgs = []string{"stream", "--style", "ndjson", "--level", "info", "--predicate", `sender == "Sandbox"`}

// Denial is one operation the macOS sandbox denied, as reported in
// the unified log.
type Denial struct {
	// Time is when the kernel reported the denial.
	Time time.Time `json:"time"`
	// Process is the name of the denied process, PID its process ID.
	Process string `json:"process"`
	PID     int    `json:"pid"`
	// Operation is the Seatbelt operation, e.g. file-read-data.
	Operation string `json:"operation"`
	// Target is what the operation was on: a path, an address:port or a
	// service name; empty for operations without one.
	Target string `json:"target,omitempty"`
	// Repeats counts identical reports folded into this one (at least 1).
	Repeats int `json:"repeats"`
	// SystemPolicy is true when macOS's own policy (privacy protections), not
	// pent's profile, denied the operation.
	SystemPolicy bool `json:"system_policy,omitempty"`
}

// logEvent is the part of a `log stream --style ndjson` object pent reads.
type logEvent struct {
	EventMessage string `json:"eventMessage"`
	Timestamp    string `json:"timestamp"`
}

// logTimeLayout is the timestamp format of `log stream --style ndjson`.
const logTimeLayout = "2006-01-02 15:04:05.000000-0700"

// seatbeltMessages are compiled on first use, not at every start of pent:
// only a traced run on macOS parses a Seatbelt log. sandbox is a Sandbox report, "Sandbox: NAME(PID) deny(1) OPERATION
// [TARGET]", optionally with "System Policy: " before the verdict;
// duplicate is a folded report, "Sandbox: N duplicate reports for NAME
// deny(1) OPERATION [TARGET]".
var seatbeltMessages = sync.OnceValues(func() (sandbox, duplicate *regexp.Regexp) {
	return regexp.MustCompile(`^Sandbox: (.+?)\((\d+)\) (System Policy: )?(deny|allow)\((\d+)\) (\S+)(?: (.*))?$`),
		regexp.MustCompile(`^Sandbox: (\d+) duplicate reports? for (.+?) (System Policy: )?(deny|allow)\((\d+)\) (\S+)(?: (.*))?$`)
})

// ParseLog reads one line of `log <LogArgs>`. ok is false
// for lines that are not a denial: the banner log prints first, other
// messages, reports of allowed operations. A line that looks like JSON but
// is not is an error.
func ParseLog(line []byte) (d Denial, ok bool, err error) {
	trimmed := strings.TrimSpace(string(line))
	if !strings.HasPrefix(trimmed, "{") {
		return d, false, nil
	}
	var ev logEvent
	if err := json.Unmarshal([]byte(trimmed), &ev); err != nil {
		return d, false, fmt.Errorf("sandbox log line: %w", err)
	}
	msg := strings.TrimSpace(ev.EventMessage)
	var verdict []string
	sandboxMessage, duplicateMessage := seatbeltMessages()
	if m := sandboxMessage.FindStringSubmatch(msg); m != nil {
		d.Process, d.Repeats = m[1], 1
		d.PID, err = strconv.Atoi(m[2])
		verdict = m[3:]
	} else if m := duplicateMessage.FindStringSubmatch(msg); m != nil {
		d.Repeats, err = strconv.Atoi(m[1])
		d.Process = m[2]
		verdict = m[3:]
	} else {
		return Denial{}, false, nil
	}
	if err != nil {
		return Denial{}, false, fmt.Errorf("sandbox log line: bad number in %q: %w", msg, err)
	}
	if verdict[1] != "deny" {
		return Denial{}, false, nil
	}
	d.SystemPolicy = verdict[0] != ""
	d.Operation, d.Target = verdict[3], verdict[4]
	if ev.Timestamp != "" {
		t, err := time.Parse(logTimeLayout, ev.Timestamp)
		if err != nil {
			return Denial{}, false, fmt.Errorf("sandbox log line: timestamp %q: %w", ev.Timestamp, err)
		}
		d.Time = t
	}
	return d, true, nil
}

// ConfigKey is the [sandbox.paths] key that would allow a denied file
// operation: "traversal" for stat, "read" for reading, "read_write" for
// writing, "execute" for running or mapping code. It is empty for everything
// a path rule cannot allow (network, services), and for a denial by macOS's
// own policy.
func (d Denial) ConfigKey() string {
	op := d.Operation
	switch {
	case d.SystemPolicy || d.Target == "" || !strings.HasPrefix(d.Target, "/"):
		return ""
	case op == "file-read-metadata":
		return "traversal"
	case strings.HasPrefix(op, "file-read"):
		return "read"
	case strings.HasPrefix(op, "file-write"):
		return "read_write"
	case strings.HasPrefix(op, "process-exec"), op == "file-map-executable":
		return "execute"
	}
	return ""
}
