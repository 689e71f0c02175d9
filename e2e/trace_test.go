//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// traceEntry is the part of a `pent trace show --json` line the tests check.
type traceEntry struct {
	Kind    string `json:"kind"`
	Op      string `json:"op"`
	Target  string `json:"target"`
	Count   int    `json:"count"`
	PID     int    `json:"pid"`
	Command string `json:"command"`
	Hint    string `json:"hint"`
	Fix     *struct {
		Table string `json:"table"`
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"fix"`
}

// String is what the test compares: kind, operation, target and the fix.
func (e traceEntry) String() string {
	fix := "no fix"
	if e.Fix != nil {
		fix = fmt.Sprintf("[%s] %s += %q", e.Fix.Table, e.Fix.Key, e.Fix.Value)
	}
	return fmt.Sprintf("%s %s %s -> %s", e.Kind, e.Op, e.Target, fix)
}

// traceEntries runs `pent trace show --json` and decodes it.
func traceEntries(t *testing.T, r *runner) []traceEntry {
	t.Helper()
	res := r.pent("trace", "show", "--json")
	res.wantCode(t, 0)
	var out []traceEntry
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		if line == "" {
			continue
		}
		var e traceEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("trace show --json printed %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// TestTrace_FiveDenials: a script that reads a hidden file, writes a
// file in /etc, execs a binary from a hidden directory, resolves a denied
// name and connects to an allowed name on a denied port, run with --trace,
// is denied all five — and the trace holds exactly those five, each with
// the config key and value that allows it but the write in /etc, which
// pent never suggests (outside home, the system runs or trusts files; rt5
// E3). `pent trace suggest --apply` and `pent allow` then make the other
// four succeed, and a second traced run records only the write.
func TestTrace_FiveDenials(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		if os.Geteuid() != 0 {
			t.Skip("the test needs root to place a file in /etc that the test user may write")
		}
		n := startLocalNet(t, r)
		r.stopDaemonAtEnd()
		probe := writeProbe(r)

		// /etc/<name>: exists, writable by the test user outside the
		// sandbox, read-only inside it (as all of /etc).
		etcFile := fmt.Sprintf("/etc/pent-trace-%d-%s", os.Getpid(), r.mode)
		r.writeFileAnywhere(etcFile, "original\n")
		tool := filepath.Join(r.home, "denied-bin", "tool")
		r.writeFile(tool, "#!/bin/sh\necho TOOL-RAN\n", 0o755)
		r.writeFile(filepath.Join(r.home, ".config", "tool", "settings"), "setting\n", 0o644)
		writeProject(r, allowedName+":"+strconv.Itoa(n.tlsPort))

		deniedPort := n.bannerTCP
		script := probeLib + fmt.Sprintf(`try read cat "$HOME/.config/tool/settings"
try write sh -c 'echo changed > %[1]s'
try exec "$HOME/denied-bin/tool"
try resolve python3 %[2]s resolve %[3]s
try connect python3 %[2]s banner %[4]s %[5]d
`, etcFile, probe, deniedName, allowedName, deniedPort)
		names := []string{"read", "write", "exec", "resolve", "connect"}

		res := r.sandboxSh(script, "--trace")
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		for name, p := range probes(t, res, names...) {
			if p.ok {
				t.Errorf("%s succeeded under the policy with --trace: tracing must not allow anything", name)
			}
		}
		r.assertFile(etcFile, "original\n")
		if !strings.Contains(res.stderr, "pent: trace: 5 denial(s) recorded") {
			t.Errorf("pent did not say what it recorded:\n%s", res.stderr)
		}
		if _, err := os.Stat(r.traceLog()); err != nil {
			t.Errorf("the trace log is not in the project's state directory: %v", err)
		}

		entries := traceEntries(t, r)
		var got []string
		for _, e := range entries {
			got = append(got, e.String())
			if e.Count < 1 || e.Command == "" || e.Hint == "" || (e.Kind == "file" && e.PID <= 0) {
				t.Errorf("incomplete entry: %+v", e)
			}
			if e.Fix != nil && !strings.Contains(e.Hint, strconv.Quote(e.Fix.Value)) {
				t.Errorf("the hint does not name the value: %+v", e)
			}
			if e.Op == "write" && !strings.Contains(e.Hint, "it lies outside your home directory") {
				t.Errorf("the write in /etc does not say why pent does not suggest it: %+v", e)
			}
		}
		connectTarget := allowedName + ":" + strconv.Itoa(deniedPort)
		want := []string{
			`file read ~/.config/tool/settings -> [sandbox.paths] read += "~/.config/tool/settings"`,
			fmt.Sprintf(`file write %s -> no fix`, etcFile),
			`file exec ~/denied-bin/tool -> [sandbox.paths] execute += "~/denied-bin/tool"`,
			fmt.Sprintf(`network dns %s -> [proxy] domain_allowlist += %q`, deniedName, deniedName),
			fmt.Sprintf(`network connect %s -> [proxy] domain_allowlist += %q`, connectTarget, connectTarget),
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("trace entries:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
		human := r.pent("trace", "show")
		human.wantCode(t, 0)
		for _, s := range []string{"denied reads (1)", `add "~/.config/tool/settings" to [sandbox.paths] read in .pent.toml`,
			fmt.Sprintf(`add %q to [proxy] domain_allowlist in .pent.toml`, connectTarget)} {
			if !strings.Contains(human.stdout, s) {
				t.Errorf("trace show lacks %q:\n%s", s, human.stdout)
			}
		}

		applied := r.pent("trace", "suggest", "--apply", "--yes")
		applied.wantCode(t, 0)
		if !strings.Contains(applied.stderr, "pent allow") {
			t.Errorf("suggest --apply did not say that the file needs pent allow again:\n%s", applied)
		}
		// The edited file is not trusted until allowed again.
		refused := r.pent("run", "--wrapped", "sh", "--", "true")
		if refused.code == 0 {
			t.Errorf("the edited project file was used without pent allow:\n%s", refused)
		}
		r.allow()
		r.waitDaemonPolicy(connectTarget)
		r.pent("trace", "clear").wantCode(t, 0)

		res = r.sandboxSh(script, "--trace")
		res.wantCode(t, 0)
		for name, p := range probes(t, res, names...) {
			if p.ok != (name != "write") {
				t.Errorf("after trace suggest --apply and pent allow, %s: ok=%v (%s)", name, p.ok, p.msg)
			}
		}
		r.assertFile(etcFile, "original\n")
		if left := traceEntries(t, r); len(left) != 1 || left[0].Op != "write" {
			t.Errorf("the allowed script should record only the write in /etc: %v", left)
		}
	})
}

// waitDaemonPolicy waits until the project's proxy (if one runs) has
// reloaded the allowed file, whose allowlist holds entry.
func (r *runner) waitDaemonPolicy(entry string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := r.proxyStatus()
		if !st.running || strings.Contains(st.rawOutput, entry) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the project's proxy did not reload the allowed file:\n%s", st.rawOutput)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTrace_GitCommitNamesGit: `git commit` without @git fails with
// "Author identity unknown" because ~/.gitconfig is hidden — git only
// checks it with access() — and the trace records that check as one probe
// whose hint names @git, the profile that grants ~/.gitconfig. With @git
// added (suggest --apply --yes, allow) the same commit works.
func TestTrace_GitCommitNamesGit(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		hostGitInit(t, r)
		r.writeFile(filepath.Join(r.home, ".gitconfig"), "[user]\n\tname = Host User\n\temail = host@example.test\n", 0o644)
		r.allow()
		commit := "echo one > a.txt && git add a.txt && git commit -qm one && echo COMMITTED"
		res := r.sandboxSh(commit, "--trace")
		if res.code == 0 || !strings.Contains(res.stderr, "Author identity unknown") {
			t.Fatalf("git commit without @git did not fail for want of an identity:\n%s", res)
		}
		if strings.Contains(res.stderr, "trace: nothing was denied") {
			t.Errorf("the trace saw nothing:\n%s", res.stderr)
		}
		var probesOfGitconfig []traceEntry
		for _, e := range traceEntries(t, r) {
			if e.Target == "~/.gitconfig" {
				probesOfGitconfig = append(probesOfGitconfig, e)
			}
		}
		if len(probesOfGitconfig) != 1 {
			t.Fatalf("want one entry for ~/.gitconfig, got %v", probesOfGitconfig)
		}
		e := probesOfGitconfig[0]
		if got := e.String(); got != `file probe ~/.gitconfig -> [] profiles += "@git"` {
			t.Errorf("the ~/.gitconfig entry: %s", got)
		}
		if !strings.Contains(e.Hint, `add "@git" to profiles in .pent.toml`) {
			t.Errorf("the hint does not name @git: %q", e.Hint)
		}
		show := r.pent("trace", "show")
		if !strings.Contains(show.stdout, `add "@git" to profiles in .pent.toml`) {
			t.Errorf("trace show does not name @git:\n%s", show)
		}

		r.pent("trace", "suggest", "--apply", "--yes").wantCode(t, 0)
		r.allow()
		if res := r.sandboxSh(commit); res.code != 0 || !strings.Contains(res.stdout, "COMMITTED") {
			t.Errorf("git commit with the suggested @git still fails:\n%s", res)
		}
	})
}

// TestTrace_SuggestIsSafeAndPortable: node's cgroup probes, a new directory
// in the home directory and a read of an SSH key, traced, give suggestions
// that hold on any host and grant no secret: no /sys/fs/cgroup/... line of
// this host, ~/newdir rather than ~, and no key — what is left out is said,
// with the reason. --apply without a terminal refuses unless --yes, and
// shows the change first.
func TestTrace_SuggestIsSafeAndPortable(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		unavailable(t, "node is not installed")
	}
	bothModes(t, func(t *testing.T, r *runner) {
		r.allow()
		res := r.sandboxSh(`node -e 'require("os").constrainedMemory?.(); console.log("NODE-RAN")'
mkdir "$HOME/newdir"
cat "$HOME/.ssh/id_ed25519"
true`, "--trace")
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		if !strings.Contains(res.stdout, "NODE-RAN") {
			t.Fatalf("node did not run:\n%s", res)
		}
		sawCgroup := false
		for _, e := range traceEntries(t, r) {
			sawCgroup = sawCgroup || strings.HasPrefix(e.Target, "/sys/fs/cgroup/")
		}

		sug := r.pent("trace", "suggest")
		sug.wantCode(t, 0)
		for _, bad := range []string{"/sys/fs/cgroup/", "id_ed25519", `"~"`, `"/home"`, `"/"`, "/proc/"} {
			if strings.Contains(sug.stdout, bad) {
				t.Errorf("trace suggest proposes %s:\n%s", bad, sug.stdout)
			}
		}
		if !strings.Contains(sug.stdout, `read_write = ["~/newdir"]`) {
			t.Errorf("trace suggest does not grant the new directory by name:\n%s", sug.stdout)
		}
		if sawCgroup && !strings.Contains(sug.stdout, `"/sys/fs/cgroup"`) {
			t.Errorf("node's cgroup reads were not generalised:\n%s", sug)
		}
		if !strings.Contains(sug.stderr, "pent: not suggested: ~/.ssh/id_ed25519: it holds secrets") {
			t.Errorf("trace suggest does not say why the key is left out:\n%s", sug.stderr)
		}

		project := filepath.Join(r.project, ".pent.toml")
		before, _ := os.ReadFile(project)
		refused := r.pent("trace", "suggest", "--apply")
		if refused.code == 0 || !strings.Contains(refused.stderr, "--yes") {
			t.Errorf("suggest --apply without a terminal did not refuse:\n%s", refused)
		}
		r.assertFile(project, string(before))
		applied := r.pent("trace", "suggest", "--apply", "--yes")
		applied.wantCode(t, 0)
		if !strings.Contains(applied.stdout, `+ read_write = ["~/newdir"]`) {
			t.Errorf("suggest --apply did not show the change:\n%s", applied)
		}
		after, _ := os.ReadFile(project)
		for _, bad := range []string{"/sys/fs/cgroup/", "id_ed25519", `"~"`} {
			if strings.Contains(string(after), bad) {
				t.Errorf("--apply wrote %s into the project file:\n%s", bad, after)
			}
		}
	})
}
