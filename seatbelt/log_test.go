package seatbelt

import (
	"strings"
	"testing"
	"time"
)

// The log lines below are CONSTRUCTED, not captured from a Mac: they follow
// the shape of `log stream --style ndjson` objects (eventMessage, timestamp
// and the other keys it prints) and the Sandbox kext's message format
// ("Sandbox: NAME(PID) deny(1) OPERATION TARGET"). They must be checked
// against real output on a Mac.
func logLine(msg string) string {
	return `{"traceID":4294967300,"eventMessage":` + jsonQuote(msg) + `,"eventType":"logEvent","source":null,` +
		`"formatString":"%s","activityIdentifier":0,"subsystem":"","category":"","threadID":1234567,` +
		`"senderImageUUID":"5B3E7A54-0C1F-3F7E-9D43-1C8E0A9B2D11","backtrace":{"frames":[]},` +
		`"bootUUID":"","processImagePath":"\/kernel","timestamp":"2025-03-04 10:21:33.123456+0100",` +
		`"senderImagePath":"\/System\/Library\/Extensions\/Sandbox.kext\/Contents\/MacOS\/Sandbox",` +
		`"machTimestamp":123456789012,"messageType":"Error","processImageUUID":"6A1B2C3D-0000-1111-2222-333344445555",` +
		`"processID":0,"senderProgramCounter":104512,"parentActivityIdentifier":0,"timezoneName":""}`
}

func jsonQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "/", `\/`)
	return `"` + r.Replace(s) + `"`
}

func TestSeatbeltLogParse(t *testing.T) {
	when := time.Date(2025, 3, 4, 10, 21, 33, 123456000, time.FixedZone("", 3600))
	tests := []struct {
		name string
		line string
		ok   bool
		want Denial
		key  string
	}{
		{"file read", logLine("Sandbox: cat(4242) deny(1) file-read-data /Users/alice/.ssh/id_ed25519"), true,
			Denial{Time: when, Process: "cat", PID: 4242, Operation: "file-read-data", Target: "/Users/alice/.ssh/id_ed25519", Repeats: 1}, "read"},
		{"write, path with spaces", logLine("Sandbox: node(901) deny(1) file-write-create /Users/alice/Library/Application Support/x y"), true,
			Denial{Time: when, Process: "node", PID: 901, Operation: "file-write-create", Target: "/Users/alice/Library/Application Support/x y", Repeats: 1}, "read_write"},
		{"stat", logLine("Sandbox: git(77) deny(1) file-read-metadata /Users/alice/.config"), true,
			Denial{Time: when, Process: "git", PID: 77, Operation: "file-read-metadata", Target: "/Users/alice/.config", Repeats: 1}, "traversal"},
		{"exec", logLine("Sandbox: bash(12) deny(1) process-exec* /Users/alice/bin/tool"), true,
			Denial{Time: when, Process: "bash", PID: 12, Operation: "process-exec*", Target: "/Users/alice/bin/tool", Repeats: 1}, "execute"},
		{"network", logLine("Sandbox: curl(5151) deny(1) network-outbound 93.184.216.34:443"), true,
			Denial{Time: when, Process: "curl", PID: 5151, Operation: "network-outbound", Target: "93.184.216.34:443", Repeats: 1}, ""},
		{"unix socket", logLine("Sandbox: docker(31) deny(1) network-outbound /private/var/run/docker.sock"), true,
			Denial{Time: when, Process: "docker", PID: 31, Operation: "network-outbound", Target: "/private/var/run/docker.sock", Repeats: 1}, ""},
		{"service", logLine("Sandbox: pbcopy(88) deny(1) mach-lookup com.apple.pasteboard.1"), true,
			Denial{Time: when, Process: "pbcopy", PID: 88, Operation: "mach-lookup", Target: "com.apple.pasteboard.1", Repeats: 1}, ""},
		{"no target", logLine("Sandbox: python3(400) deny(1) sysctl-read"), true,
			Denial{Time: when, Process: "python3", PID: 400, Operation: "sysctl-read", Repeats: 1}, ""},
		{"name with parentheses", logLine("Sandbox: Helper (GPU)(321) deny(1) file-read-data /private/etc/x"), true,
			Denial{Time: when, Process: "Helper (GPU)", PID: 321, Operation: "file-read-data", Target: "/private/etc/x", Repeats: 1}, "read"},
		{"duplicates", logLine("Sandbox: 3 duplicate reports for cat deny(1) file-read-data /Users/alice/.aws/credentials"), true,
			Denial{Time: when, Process: "cat", Operation: "file-read-data", Target: "/Users/alice/.aws/credentials", Repeats: 3}, "read"},
		{"system policy", logLine("Sandbox: ls(55) System Policy: deny(1) file-read-data /Users/alice/Desktop"), true,
			Denial{Time: when, Process: "ls", PID: 55, Operation: "file-read-data", Target: "/Users/alice/Desktop", Repeats: 1, SystemPolicy: true}, ""},
		{"allowed report", logLine("Sandbox: cat(1) allow(0) file-read-data /x"), false, Denial{}, ""},
		{"other message", logLine("Sandbox: profile compiled in 3ms"), false, Denial{}, ""},
		{"banner", `Filtering the log data using "sender == "Sandbox""`, false, Denial{}, ""},
		{"empty", "", false, Denial{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseLog([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if !ok {
				return
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("time = %v, want %v", got.Time, tt.want.Time)
			}
			got.Time = tt.want.Time
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if k := got.ConfigKey(); k != tt.key {
				t.Errorf("ConfigKey = %q, want %q", k, tt.key)
			}
		})
	}
}

func TestSeatbeltLogErrors(t *testing.T) {
	for _, line := range []string{
		`{"eventMessage": `,
		`{"eventMessage":"Sandbox: cat(1) deny(1) file-read-data /x","timestamp":"yesterday"}`,
		`{"eventMessage":"Sandbox: cat(99999999999999999999) deny(1) file-read-data /x"}`,
	} {
		if d, ok, err := ParseLog([]byte(line)); err == nil || ok {
			t.Errorf("ParseLog(%q) = %+v, %v, %v; want an error", line, d, ok, err)
		}
	}
}

func FuzzSeatbeltLog(f *testing.F) {
	f.Add([]byte(logLine("Sandbox: cat(4242) deny(1) file-read-data /Users/alice/.ssh/id_ed25519")))
	f.Add([]byte(logLine("Sandbox: 3 duplicate reports for cat deny(1) file-read-data /x")))
	f.Add([]byte(`Filtering the log data using "sender == "Sandbox""`))
	f.Add([]byte(`{"eventMessage":"Sandbox: a(1) System Policy: deny(1) x"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		d, ok, err := ParseLog(line)
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		if ok && (d.Operation == "" || d.Repeats < 0 || d.Process == "") {
			t.Fatalf("incomplete denial %+v", d)
		}
		_ = d.ConfigKey()
	})
}
