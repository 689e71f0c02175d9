//go:build linux

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// The interactive shell tests (SPEC §5, issue 4) drive real `bash -i`,
// `zsh -i` and `fish -i` through a pty, as the rootless test account, with
// an rc file that installs `pent hook` the way the README says.

// shellPrompt is the prompt every test shell prints; typed lines never
// contain it, so seeing it means the shell is ready for the next line.
const shellPrompt = "PENT-E2E-PROMPT>"

// promptTimeout bounds the wait for one prompt (a line may start pent run).
const promptTimeout = 60 * time.Second

// shellKind is what differs between the shells in the tests.
type shellKind struct {
	name string
	// rc returns the rc file's path and content for hook command hookCmd.
	rc func(home, hookCmd string) (path, content string)
	// args start the interactive shell with that rc file.
	args func(home string) []string
	// quote quotes a word for typing.
	quote func(string) string
	// status expands to the previous command's exit status.
	status string
	// hookCount prints how many times _pent_hook is registered (per hook
	// list), so a doubled install shows.
	hookCount string
	// trapShow prints the user's INT handler.
	trapShow string
	// isFunction prints "FN" when cat is a shell function, "NOFN" otherwise.
	isFunction string
}

func posixQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var shellKinds = []shellKind{
	{
		name: "bash",
		rc: func(home, hookCmd string) (string, string) {
			return filepath.Join(home, ".bashrc"), "PS1='" + shellPrompt + " '\n" +
				"PROMPT_COMMAND='true'\n" +
				"head() { echo USERHEAD; }\n" +
				"trap 'echo USERTRAP' INT\n" +
				"eval \"$(" + hookCmd + " hook bash)\"\n" +
				"eval \"$(" + hookCmd + " hook bash)\"\n" +
				"set -u\n"
		},
		args: func(home string) []string {
			return []string{"--noprofile", "--rcfile", filepath.Join(home, ".bashrc"), "-i"}
		},
		quote:      posixQuote,
		status:     "$?",
		hookCount:  `printf '%s\n' "${PROMPT_COMMAND[@]}" | grep -c _pent_hook`,
		trapShow:   "trap -p INT",
		isFunction: `declare -F cat >/dev/null && echo FN || echo NOFN`,
	},
	{
		name: "zsh",
		rc: func(home, hookCmd string) (string, string) {
			return filepath.Join(home, ".zshrc"), "PS1='" + shellPrompt + " '\n" +
				"unsetopt PROMPT_SP\n" +
				"head() { echo USERHEAD; }\n" +
				"trap 'echo USERTRAP' INT\n" +
				"eval \"$(" + hookCmd + " hook zsh)\"\n" +
				"eval \"$(" + hookCmd + " hook zsh)\"\n" +
				"setopt nounset\n"
		},
		args:       func(string) []string { return []string{"-i"} },
		quote:      posixQuote,
		status:     "$?",
		hookCount:  `print -l $precmd_functions $chpwd_functions | grep -c _pent_hook`,
		trapShow:   "trap",
		isFunction: `(( ${+functions[cat]} )) && echo FN || echo NOFN`,
	},
	{
		name: "fish",
		rc: func(home, hookCmd string) (string, string) {
			return filepath.Join(home, ".config", "fish", "config.fish"),
				"function fish_prompt; printf '%s ' '" + shellPrompt + "'; end\n" +
					"set -g fish_greeting\n" +
					"function head; echo USERHEAD; end\n" +
					"function user_int --on-signal INT; echo USERTRAP; end\n" +
					hookCmd + " hook fish | source\n" +
					hookCmd + " hook fish | source\n"
		},
		args: func(string) []string { return []string{"-i"} },
		quote: func(s string) string {
			return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
		},
		status:     "$status",
		hookCount:  `functions --handlers-type generic | grep -c _pent_hook`,
		trapShow:   `functions --handlers-type signal`,
		isFunction: `functions -q cat; and echo FN; or echo NOFN`,
	},
}

// iShell is an interactive shell on a pty.
type iShell struct {
	*ptyProc
	kind shellKind
}

// startShell starts kind's interactive shell in dir, as the runner's
// account, with the rc file already written.
func (r *runner) startShell(kind shellKind, dir string) *iShell {
	r.t.Helper()
	path, err := exec.LookPath(kind.name)
	if err != nil {
		unavailable(r.t, "%s is not installed (CI installs it: apt-get install %s): %v", kind.name, kind.name, err)
	}
	cmd := r.command(context.Background(), dir, path, kind.args(r.home)...)
	cmd.Env = append(cmd.Env, "ZDOTDIR="+r.home, "LANG=C.UTF-8", "PATH="+filepath.Dir(pentBin)+":"+cleanPath)
	p := r.startOnPty(cmd, &pty.Winsize{Rows: 50, Cols: 400})
	s := &iShell{ptyProc: p, kind: kind}
	s.next()
	return s
}

// writeShellRC writes kind's rc file for the runner, installing the hook
// from hookCmd (a quoted path).
func (r *runner) writeShellRC(kind shellKind, hookCmd string) {
	r.t.Helper()
	path, content := kind.rc(r.home, hookCmd)
	r.writeFile(path, content, 0o644)
	if kind.name == "fish" {
		r.quietFish()
	}
}

var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\a\x1b]*(\a|\x1b\\)|[()][0-9A-Za-z]|[=>])`)

// next waits for the next prompt and returns what the terminal showed since
// the previous one, without escape sequences and carriage returns.
func (s *iShell) next() string {
	s.t.Helper()
	chunk, ok := s.consume(shellPrompt, promptTimeout)
	if !ok {
		s.t.Fatalf("%s: no prompt within %v; the terminal showed:\n%s", s.kind.name, promptTimeout, s.output()[s.seen:])
	}
	// fish redraws lines after a carriage return: count it as a line break
	// so each message stays on a line of its own.
	lines := strings.Split(strings.ReplaceAll(ansi.ReplaceAllString(chunk, ""), "\r", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

// line types a command line and returns its output up to the next prompt
// (the typed line's echo excluded). It looks for the prompt only after the
// newline that ends the typed line, because fish repaints its prompt while a
// line is being typed.
func (s *iShell) line(text string) string {
	s.t.Helper()
	s.skipAll()
	s.write(text + "\r")
	s.expect("\n", promptTimeout)
	out := s.next()
	s.t.Logf("%s> %s\n%s", s.kind.name, text, out)
	return out
}

// allow runs `pent allow` at the prompt, waits for its question and answers
// it; it returns the output up to the next prompt.
func (s *iShell) allow(answer string) string {
	s.t.Helper()
	s.skipAll()
	s.write("pent allow\r")
	s.expect("\n", promptTimeout)
	s.expect("? [y/N] ", promptTimeout)
	s.write(answer + "\r")
	out := s.next()
	s.t.Logf("%s> pent allow (answered %s)\n%s", s.kind.name, answer, out)
	return out
}

// pentLines returns the lines of out that are pent messages.
func pentLines(out string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "pent: ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// wantOneMessage fails unless out has exactly one pent message, containing want.
func wantOneMessage(t *testing.T, step, out, want string) {
	t.Helper()
	got := pentLines(out)
	if len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("%s: want exactly one pent message containing %q, got %q in:\n%s", step, want, got, out)
	}
}

// wantQuiet fails if out has a pent message.
func wantQuiet(t *testing.T, step, out string) {
	t.Helper()
	if got := pentLines(out); len(got) > 0 {
		t.Errorf("%s: want no pent message, got %q", step, got)
	}
}

// shellFixture is the rootless runner with the projects the shell tests use:
// app (wraps cat and head), lib (wraps cat and tail), an oddly named one, and
// an empty directory where a project file appears later.
type shellFixture struct {
	*runner
	lib, odd, fresh string
}

// oddDirName has the characters a path in the hook must survive.
const oddDirName = "we ird'q\"$HOME`x` ü"

func newShellFixture(t *testing.T) shellFixture {
	t.Helper()
	a, why := rootlessAccount()
	if a == nil {
		unavailable(t, "%s", why)
	}
	r := newRunner(t, "rootless", a)
	f := shellFixture{runner: r,
		lib:   filepath.Join(r.home, "src", "lib"),
		odd:   filepath.Join(r.home, "src", oddDirName),
		fresh: filepath.Join(r.home, "src", "new"),
	}
	r.writeFile(filepath.Join(r.project, ".pent.toml"), "wrap = [\"cat\", \"head\"]\n[sandbox]\nnetwork = \"blocked\"\n", 0o644)
	r.mkdir(filepath.Join(r.project, "sub"), 0o755)
	r.writeFile(filepath.Join(f.lib, ".pent.toml"), "wrap = [\"cat\", \"tail\"]\n", 0o644)
	r.writeFile(filepath.Join(f.odd, ".pent.toml"), "wrap = [\"cat\"]\n", 0o644)
	r.mkdir(f.fresh, 0o755)
	for _, dir := range []string{r.project, f.lib, f.odd} {
		if res := r.pentIn(dir, "allow", "--yes"); res.code != 0 {
			t.Fatalf("pent allow in %s:\n%s", dir, res)
		}
	}
	return f
}

func TestShellHookInteractive(t *testing.T) {
	for _, kind := range shellKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel() // each shell has its own fixture tree and HOME
			f := newShellFixture(t)
			f.writeShellRC(kind, posixQuote(pentBin))
			sh := f.startShell(kind, f.home)
			secret := "~/.ssh/id_ed25519"
			st := kind.status

			wantQuiet(t, "start in ~", sh.line(""))
			if out := sh.line(kind.hookCount); !hasExactLine(out, map[bool]string{true: "2", false: "1"}[kind.name == "zsh"]) {
				t.Errorf("hook installed twice: want one registration per hook list, got:\n%s", out)
			}

			// cd and a wrapped command on one line: the command runs under
			// the project it is typed for, before any prompt (bash: cd is a
			// function; zsh: chpwd; fish: a PWD variable handler).
			out := sh.line("cd ~/src/app && cat " + secret + "; echo rc=" + st)
			if strings.Contains(out, f.marker) || strings.Contains(out, "rc=0") || !strings.Contains(out, "pent: sandboxing cat, head (~/src/app/.pent.toml)") {
				t.Errorf("`cd app && cat` ran cat unsandboxed, or without the project's notice:\n%s", out)
			}
			wantQuiet(t, "prompt after the one-line cd", sh.line(""))
			wantOneMessage(t, "back home", sh.line("cd ~"), "no longer sandboxed")

			// Enter a trusted project: one notice, wrapped commands sandboxed.
			wantOneMessage(t, "enter app", sh.line("cd ~/src/app"), "pent: sandboxing cat, head (~/src/app/.pent.toml)")
			out = sh.line("cat " + secret + "; echo rc=" + st)
			if strings.Contains(out, f.marker) || strings.Contains(out, "rc=0") {
				t.Errorf("wrapped cat read the secret in $HOME or succeeded:\n%s", out)
			}
			if out := sh.line("cat README"); !strings.Contains(out, "fixture") {
				t.Errorf("wrapped cat cannot read the project's README:\n%s", out)
			}
			wantQuiet(t, "subdirectory", sh.line("cd sub"))
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("cat is not wrapped in a subdirectory:\n%s", out)
			}

			// $? survives the hook, also on a prompt where export runs.
			sh.line("cd ..; sh -c 'exit 7'")
			if out := sh.line("echo rc=" + st); !strings.Contains(out, "rc=7") {
				t.Errorf("exit status lost across the prompt hook:\n%s", out)
			}

			// Project files below the trusted project never lower its
			// protection: one that appears (a `git pull`; one a sandboxed
			// command writes goes to the quarantine, TestEscape/host-integrity/nested-git), a
			// symlink to a pseudo-file (the prompt must come back at once)
			// and a huge sparse file are passed over with one notice each.
			sh.line(`printf "wrap = []\n" > sub/.pent.toml`)
			wantOneMessage(t, "untrusted nested file", sh.line("cd sub"),
				"pent: ignoring ~/src/app/sub/.pent.toml (unknown); ~/src/app/.pent.toml stays in force")
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("an untrusted nested .pent.toml removed the project's wrapper:\n%s", out)
			}
			if out := sh.line("cat " + secret); strings.Contains(out, f.marker) {
				t.Errorf("an untrusted nested .pent.toml let cat run unsandboxed:\n%s", out)
			}
			sh.line("mkdir ../link ../huge; ln -s /proc/self/pagemap ../link/.pent.toml; truncate -s 64G ../huge/.pent.toml")
			wantOneMessage(t, "symlinked nested file", sh.line("cd ../link"), "pent: ignoring ~/src/app/link/.pent.toml (unreadable)")
			wantOneMessage(t, "huge nested file", sh.line("cd ../huge"), "pent: ignoring ~/src/app/huge/.pent.toml (unreadable)")
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("an unreadable nested .pent.toml removed the project's wrapper:\n%s", out)
			}
			wantQuiet(t, "back to the project root", sh.line("cd .."))

			// Nested shell: quiet, and wrapped.
			wantQuiet(t, "nested shell start", sh.line(kind.name+" "+strings.Join(kind.args(f.home), " ")))
			wantQuiet(t, "nested shell prompt", sh.line(""))
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("nested shell has no wrapper:\n%s", out)
			}
			if out := sh.line("cat " + secret); strings.Contains(out, f.marker) {
				t.Errorf("nested shell ran cat unsandboxed:\n%s", out)
			}
			wantQuiet(t, "nested shell exit", sh.line("exit"))

			// The project directory renamed under the shell (here by the
			// user; a sandboxed command rooted above it can do the same):
			// the shell did not leave, so the wrappers stay and never run
			// unsandboxed; only a cd releases them.
			wantOneMessage(t, "project renamed under the shell", sh.line("mv ~/src/app ~/src/app.moved"),
				"pent: ~/src/app/.pent.toml moved or is gone while the shell was in it; cat, head stay wrapped")
			if out := sh.line("cat " + secret + "; echo rc=" + st); strings.Contains(out, f.marker) || !strings.Contains(out, "rc=1") {
				t.Errorf("cat ran unsandboxed after the project was renamed under the shell:\n%s", out)
			}
			wantOneMessage(t, "leave the renamed project", sh.line("cd ~ && mv ~/src/app.moved ~/src/app"), "no longer sandboxed")
			wantOneMessage(t, "enter app after the move back", sh.line("cd ~/src/app"), "sandboxing cat, head")

			// Leave: wrappers gone, the user's head is back.
			wantOneMessage(t, "leave", sh.line("cd ~"), "no longer sandboxed")
			if out := sh.line("head"); !strings.Contains(out, "USERHEAD") {
				t.Errorf("shadowed user function head not restored:\n%s", out)
			}
			if out := sh.line("cat " + secret); !strings.Contains(out, f.marker) {
				t.Errorf("cat outside the project should be the plain command (control):\n%s", out)
			}

			// A -> B in one step.
			wantOneMessage(t, "enter app again", sh.line("cd ~/src/app"), "sandboxing cat, head")
			// A -> B says what stopped being sandboxed, then what is.
			if got := pentLines(sh.line("cd ../lib")); !slices.Equal(got, []string{
				"pent: head no longer sandboxed (left ~/src/app/.pent.toml)",
				"pent: sandboxing cat, tail (~/src/lib/.pent.toml)",
			}) {
				t.Errorf("app to lib: want what stopped and what is sandboxed, got %q", got)
			}
			if out := sh.line("head"); !strings.Contains(out, "USERHEAD") {
				t.Errorf("head still wrapped after moving to a project that does not wrap it:\n%s", out)
			}

			// A project file appears: one blocked message, then quiet.
			wantOneMessage(t, "leave lib", sh.line("cd ~/src/new"), "no longer sandboxed")
			wantOneMessage(t, "new file", sh.line(`echo 'wrap = ["cat"]' > .pent.toml`), "~/src/new/.pent.toml is not allowed yet — run `pent allow`")
			wantQuiet(t, "prompt after new file", sh.line(""))
			// pent allow is a review: nothing is trusted before the answer,
			// "n" trusts nothing; "y" activates it at the next prompt.
			if out := sh.allow("n"); !strings.Contains(out, "not trusted") || strings.Contains(out, "sandboxing") {
				t.Errorf("pent allow answered n still trusted the file:\n%s", out)
			}
			if out := sh.allow("y"); !strings.Contains(out, "pent: sandboxing cat (~/src/new/.pent.toml)") {
				t.Errorf("pent allow did not activate the project at the next prompt:\n%s", out)
			}
			if out := sh.line("cat " + secret); strings.Contains(out, f.marker) {
				t.Errorf("cat not sandboxed after pent allow:\n%s", out)
			}

			// Edit: fail closed. A wrapped command on the same line refuses;
			// the prompt says once that the wrappers stay and refuse, and
			// they do, until the user reviews the file or denies it.
			out = sh.line("echo '# edited' >> .pent.toml; cat .pent.toml; echo rc=" + st)
			if !strings.Contains(out, "rc=1") || strings.Contains(out, "# edited") {
				t.Errorf("wrapped cat after an edit should refuse with exit 1:\n%s", out)
			}
			if got := pentLines(out); len(got) != 2 || !strings.Contains(got[0], "refusing to run cat") || !strings.Contains(got[0], "pent deny") ||
				!strings.Contains(got[1], "changed since you allowed it; cat stay wrapped and refuse to run") {
				t.Errorf("want the refusal line and one blocked message, got %q", got)
			}
			wantQuiet(t, "prompt after edit", sh.line(""))
			if out := sh.line(kind.isFunction); !hasExactLine(out, "FN") {
				t.Errorf("the wrapper was removed when the file changed (it must stay and refuse):\n%s", out)
			}
			if out := sh.line("cat " + secret + "; echo rc=" + st); strings.Contains(out, f.marker) || !strings.Contains(out, "rc=1") {
				t.Errorf("cat ran after the project file changed:\n%s", out)
			}
			// Only pent deny removes the wrappers, and says what that means.
			out = sh.line("pent deny")
			if got := pentLines(out); len(got) != 2 || !strings.Contains(got[0], "now run unsandboxed") || !strings.Contains(got[1], "is denied: cat now run unsandboxed here") {
				t.Errorf("pent deny: want its notice and one prompt message saying cat runs unsandboxed, got %q", got)
			}
			if out := sh.line(kind.isFunction); !hasExactLine(out, "NOFN") {
				t.Errorf("wrapper still defined after pent deny:\n%s", out)
			}

			// Odd directory names.
			wantOneMessage(t, "odd dir", sh.line("cd ~/src/"+kind.quote(oddDirName)),
				"pent: sandboxing cat (~/src/"+oddDirName+"/.pent.toml)")
			if out := sh.line("cat " + secret + "; cat .pent.toml"); strings.Contains(out, f.marker) || !strings.Contains(out, `wrap = ["cat"]`) {
				t.Errorf("in an oddly named project, wrapped cat misbehaves:\n%s", out)
			}

			// The user's INT handler is untouched.
			if out := sh.line(kind.trapShow); !strings.Contains(out, "USERTRAP") && !strings.Contains(out, "user_int") {
				t.Errorf("user INT trap gone:\n%s", out)
			}
		})
	}
}

func TestShellHookVanishedBinary(t *testing.T) {
	for _, kind := range shellKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel() // each shell has its own fixture tree and HOME
			f := newShellFixture(t)
			copyPath := filepath.Join(f.home, "bin dir", "pent copy")
			data, err := os.ReadFile(pentBin)
			if err != nil {
				t.Fatal(err)
			}
			f.writeFile(copyPath, string(data), 0o755)
			f.writeShellRC(kind, posixQuote(copyPath))
			sh := f.startShell(kind, f.home)
			wantQuiet(t, "start", sh.line(""))
			if err := os.Remove(copyPath); err != nil {
				t.Fatal(err)
			}
			wantOneMessage(t, "binary gone", sh.line("cd ~/src/app"), "is gone")
			wantQuiet(t, "after the warning", sh.line("cd ~"))
			wantQuiet(t, "still quiet", sh.line("cd ~/src/lib"))
		})
	}
}

// TestShellPromptStartsNoProcess traces an interactive shell while Enter is
// pressed on prompts where nothing changed, and requires that no process or
// non-thread clone was started (SPEC §5.1, §8). A cd right after proves the
// trace sees the one pent process a change costs.
func TestShellPromptStartsNoProcess(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		unavailable(t, "strace is not installed (apt-get install strace): %v", err)
	}
	for _, kind := range shellKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newShellFixture(t)
			f.writeShellRC(kind, posixQuote(pentBin))
			sh := f.startShell(kind, f.project)
			sh.line("")
			sh.line("cd sub")
			sh.line("")

			log := filepath.Join(f.base, "strace.log")
			tr := exec.Command(strace, "-f", "-qq", "-e", "trace=execve,execveat,clone,clone3,fork,vfork",
				"-o", log, "-p", strconv.Itoa(sh.cmd.Process.Pid))
			stderr, err := tr.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = bufio.NewReader(stderr).WriteTo(os.Stderr) }()
			waitTraced(t, sh.cmd.Process.Pid)

			for i := 0; i < 3; i++ {
				sh.line("")
			}
			noop := stopTrace(t, tr, log)
			if bad := processStarts(noop); len(bad) > 0 {
				t.Errorf("%s started processes on no-op prompts:\n%s", kind.name, strings.Join(bad, "\n"))
			}

			// Control: the same trace sees the pent process that a cd costs.
			tr = exec.Command(strace, "-f", "-qq", "-e", "trace=execve,execveat,clone,clone3,fork,vfork",
				"-o", log, "-p", strconv.Itoa(sh.cmd.Process.Pid))
			if err := tr.Start(); err != nil {
				t.Fatal(err)
			}
			waitTraced(t, sh.cmd.Process.Pid)
			sh.line("cd ~")
			changed := stopTrace(t, tr, log)
			if execs := strings.Count(changed, "execve("); execs != 1 || !strings.Contains(changed, filepath.Base(pentBin)) {
				t.Errorf("a cd out of the project should cost exactly one pent process, trace:\n%s", changed)
			}
		})
	}
}

// waitTraced waits until pid has a tracer.
func waitTraced(t *testing.T, pid int) {
	t.Helper()
	traced := regexp.MustCompile(`TracerPid:\s+[1-9]`)
	for i := 0; i < 500; i++ {
		if status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); traced.Match(status) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("strace did not attach to %d", pid)
}

// stopTrace detaches strace and returns its log.
func stopTrace(t *testing.T, tr *exec.Cmd, log string) string {
	t.Helper()
	_ = tr.Process.Signal(syscall.SIGINT)
	_ = tr.Wait()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// processStarts returns the trace lines that start a program or a process
// (clone without CLONE_THREAD, fork, vfork, execve).
func processStarts(trace string) []string {
	var bad []string
	for _, l := range strings.Split(trace, "\n") {
		switch {
		case strings.Contains(l, "execve(") || strings.Contains(l, "execveat("),
			strings.Contains(l, "fork("),
			(strings.Contains(l, "clone(") || strings.Contains(l, "clone3(")) && !strings.Contains(l, "CLONE_THREAD"):
			bad = append(bad, l)
		}
	}
	return bad
}
