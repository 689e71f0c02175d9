//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/profiles"
)

// The agent tests run the real CLIs pent exists for — Claude Code, Codex
// and Gemini CLI, pinned in testdata/agents.txt — installed from the npm
// registry into a cache (.ci/run installs them). Nothing here needs the
// network: the CLIs' --version and --help work offline.

// agent is one pinned CLI.
type agent struct {
	command, profile, pkg, version string
}

// agentPins reads testdata/agents.txt.
func agentPins(t *testing.T) []agent {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "agents.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []agent
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("testdata/agents.txt: %q is not `command profile package version`", line)
		}
		out = append(out, agent{command: f[0], profile: f[1], pkg: f[2], version: f[3]})
	}
	return out
}

// agentsDir returns the npm prefix the pinned CLIs are installed in, after
// checking that each is there at its pinned version: PENT_E2E_AGENTS, else
// /var/cache/pent-e2e/agents as root (a place the rootless account can
// read), else $XDG_CACHE_HOME/pent-e2e/agents.
func agentsDir(t *testing.T, pins []agent) string {
	t.Helper()
	dir := os.Getenv("PENT_E2E_AGENTS")
	if dir == "" {
		dir = "/var/cache/pent-e2e/agents"
		if os.Geteuid() != 0 {
			cache, err := os.UserCacheDir()
			if err != nil {
				unavailable(t, "no cache directory for the agent CLIs: %v", err)
			}
			dir = filepath.Join(cache, "pent-e2e", "agents")
		}
	}
	var install []string
	for _, a := range pins {
		install = append(install, a.pkg+"@"+a.version)
	}
	for _, a := range pins {
		data, err := os.ReadFile(filepath.Join(agentRoot(dir, a), "package.json"))
		var pkg struct{ Version string }
		if err == nil {
			err = json.Unmarshal(data, &pkg)
		}
		if err != nil || pkg.Version != a.version {
			unavailable(t, "%s %s is not installed in %s (found %q, %v); install the pinned CLIs with: npm install -g --prefix %s %s",
				a.pkg, a.version, dir, pkg.Version, err, dir, strings.Join(install, " "))
		}
	}
	return dir
}

// agentRoot is the package root of a in the npm prefix dir.
func agentRoot(dir string, a agent) string {
	return filepath.Join(dir, "lib", "node_modules", a.pkg)
}

// TestAgents_ProfileDomainsInBundle: every domain of an agent profile
// appears in the text of the pinned CLI's bundle (its JavaScript, its native
// binary), so a profile follows what the current CLI contacts; when a CLI
// drops a host, this fails and the profile must drop it too.
func TestAgents_ProfileDomainsInBundle(t *testing.T) {
	pins := agentPins(t)
	dir := agentsDir(t, pins)
	for _, a := range pins {
		t.Run(a.command, func(t *testing.T) {
			p, ok := profiles.Lookup(a.profile)
			if !ok {
				t.Fatalf("no profile %s", a.profile)
			}
			missing := slices.Clone(p.Domains)
			err := filepath.WalkDir(agentRoot(dir, a), func(path string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() || len(missing) == 0 {
					return err
				}
				found, err := fileContains(path, missing)
				missing = slices.DeleteFunc(missing, func(s string) bool { return slices.Contains(found, s) })
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) > 0 {
				t.Errorf("%s allows %v, which %s %s never names: drop them from profiles/table.go (or pin the CLI that uses them)",
					a.profile, missing, a.pkg, a.version)
			}
		})
	}
}

// fileContains returns those of words that occur in the file at path, read
// in chunks that overlap by the longest word.
func fileContains(path string, words []string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	overlap := 0
	for _, w := range words {
		overlap = max(overlap, len(w))
	}
	var found []string
	buf := make([]byte, 4<<20)
	keep := 0
	for {
		n, err := io.ReadFull(f, buf[keep:])
		chunk := buf[:keep+n]
		for _, w := range words {
			if !slices.Contains(found, w) && bytes.Contains(chunk, []byte(w)) {
				found = append(found, w)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return found, nil
		}
		if err != nil {
			return found, err
		}
		keep = min(overlap, len(chunk))
		copy(buf, chunk[len(chunk)-keep:])
	}
}

// TestAgents_VersionAndHelp: `pent run --profile @x -- x --version` and
// `--help` work for each pinned CLI installed under an npm prefix on PATH,
// offline, and leave the fixture secrets unread.
func TestAgents_VersionAndHelp(t *testing.T) {
	pins := agentPins(t)
	dir := agentsDir(t, pins)
	bothModes(t, func(t *testing.T, r *runner) {
		r.extraEnv = append(r.extraEnv, "PATH="+filepath.Join(dir, "bin")+":"+cleanPath)
		for _, a := range pins {
			res := r.pent("run", "--profile", a.profile, "--", a.command, "--version")
			if res.code != 0 || !strings.Contains(res.stdout, a.version) {
				t.Errorf("%s --version under %s: want exit 0 and %s:\n%s", a.command, a.profile, a.version, res)
			}
			res = r.pent("run", "--profile", a.profile, "--", a.command, "--help")
			if res.code != 0 || !strings.Contains(res.stdout, "Usage: "+a.command) {
				t.Errorf("%s --help under %s: want exit 0 and its usage:\n%s", a.command, a.profile, res)
			}
			r.assertNoSecret(res)
		}
	})
}

// TestAgents_ShellHookBash: in a project that wraps the three CLIs, an
// interactive bash with the hook runs each one's --version and --help
// through its wrapper, sandboxed under the project's profiles.
func TestAgents_ShellHookBash(t *testing.T) {
	pins := agentPins(t)
	dir := agentsDir(t, pins)
	bash := shellKinds[slices.IndexFunc(shellKinds, func(k shellKind) bool { return k.name == "bash" })]
	bothModes(t, func(t *testing.T, r *runner) {
		var names, profs []string
		for _, a := range pins {
			names = append(names, a.command)
			profs = append(profs, a.profile)
		}
		quoted := func(list []string) string { return `["` + strings.Join(list, `", "`) + `"]` }
		r.writeFile(filepath.Join(r.project, ".pent.toml"), "profiles = "+quoted(profs)+"\nwrap = "+quoted(names)+"\n", 0o644)
		r.allow()
		r.writeShellRC(bash, posixQuote(pentBin))
		sh := r.startShell(bash, r.home)
		sh.line("export PATH=" + posixQuote(filepath.Join(dir, "bin")) + ":$PATH")
		wantOneMessage(t, "enter the project", sh.line("cd ~/src/app"), "pent: sandboxing "+strings.Join(names, ", ")+" (~/src/app/.pent.toml)")
		for _, a := range pins {
			if out := sh.line("type -t " + a.command); !hasExactLine(out, "function") {
				t.Errorf("%s is not wrapped:\n%s", a.command, out)
			}
			if out := sh.line(a.command + " --version; echo rc=$?"); !strings.Contains(out, a.version) || !hasExactLine(out, "rc=0") {
				t.Errorf("wrapped %s --version: want %s and rc=0:\n%s", a.command, a.version, out)
			}
			if out := sh.line(a.command + " --help; echo rc=$?"); !strings.Contains(out, "Usage: "+a.command) || !hasExactLine(out, "rc=0") {
				t.Errorf("wrapped %s --help: want its usage and rc=0:\n%s", a.command, out)
			}
		}
	})
}

// TestAgents_CalledByName: a command that calls the CLIs by name (an agent
// or a script: `sh -c '… claude …'`) finds each one working, not only the
// first command: pent grants the npm packages the PATH links point into.
func TestAgents_CalledByName(t *testing.T) {
	pins := agentPins(t)
	dir := agentsDir(t, pins)
	bothModes(t, func(t *testing.T, r *runner) {
		r.extraEnv = append(r.extraEnv, "PATH="+filepath.Join(dir, "bin")+":"+cleanPath)
		var script []string
		for _, a := range pins {
			script = append(script, a.command+" --version")
		}
		res := r.pent("run", "--", "sh", "-c", strings.Join(script, " && "))
		res.wantCode(t, 0)
		for _, a := range pins {
			if !strings.Contains(res.stdout, a.version) {
				t.Errorf("%s called by name from sh: want %s:\n%s", a.command, a.version, res)
			}
		}
		r.assertNoSecret(res)
	})
}
