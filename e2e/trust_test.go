//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Two versions of a nested project file: the one the user allowed, and one
// that grants the fixture secrets.
const (
	harmlessNested = "# harmless\n[sandbox]\nnetwork = \"blocked\"\n"
	evilNested     = "# evil\n[sandbox.paths]\nread = [\"~/.ssh\"]\n"
)

// startSwapper starts a process of the runner's account, outside any
// sandbox (a nested project file is read-only inside the parent's sandbox,
// TestEscape's nested-existing-protected, so the race is one of another
// program of the user's), that swaps sub/.pent.toml and sub/.swap with
// renameat2(RENAME_EXCHANGE) in a loop; stop makes it quit and returns how
// many swaps it made.
func startSwapper(t *testing.T, r *runner, sub string) (stop func() int) {
	t.Helper()
	data, err := os.ReadFile(escapeHelper(t))
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(r.project, "escape")
	r.writeFile(helper, string(data), 0o755)
	stopFile := filepath.Join(r.project, "stop-swapping")
	cmd := r.command(context.Background(), r.project, helper, "exchange",
		filepath.Join(sub, ".pent.toml"), filepath.Join(sub, ".swap"), stopFile)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() int {
		r.writeFile(stopFile, "", 0o644)
		_ = cmd.Wait()
		m := regexp.MustCompile(`SWAPS (\d+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("the swapper did not run:\n%s", out.String())
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
}

// TestTrust_SwappedNestedFileRace: a program swaps a nested
// project file between the content the user allowed and one that grants
// ~/.ssh, while pent run loops in that directory: no run may ever get the
// unreviewed policy (pent must hash and parse the same bytes). Then pent
// allow --yes loops: every trust record it writes must hold what it showed.
func TestTrust_SwappedNestedFileRace(t *testing.T) {
	// In turn: each mode's swapper spins on a core of its own, so the two
	// modes at once only share the same CPU (measured: slower, not faster).
	bothModesInTurn(t, func(t *testing.T, r *runner) {
		sub := filepath.Join(r.project, "sub")
		r.mkdir(sub, 0o755)
		r.writeFile(filepath.Join(sub, ".pent.toml"), harmlessNested, 0o644)
		r.writeFile(filepath.Join(sub, ".swap"), evilNested, 0o644)
		r.allow()
		r.pentIn(sub, "allow", "--yes").wantCode(t, 0)

		stop := startSwapper(t, r, sub)
		secret := filepath.Join(r.home, ".ssh", "id_ed25519")
		leaks := 0
		const runs = 300
		for i := 0; i < runs; i++ {
			res := r.pentIn(sub, "run", "--", "cat", secret)
			if strings.Contains(res.stdout, r.marker) {
				leaks++
			}
		}
		if n := stop(); n == 0 {
			t.Fatal("the sandboxed swapper made no swap: the race was not exercised")
		}
		if leaks > 0 {
			t.Errorf("%d of %d runs read ~/.ssh through a nested .pent.toml the user never allowed", leaks, runs)
		}

		// pent allow under the same race: the record must hold the bytes
		// whose grants were shown.
		if err := os.Remove(filepath.Join(r.project, "stop-swapping")); err != nil {
			t.Fatal(err)
		}
		stop = startSwapper(t, r, sub)
		store := filepath.Join(r.home, ".local", "share", "pent", "allow")
		mismatches, evilTrusted := 0, 0
		const allows = 100
		for i := 0; i < allows; i++ {
			res := r.pentIn(sub, "allow", "--yes")
			if res.code != 0 {
				continue
			}
			content := trustedContent(t, store, filepath.Join(sub, ".pent.toml"))
			// What it grants is listed after this line (the change since
			// the last trusted version, above it, may name ~/.ssh too).
			_, grants, _ := strings.Cut(res.stderr, "grants, beyond your global policy:")
			showedSSH := strings.Contains(grants, ".ssh")
			if strings.Contains(content, "# evil") {
				evilTrusted++
			}
			if strings.Contains(content, "# evil") != showedSSH {
				mismatches++
				t.Logf("pent allow showed:\n%s\nand trusted:\n%s", res.stderr, content)
			}
		}
		if n := stop(); n == 0 {
			t.Fatal("the sandboxed swapper made no swap during the allow loop")
		}
		if mismatches > 0 {
			t.Errorf("%d of %d allows trusted content other than what they showed", mismatches, allows)
		}
		t.Logf("%d of %d allows trusted (and showed) the ~/.ssh version", evilTrusted, allows)
	})
}

// trustedContent returns the content of the allow record for file.
func trustedContent(t *testing.T, store, file string) string {
	t.Helper()
	entries, err := os.ReadDir(store)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(store, e.Name()))
		if err != nil {
			continue
		}
		var rec struct{ Path, Content []byte }
		if json.Unmarshal(data, &rec) == nil && string(rec.Path) == file {
			return string(rec.Content)
		}
	}
	t.Fatalf("no allow record for %s in %s", file, store)
	return ""
}

// TestShell_ContainsEverything: inside `pent shell` even what bypasses the
// wrapper functions (`command cat`, /usr/bin/cat) is sandboxed.
func TestShell_ContainsEverything(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.allow()
		cmd := r.command(context.Background(), r.project, pentBin, "shell")
		cmd.Env = append(cmd.Env, "SHELL=/bin/bash")
		p := r.startOnPty(cmd, nil)
		p.expect("every command in it is sandboxed", promptTimeout)
		secret := filepath.Join(r.home, ".ssh", "id_ed25519")
		p.write("command cat " + secret + "; /usr/bin/cat " + secret + "; echo DONE-$((6*7))\r")
		p.expect("DONE-42", promptTimeout)
		p.write("exit\r")
		if ws := p.wait(promptTimeout); ws.ExitStatus() != 0 {
			t.Errorf("pent shell exited with %v:\n%s", ws, p.output())
		}
		if strings.Contains(p.output(), r.marker) {
			t.Errorf("a command in pent shell read ~/.ssh:\n%s", p.output())
		}
	})
}

// TestShellHook_PlantedOrDeletedProjectFile (red team rt15 #1, #2): in real
// bash, zsh and fish, a sandboxed command that plants an unknown .pent.toml
// beside an allowed .pent/pent.toml, or deletes an allowed nested
// sub/.pent.toml, must not make the hook drop the wrappers: they stay and
// refuse to run, and the secret is never read.
func TestShellHook_PlantedOrDeletedProjectFile(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		seed := filepath.Join(r.home, "src", "seed")
		nest := filepath.Join(r.home, "src", "nest")
		r.mkdir(filepath.Join(seed, ".pent"), 0o755)
		r.writeFile(filepath.Join(seed, ".pent", "pent.toml"), "wrap = [\"cat\"]\n", 0o644)
		r.writeFile(filepath.Join(seed, "README"), "fixture\n", 0o644)
		r.mkdir(filepath.Join(nest, "sub"), 0o755)
		r.writeFile(filepath.Join(nest, ".pent.toml"), "wrap = [\"head\"]\n", 0o644)
		nested := "wrap = [\"cat\", \"head\"]\n"
		r.writeFile(filepath.Join(nest, "sub", ".pent.toml"), nested, 0o644)
		for _, dir := range []string{seed, nest, filepath.Join(nest, "sub")} {
			if res := r.pentIn(dir, "allow", "--yes"); res.code != 0 {
				t.Fatalf("pent allow in %s:\n%s", dir, res)
			}
		}
		// One runner for the three shells: its helpers fail the mode's test,
		// so the shells take turns in it (messages name the shell).
		for _, kind := range shellKinds {
			r.writeShellRC(kind, posixQuote(pentBin))
			sh := r.startShell(kind, r.home)
			secret, st := "~/.ssh/id_ed25519", kind.status

			wantOneMessage(t, kind.name+": enter seed", sh.line("cd ~/src/seed"), "pent: sandboxing cat (~/src/seed/.pent/pent.toml)")
			// Written from the shell, as a `git pull` would: one a sandboxed
			// command writes is moved to the quarantine before the prompt
			// (TestQuarantine), so it never reaches the hook.
			out := sh.line(`printf "wrap = []\n" > .pent.toml`)
			if !strings.Contains(out, "pent: ~/src/seed/.pent.toml is not allowed yet — run `pent allow` to review it; cat stay wrapped and refuse to run") {
				t.Errorf("%s: planted .pent.toml beside .pent/pent.toml: want the blocked notice:\n%s", kind.name, out)
			}
			out = sh.line("cat " + secret + "; echo rc=" + st)
			if strings.Contains(out, r.marker) || !strings.Contains(out, "rc=1") || !strings.Contains(out, "refusing to run cat: ~/src/seed/.pent.toml is not allowed yet") {
				t.Errorf("%s: after a planted .pent.toml, cat must stay wrapped and refuse:\n%s", kind.name, out)
			}
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("%s: a planted .pent.toml removed the wrapper:\n%s", kind.name, out)
			}
			wantOneMessage(t, kind.name+": remove the planted file", sh.line("rm .pent.toml"), "pent: sandboxing cat (~/src/seed/.pent/pent.toml)")

			if out := sh.line("cd ~/src/nest"); !strings.Contains(out, "pent: sandboxing head (~/src/nest/.pent.toml)") {
				t.Errorf("%s: enter nest: no notice:\n%s", kind.name, out)
			}
			// Deleted from the shell, as a `git pull` would: a sandboxed
			// command cannot (an existing nested project file is read-only
			// inside, TestEscape's nested-existing-protected).
			sh.line("rm sub/.pent.toml")
			out = sh.line("cd sub && cat " + secret + "; echo rc=" + st)
			if strings.Contains(out, r.marker) || !strings.Contains(out, "rc=1") ||
				!strings.Contains(out, "pent: ~/src/nest/sub/.pent.toml is gone or unreadable since you allowed it (file does not exist); cat, head stay wrapped and refuse to run") {
				t.Errorf("%s: after a deleted allowed sub/.pent.toml, cat must stay wrapped and refuse:\n%s", kind.name, out)
			}
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("%s: a deleted allowed sub/.pent.toml removed the wrapper:\n%s", kind.name, out)
			}
			r.writeFile(filepath.Join(nest, "sub", ".pent.toml"), nested, 0o644)
			wantOneMessage(t, kind.name+": restored nested file", sh.line(""), "pent: sandboxing cat, head (~/src/nest/sub/.pent.toml)")
		}
	})
}
