package run

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/trace"
)

func TestExplainNetwork(t *testing.T) {
	allow, err := proxy.ParseAllowlist([]string{"a.test:443"})
	if err != nil {
		t.Fatal(err)
	}
	tr := &traceRun{hinter: trace.Hinter{Config: ".pent.toml", Allow: allow}, proxyLog: "/state/proxy.log"}
	var out bytes.Buffer
	io := testOutput{&out}
	tr.explainNetwork(io)
	if out.Len() != 0 {
		t.Fatalf("nothing refused, yet: %q", out.String())
	}
	deny := func(kind, name string, port int, addr, reason string) {
		tr.recorder().AddDecision(proxy.Decision{Action: "deny", Kind: kind, Name: name, Port: port, Addr: addr, Reason: reason})
	}
	tr.recorder().AddDecision(proxy.Decision{Action: "deny", Kind: "connect", Name: "b.test", Port: 443, Reason: "b.test is not allowed", PID: 99, Comm: "curl\x1b]0;", ProcPID: 7})
	deny("connect", "b.test", 443, "", "b.test is not allowed")
	deny("tcp", "a.test", 22, "", "port 22 is not allowed for a.test")
	deny("tcp", "", 80, "203.0.113.9:80\x1b[2J", "raw IP connection")
	for _, n := range []string{"c", "d", "e", "f"} {
		deny("dns", n+".test", 0, "", "not in domain_allowlist")
	}
	tr.recorder().AddDecision(proxy.Decision{Action: "deny", Kind: "tcp", Name: "a.test", Port: 80, Reason: "upstream failed: refused"})
	tr.explainNetwork(io)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		"pent: the proxy refused the connection to b.test:443 (socket held by curl\\x1b]0;[7], 2×) — allow it with `pent run --allow b.test` or add \"b.test\" to [proxy] domain_allowlist in .pent.toml",
		"pent: the proxy refused the connection to a.test:22 — allow it with `pent run --allow a.test:22` or add \"a.test:22\" to [proxy] domain_allowlist in .pent.toml",
		`pent: the proxy refused the connection to 203.0.113.9:80\x1b[2J: raw IP connection`,
		"pent: the proxy refused the lookup of c.test — allow it with `pent run --allow c.test` or add \"c.test\" to [proxy] domain_allowlist in .pent.toml",
		"pent: the proxy refused the lookup of d.test — allow it with `pent run --allow d.test` or add \"d.test\" to [proxy] domain_allowlist in .pent.toml",
		"pent: and 2 more — /state/proxy.log",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("summary:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// testOutput prints like cmd/pent's IOStreams: "pent: ", the escaped
// message, a newline.
type testOutput struct{ w io.Writer }

func (o testOutput) Say(format string, args ...any) {
	fmt.Fprintf(o.w, "pent: %s\n", config.Escape(fmt.Sprintf(format, args...)))
}

func (o testOutput) Warn(format string, args ...any) { o.Say("warning: "+format, args...) }
func (o testOutput) CommandEnded()                   {}

// TestExplainLineProcess: the summary names the process the proxy found
// holding the socket by the explicit holder count, never by its name (a
// sandboxed program may call itself "pent"), and says when several held it.
func TestExplainLineProcess(t *testing.T) {
	base := trace.Entry{Kind: trace.KindNetwork, Op: trace.OpConnect, Target: "b.test:443", Count: 1, Hint: "h"}
	for _, tc := range []struct {
		name    string
		command string
		pid     int
		holders int
		want    string
	}{
		{"not found", "pent", 4242, 0, "the proxy refused the connection to b.test:443: h"},
		{"named pent", "pent", 7, 1, "the proxy refused the connection to b.test:443 (socket held by pent[7]): h"},
		{"shared by two", "node", 7, 2, "the proxy refused the connection to b.test:443 (socket held by node[7] and 1 other process): h"},
		{"shared", "node", 7, 3, "the proxy refused the connection to b.test:443 (socket held by node[7] and 2 other processes): h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			e.Command, e.PID, e.Holders = tc.command, tc.pid, tc.holders
			if got := explainLine(e); got != tc.want {
				t.Errorf("explainLine = %q, want %q", got, tc.want)
			}
		})
	}
}
