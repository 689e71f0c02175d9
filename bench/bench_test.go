package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const straceSample = `946   execve("/usr/bin/bash", ["bash", "-c", "x"], 0x7ffd /* 35 vars */) = 0
946   clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fed) = 947
947   execve("/nope/pent", ["pent"], 0x55f0 /* 35 vars */) = -1 ENOENT (No such file or directory)
947   execve("/tmp/w/bin/pent", ["pent", "export", "bash"], 0x55f0 /* 35 vars */) = 0
947   clone(child_stack=0x3331, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, tls=0x3331) = 948
946   --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=947, si_uid=0, si_status=0} ---
11653 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7fe1, stack_size=0x9000}, 88 <unfinished ...>
11724 execve("/usr/bin/direnv", ["direnv", "export", "fish"], 0x558d /* 13 vars */ <unfinished ...>
11653 <... clone3 resumed>)             = 11724
11724 <... execve resumed>)             = 0
11724 +++ exited with 0 +++
`

func TestParseStrace(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		forks   int
		threads int
		execs   []string
	}{
		{"empty", "", 0, 0, nil},
		{"mixed", straceSample, 2, 1, []string{"bash", "pent", "direnv"}},
		{"resumed without start", "5 <... execve resumed>) = 0\n", 0, 0, nil},
		{"failed resumed exec", "5 execve(\"/x/y\", [] <unfinished ...>\n5 <... execve resumed>) = -1 ENOENT (No such file)\n", 0, 0, nil},
		{"vfork and fork", "1 vfork() = 2\n1 fork() = 3\n", 2, 0, nil},
		{"garbage", "no-space-line\n\n   \n", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseStrace(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Forks != tt.forks || c.Threads != tt.threads || !slices.Equal(c.Execs, tt.execs) {
				t.Errorf("got forks %d threads %d execs %q, want %d %d %q", c.Forks, c.Threads, c.Execs, tt.forks, tt.threads, tt.execs)
			}
		})
	}
}

func FuzzParseStrace(f *testing.F) {
	f.Add(straceSample)
	f.Add("1 execve(\"\n1 <... execve resumed>) =")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseStrace(strings.NewReader(s))
		if err != nil {
			return
		}
		if c.Forks < 0 || c.Threads < 0 || len(c.Execs) > strings.Count(s, "execve") {
			t.Errorf("impossible count %+v", c)
		}
	})
}

func TestReplaceBlock(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"replaces", "a\n<!-- bench:start -->\nold\n<!-- bench:end -->\nb\n", "a\n<!-- bench:start -->\nnew\n<!-- bench:end -->\nb\n", ""},
		{"empty block", "<!-- bench:start --><!-- bench:end -->", "<!-- bench:start -->\nnew\n<!-- bench:end -->", ""},
		{"no markers", "a\n", "", "want exactly one"},
		{"two starts", "<!-- bench:start --><!-- bench:start --><!-- bench:end -->", "", "want exactly one"},
		{"reversed", "<!-- bench:end -->x<!-- bench:start -->", "", "comes before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceBlock(tt.in, "\n new \n")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzReplaceBlock(f *testing.F) {
	f.Add("x<!-- bench:start -->y<!-- bench:end -->z", "block")
	f.Add("<!-- bench:end --><!-- bench:start -->", "")
	f.Fuzz(func(t *testing.T, text, block string) {
		out, err := replaceBlock(text, block)
		if err != nil {
			return
		}
		before, _, _ := strings.Cut(text, readmeStart)
		_, after, _ := strings.Cut(text, readmeEnd)
		if !strings.HasPrefix(out, before+readmeStart) || !strings.HasSuffix(out, readmeEnd+after) {
			t.Errorf("text outside the markers changed: %q -> %q", text, out)
		}
	})
}

func TestReplaceReadmeBlockLeavesFileAloneWithoutMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte("# x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceReadmeBlock(path, "table"); err == nil {
		t.Fatal("no error without markers")
	}
	if b, _ := os.ReadFile(path); string(b) != "# x\n" {
		t.Errorf("README changed: %q", b)
	}
}

func TestParseHyperfine(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string][]time.Duration
		err  bool
	}{
		{"two", `{"results":[{"command":"a","times":[0.002,0.003]},{"command":"b","times":[0.5]}]}`,
			map[string][]time.Duration{"a": {2 * time.Millisecond, 3 * time.Millisecond}, "b": {500 * time.Millisecond}}, false},
		{"none", `{"results":[]}`, nil, true},
		{"no runs", `{"results":[{"command":"a","times":[]}]}`, nil, true},
		{"zero run", `{"results":[{"command":"a","times":[0.1,0]}]}`, nil, true},
		{"run of a century", `{"results":[{"command":"a","times":[3.2e9]}]}`, nil, true},
		{"not json", `x`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHyperfine([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseHyperfine(f *testing.F) {
	f.Add([]byte(`{"results":[{"command":"a","times":[0.002,0.004]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseHyperfine(b)
		if err != nil {
			return
		}
		for k, ts := range m {
			if len(ts) == 0 {
				t.Errorf("%s: no runs", k)
			}
			for _, v := range ts {
				if v < 0 {
					t.Errorf("%s: negative time %v", k, v)
				}
			}
		}
	})
}

func TestCPUModel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags : x\n", "AMD EPYC 7B13"},
		{"model name\t:\nmodel name : Second\n", "Second"},
		{"", "unknown CPU"},
	}
	for _, tt := range tests {
		if got := cpuModel([]byte(tt.in)); got != tt.want {
			t.Errorf("cpuModel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMissingPackages(t *testing.T) {
	present := map[string]bool{"bash": true, "zsh": true, "fish": true, "strace": true, "setpriv": true, "direnv": true, "time": true}
	look := func(b string) (string, error) {
		if present[b] {
			return "/usr/bin/" + b, nil
		}
		return "", errors.New("not found")
	}
	got := missingPackages(look)
	want := []string{"bubblewrap", "firejail", "hyperfine"}
	if !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
	if line := (missingError{got}).Error(); !strings.Contains(line, "apt-get install -y bubblewrap firejail hyperfine") {
		t.Errorf("message does not give the apt-get line: %s", line)
	}
}

// TestClientAgainstServer runs every client mode against the loopback server.
func TestClientAgainstServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go serveBench(l)
	addr := l.Addr().String()
	tests := []struct {
		args  []string
		check func(clientResult) bool
	}{
		{[]string{"-mode", "bulk", "-bytes", "3000000"}, func(r clientResult) bool { return r.Bytes == 3000000 && r.Seconds > 0 }},
		{[]string{"-mode", "latency", "-n", "20"}, func(r clientResult) bool { return r.Conns == 20 && r.MedianUS > 0 && r.P90US >= r.MedianUS }},
		{[]string{"-mode", "hold", "-n", "200", "-hold", "10ms"}, func(r clientResult) bool { return r.Conns == 200 && r.Seconds > 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.args[1], func(t *testing.T) {
			var out bytes.Buffer
			if err := clientMain(append([]string{"-addr", addr}, tt.args...), &out); err != nil {
				t.Fatal(err)
			}
			var r clientResult
			if err := json.Unmarshal(out.Bytes(), &r); err != nil || !tt.check(r) {
				t.Errorf("result %s (%v)", out.String(), err)
			}
		})
	}
	if err := clientMain([]string{"-addr", addr, "-mode", "nope"}, &bytes.Buffer{}); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestDNSServer(t *testing.T) {
	s, err := startDNS()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	tests := []struct {
		net, name string
		rcode     int
		answers   int
	}{
		{"udp", benchName, dns.RcodeSuccess, 1},
		{"tcp", benchName, dns.RcodeSuccess, 1},
		{"udp", "other.test", dns.RcodeNameError, 0},
	}
	for _, tt := range tests {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(tt.name), dns.TypeA)
		var r *dns.Msg
		for range 50 { // the servers start in goroutines
			if r, _, err = (&dns.Client{Net: tt.net}).Exchange(m, s.addr); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", tt.net, tt.name, err)
		}
		if r.Rcode != tt.rcode || len(r.Answer) != tt.answers {
			t.Errorf("%s %s: rcode %d, %d answers", tt.net, tt.name, r.Rcode, len(r.Answer))
		}
	}
}

// TestReadmeBlockRows checks which rows reach the README: those with a
// target and those that explain one, not the others.
func TestReadmeBlockRows(t *testing.T) {
	r := newReport("machine", "pent test")
	r.add(row{section: "s", metric: "with target", value: "1 ms", target: "≤ 2 ms", met: "yes"})
	r.add(row{section: "s", metric: "a floor", value: "0.5 ms", explains: true})
	r.add(row{section: "s", metric: "plain", value: "3 ms"})
	block := r.readmeBlock()
	for metric, want := range map[string]bool{"with target": true, "a floor": true, "plain": false} {
		if got := strings.Contains(block, "| "+metric+" |"); got != want {
			t.Errorf("row %q in the README block: %v, want %v\n%s", metric, got, want, block)
		}
	}
}
