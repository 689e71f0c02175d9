//go:build linux

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The install tests (SPEC §11, issue 10) do what a new user does with a
// fresh copy of the repository: ./install.sh as root and as an unprivileged
// user with an empty HOME, then pent doctor, completions, man pages, the
// printed hook line in a real `bash -i`, a second install, --uninstall; and,
// as root, packaging/build-deb with a real dpkg -i / dpkg -P.
//
// Go runs without touching the network: as root from the test process's own
// module cache (GOPROXY=off), as the unprivileged user from a file:// copy
// of it. Builds reuse a Go build cache: the test process's, or for the
// unprivileged account a private one in /var/tmp that persists across runs.

// TestInstall installs, checks and uninstalls pent as root and rootless, then
// builds and installs the .deb as root.
func TestInstall(t *testing.T) {
	needTool(t, "git", "git")
	needTool(t, "bash", "bash")
	goEnv := hostGoEnv(t)
	tree := copyWorkingTree(t)
	version := strings.TrimSpace(mustOutput(t, tree, filepath.Join(tree, "packaging", "version")))
	if version == "dev" || version == "" {
		t.Fatalf("packaging/version in the copied tree printed %q, want a git version", version)
	}
	// In turn: both modes run git and install.sh in the one copied tree, and
	// the .deb below installs into /usr while no other subtest runs.
	bothModesInTurn(t, func(t *testing.T, r *runner) {
		offlineGo(t, r, goEnv)
		checkInstall(t, r, tree, version)
	})
	t.Run("deb", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("dpkg -i needs root (CI runs as root)")
		}
		r := newRunner(t, "root", &account{name: "root"})
		// dpkg wants the sbin directories on PATH.
		r.extraEnv = append(r.extraEnv, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOTOOLCHAIN=local", "GOFLAGS=-modcacherw",
			"GOCACHE="+goEnv["GOCACHE"], "GOMODCACHE="+goEnv["GOMODCACHE"], "GOPROXY=off")
		checkDeb(t, r, tree)
	})
}

// offlineGo sets r up to run install.sh without the network: as the test
// process's user from its own caches, as another user from a private build
// cache and a file:// copy of the module cache.
func offlineGo(t *testing.T, r *runner, goEnv map[string]string) {
	t.Helper()
	r.extraEnv = append(r.extraEnv, "SHELL=/bin/bash", "GOTOOLCHAIN=local", "GOFLAGS=-modcacherw")
	if r.acct.uid == os.Geteuid() {
		r.extraEnv = append(r.extraEnv, "GOCACHE="+goEnv["GOCACHE"], "GOMODCACHE="+goEnv["GOMODCACHE"], "GOPROXY=off")
	} else {
		r.extraEnv = append(r.extraEnv, "GOCACHE="+rootlessGoCache(t, r.acct),
			"GOPROXY=file://"+moduleMirror(t, goEnv["GOMODCACHE"]), "GOSUMDB=off")
	}
}

// installedFiles are the files install.sh puts below its prefix, besides
// the man pages.
var installedFiles = []struct {
	path, contains string
}{
	{"bin/pent", ""},
	{"share/bash-completion/completions/pent", "__start_pent"},
	{"share/zsh/site-functions/_pent", "#compdef pent"},
	{"share/fish/vendor_completions.d/pent.fish", "complete -c pent"},
	{"share/fish/vendor_conf.d/pent.fish", "pent hook fish | source"},
}

// checkInstall runs install.sh from tree into a fresh prefix as r's account.
func checkInstall(t *testing.T, r *runner, tree, version string) {
	prefix := filepath.Join(r.base, "prefix")
	r.mkdir(prefix, 0o755)
	pent := filepath.Join(prefix, "bin", "pent")
	install := filepath.Join(tree, "install.sh")

	res := timed(t, "install.sh", func() result { return r.execWithin(buildTimeout, tree, install, "--prefix", prefix) })
	res.wantCode(t, 0)
	if t.Failed() {
		return
	}
	hookLine := printedHookLine(t, res.stdout, "~/.bashrc")
	if !strings.Contains(hookLine, pent) {
		t.Errorf("hook line %q does not name %s (not on PATH)", hookLine, pent)
	}
	// The control for TestInstallAppArmorRestricted: this host has what pent
	// needs, so install.sh only points at doctor.
	if !hasExactLine(res.stdout, "pent: check this machine with: "+pent+" doctor") || strings.Contains(res.stdout, "lacks something") {
		t.Errorf("install.sh on a host with what pent needs did not end with the hint to run %s doctor:\n%s", pent, res.stdout)
	}
	for _, f := range installedFiles {
		wantFile(t, filepath.Join(prefix, f.path), f.contains)
	}
	if fi, err := os.Stat(pent); err == nil && fi.Mode().Perm() != 0o755 {
		t.Errorf("%s has mode %v, want 0755", pent, fi.Mode().Perm())
	}
	fishConf, _ := os.ReadFile(filepath.Join(tree, "packaging", "fish", "pent.fish"))
	if got, _ := os.ReadFile(filepath.Join(prefix, "share/fish/vendor_conf.d/pent.fish")); string(got) != string(fishConf) {
		t.Errorf("fish snippet differs from packaging/fish/pent.fish:\n%s", got)
	}
	mandir := filepath.Join(prefix, "share", "man", "man1")
	for _, page := range []string{"pent.1", "pent-run.1", "pent-doctor.1", "pent-hook.1"} {
		wantFile(t, filepath.Join(mandir, page), ".TH")
	}
	if _, err := os.Stat(filepath.Join(mandir, "pent-man.1")); err == nil {
		t.Error("the hidden man command got a man page")
	}

	for _, rc := range []string{".bashrc", ".zshrc", ".profile", ".config/fish/config.fish"} {
		if _, err := os.Stat(filepath.Join(r.home, rc)); err == nil {
			t.Errorf("install.sh wrote ~/%s; it must only print the hook line", rc)
		}
	}
	if got := r.exec(tree, pent, "version").stdout; !strings.HasPrefix(got, "pent "+version+" ") {
		t.Errorf("pent version = %q, want the checkout's version %s", got, version)
	}
	timed(t, "pent doctor", func() result { return r.exec(tree, pent, "doctor") }).wantCode(t, 0)
	t.Run("man", func(t *testing.T) {
		needTool(t, "man", "man-db")
		res := r.exec(tree, "man", "-M", filepath.Join(prefix, "share", "man"), "-w", "pent")
		if strings.TrimSpace(res.stdout) != filepath.Join(mandir, "pent.1") {
			t.Errorf("man -w pent did not find the installed page:\n%s", res)
		}
	})
	comp := r.exec(tree, "bash", "-c", `source "$1" && complete -p pent`, "bash", filepath.Join(prefix, "share/bash-completion/completions/pent"))
	if !strings.Contains(comp.stdout, "__start_pent") {
		t.Errorf("the bash completion does not register for pent:\n%s", comp)
	}
	t.Run("fish snippet", func(t *testing.T) { checkFishSnippet(t, r, prefix) })
	bashrc := checkBashHook(t, r, pent, hookLine)

	before := snapshot(t, prefix)
	again := timed(t, "install.sh again", func() result { return r.execWithin(buildTimeout, tree, install, "--prefix", prefix) })
	again.wantCode(t, 0)
	if after := snapshot(t, prefix); after != before {
		t.Errorf("a second install changed the prefix:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if again.stdout != res.stdout {
		t.Errorf("a second install printed something else:\nfirst:\n%s\nsecond:\n%s", res.stdout, again.stdout)
	}
	if got, _ := os.ReadFile(filepath.Join(r.home, ".bashrc")); string(got) != bashrc {
		t.Errorf("a second install changed ~/.bashrc:\n%s", got)
	}

	for i := 0; i < 2; i++ {
		timed(t, "install.sh --uninstall", func() result { return r.exec(tree, install, "--uninstall", "--prefix", prefix) }).wantCode(t, 0)
	}
	if left := regularFiles(t, prefix); len(left) > 0 {
		t.Errorf("--uninstall left files behind: %q", left)
	}
}

// TestInstallAppArmorRestricted runs install.sh on a simulated Ubuntu 24.04
// host that restricts unprivileged user namespaces by AppArmor profile
// (issue 22): it must end with doctor's findings, the profile for the
// installed binary's real path and the two sudo commands that install and
// load it. Running the first command as printed (into the fake profile
// directory, without sudo) must make doctor find the profile.
func TestInstallAppArmorRestricted(t *testing.T) {
	needTool(t, "git", "git")
	needTool(t, "unshare", "util-linux")
	goEnv := hostGoEnv(t)
	tree := copyWorkingTree(t)
	shipped, err := os.ReadFile(filepath.Join(tree, "packaging", "apparmor", "pent"))
	if err != nil {
		t.Fatal(err)
	}
	_, profile, ok := strings.Cut(string(shipped), "\nabi <")
	if !ok {
		t.Fatalf("packaging/apparmor/pent has no abi line:\n%s", shipped)
	}
	profile = "abi <" + profile
	// In turn: both modes run install.sh in the one copied tree.
	bothModesInTurn(t, func(t *testing.T, r *runner) {
		offlineGo(t, r, goEnv)
		fake := r.restrictedAppArmorHost()
		prefix := filepath.Join(r.base, "prefix")
		r.mkdir(prefix, 0o755)
		res := timed(t, "install.sh on a restricted host", func() result {
			return r.onRestrictedHost(buildTimeout, fake, tree, filepath.Join(tree, "install.sh"), "--prefix", prefix)
		})
		res.wantCode(t, 0)
		if t.Failed() {
			return
		}
		pent, err := filepath.EvalSymlinks(filepath.Join(prefix, "bin", "pent"))
		if err != nil {
			t.Fatal(err)
		}
		// The shipped profile is the one for /usr/bin/pent; for another path
		// the name is pent with the path's slashes as dashes.
		name := "pent" + strings.ReplaceAll(pent, "/", "-")
		want := strings.NewReplacer("profile pent /usr/bin/pent ", "profile "+name+" "+pent+" ", "<local/pent>", "<local/"+name+">").Replace(profile)
		file := "/etc/apparmor.d/" + name
		commands := "sudo tee " + file + " >/dev/null <<'EOF'\n" + want + "EOF\nsudo apparmor_parser -r " + file + "\n"
		_, tail, ok := strings.Cut(res.stdout, "pent: this machine lacks something pent needs; pent doctor says what and how to fix it:\n")
		if !ok || !strings.Contains(tail, "FAIL  unprivileged user namespaces") || !strings.Contains(tail, "kernel.apparmor_restrict_unprivileged_userns=1") ||
			!strings.Contains(tail, "none covers "+pent) || !strings.Contains(tail, commands) {
			t.Fatalf("install.sh on a restricted host did not end with doctor's AppArmor fix, want the commands\n%s\nin:\n%s", commands, res)
		}

		// The first command as printed, into the fake profile directory.
		install := strings.Replace(strings.TrimPrefix(commands[:strings.Index(commands, "\nsudo apparmor_parser")], "sudo "),
			file, filepath.Join(fake, "apparmor.d", name), 1)
		r.exec(r.home, "sh", "-c", install).wantCode(t, 0)
		doctor := r.onRestrictedHost(runTimeout, fake, r.home, pent, "doctor")
		doctor.wantCode(t, 1) // the namespaces still fail
		if !strings.Contains(doctor.stdout, "profile for "+pent+" with userns: "+file) || strings.Contains(doctor.stdout, "sudo tee") ||
			!strings.Contains(doctor.stdout, "sudo apparmor_parser -r "+file+"\n") {
			t.Errorf("after the printed install command, doctor does not find the profile %s and say to load it:\n%s", file, doctor)
		}
	})
}

// restrictedAppArmorHost writes the parts of a restricted Ubuntu 24.04
// host that pent doctor reads, for onRestrictedHost to mount over the real
// ones: kernel/ and user/ for /proc/sys (apparmor_restrict_unprivileged_userns=1,
// max_user_namespaces at Ubuntu's default), apparmor.d/ for /etc/apparmor.d
// (profiles for other programs only). It returns their directory.
func (r *runner) restrictedAppArmorHost() string {
	fake := filepath.Join(r.base, "restricted-host")
	r.writeFile(filepath.Join(fake, "kernel", "apparmor_restrict_unprivileged_userns"), "1\n", 0o644)
	r.writeFile(filepath.Join(fake, "user", "max_user_namespaces"), "63172\n", 0o644)
	r.writeFile(filepath.Join(fake, "apparmor.d", "bwrap"), "abi <abi/4.0>,\ninclude <tunables/global>\n\nprofile bwrap /usr/bin/bwrap flags=(unconfined) {\n  userns,\n}\n", 0o644)
	return fake
}

// restrictedHostScript runs its arguments after $1 as on the restricted
// host in $1: in a user and mount namespace of their own, where creating
// another user namespace fails (max_user_namespaces 0, so pent's namespace
// probe fails as it does under the AppArmor restriction) and the fake
// sysctls and profile directory are mounted over the real ones.
const restrictedHostScript = `set -e
fake=$1; shift
echo 0 >/proc/sys/user/max_user_namespaces
mount --bind "$fake/kernel" /proc/sys/kernel
mount --bind "$fake/user" /proc/sys/user
mount --bind "$fake/apparmor.d" /etc/apparmor.d
exec "$@"`

// onRestrictedHost runs name args in dir as r's account, within d, on the
// restricted host fake (see restrictedAppArmorHost). The account is root in
// the user namespace that holds the fake mounts.
func (r *runner) onRestrictedHost(d time.Duration, fake, dir, name string, args ...string) result {
	r.t.Helper()
	return r.execWithin(d, dir, "unshare", append([]string{"--user", "--map-root-user", "--mount", "sh", "-c", restrictedHostScript, "sh", fake, name}, args...)...)
}

// checkFishSnippet starts an interactive fish that reads the prefix's
// vendor directories: the snippet must install the hook when pent is on
// PATH and do nothing when it is not.
func checkFishSnippet(t *testing.T, r *runner, prefix string) {
	needTool(t, "fish", "fish")
	r.quietFish()
	script := `functions -q _pent_hook; and echo HOOKED; or echo NOHOOK`
	// Without pent on PATH the snippet must do nothing. That PATH is an
	// empty directory, not cleanPath: a pent installed on this machine
	// (/usr/local/bin after the README's first command as root) would be
	// found there and hook fish.
	noPent := filepath.Join(r.home, "path-without-pent")
	r.mkdir(noPent, 0o755)
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(prefix, "bin") + ":" + cleanPath, "HOOKED"},
		{noPent, "NOHOOK"},
	} {
		saved := r.extraEnv
		r.extraEnv = append(append([]string{}, saved...), "XDG_DATA_DIRS="+filepath.Join(prefix, "share"), "PATH="+tt.path)
		res := r.exec(r.home, "fish", "-i", "-c", script)
		r.extraEnv = saved
		if !hasExactLine(res.stdout, tt.want) {
			t.Errorf("fish with PATH=%s: want %s:\n%s", tt.path, tt.want, res)
		}
	}
}

// checkBashHook puts the hook line install.sh printed into ~/.bashrc, trusts
// a project that wraps cat, and types commands into an interactive bash: cat
// must become a function once bash shows a prompt in the project, and run
// sandboxed (the project readable, ~/.ssh not). `bash -ic CMD` shows no
// prompt, so PROMPT_COMMAND hooks never run there; the commands come on
// stdin instead, as a user types them. It returns the .bashrc it wrote.
func checkBashHook(t *testing.T, r *runner, pent, hookLine string) string {
	project := filepath.Join(r.home, "src", "wrapped")
	r.writeFile(filepath.Join(project, ".pent.toml"), "wrap = [\"cat\"]\n", 0o644)
	r.writeFile(filepath.Join(project, "NOTE"), "wrapped-cat-works\n", 0o644)
	r.exec(project, pent, "allow", "--yes").wantCode(t, 0)
	bashrc := "PS1='" + shellPrompt + " '\n" + hookLine + "\n"
	r.writeFile(filepath.Join(r.home, ".bashrc"), bashrc, 0o644)

	script := "type -t cat\ncd " + posixQuote(project) + "\ntype -t cat\ncat NOTE\ncat ~/.ssh/id_ed25519 || echo DENIED\n"
	res := timed(t, "bash -i with the hook", func() result {
		ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
		defer cancel()
		cmd := r.command(ctx, r.home, "bash", "--noprofile", "-i")
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.Output()
		res := result{args: cmd.Args, stdout: string(out)}
		if exitErr, ok := err.(*exec.ExitError); ok {
			res.code, res.stderr = exitErr.ExitCode(), string(exitErr.Stderr)
		} else if err != nil {
			t.Fatalf("bash -i: %v", err)
		}
		t.Logf("%s: %s", r.mode, res)
		return res
	})
	lines := strings.Fields(res.stdout)
	if strings.Join(lines, " ") != "file function wrapped-cat-works DENIED" {
		t.Errorf("want cat to be a file outside the project, a function inside it that reads the project but not ~/.ssh:\n%s", res)
	}
	r.assertNoSecret(res)
	return bashrc
}

// checkDeb builds the .deb from tree, inspects it, installs it with dpkg,
// uses it and purges it.
func checkDeb(t *testing.T, r *runner, tree string) {
	needTool(t, "dpkg-deb", "dpkg")
	out := filepath.Join(r.base, "dist")
	res := timed(t, "build-deb", func() result {
		return r.execWithin(buildTimeout, tree, filepath.Join(tree, "packaging", "build-deb"), "-o", out)
	})
	res.wantCode(t, 0)
	deb := strings.TrimSpace(res.stdout)
	if t.Failed() || !strings.HasSuffix(deb, ".deb") {
		t.Fatalf("build-deb did not print a .deb path:\n%s", res)
	}
	debVersion := strings.TrimSpace(mustOutput(t, tree, filepath.Join(tree, "packaging", "version"), "--deb"))
	info := r.exec(out, "dpkg-deb", "-I", deb, "control").stdout
	for _, want := range []string{"Package: pent\n", "Version: " + debVersion + "\n", "Architecture: "} {
		if !strings.Contains(info, want) {
			t.Errorf("control file lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, "Depends:") {
		t.Errorf("the static binary needs no Depends:\n%s", info)
	}
	contents := r.exec(out, "dpkg-deb", "-c", deb).stdout
	for _, want := range []string{"./usr/bin/pent\n", "./usr/share/man/man1/pent.1.gz\n", "./usr/share/man/man1/pent-run.1.gz\n",
		"./usr/share/bash-completion/completions/pent\n", "./usr/share/zsh/vendor-completions/_pent\n",
		"./usr/share/fish/vendor_completions.d/pent.fish\n", "./usr/share/fish/vendor_conf.d/pent.fish\n", "./etc/apparmor.d/pent\n"} {
		if !strings.Contains(contents, want) {
			t.Errorf("package lacks %s", strings.TrimSpace(want))
		}
	}
	if t.Failed() {
		return
	}

	if exec.Command("dpkg", "-s", "pent").Run() == nil {
		t.Skip("a pent package is already installed on this machine; not replacing it")
	}
	t.Cleanup(func() {
		if exec.Command("dpkg", "-s", "pent").Run() == nil {
			if out, err := exec.Command("dpkg", "-P", "pent").CombinedOutput(); err != nil {
				t.Errorf("dpkg -P pent: %v\n%s", err, out)
			}
		}
	})
	timed(t, "dpkg -i", func() result { return r.exec(out, "dpkg", "-i", deb) }).wantCode(t, 0)
	if got := r.exec(out, "/usr/bin/pent", "version").stdout; !strings.HasPrefix(got, "pent ") {
		t.Errorf("/usr/bin/pent version = %q", got)
	}
	r.exec(out, "/usr/bin/pent", "doctor").wantCode(t, 0)
	t.Run("man", func(t *testing.T) {
		needTool(t, "man", "man-db")
		// Only the package's manual tree: a pent installed by install.sh in
		// /usr/local comes first on man's default path.
		if got := strings.TrimSpace(r.exec(out, "man", "-M", "/usr/share/man", "-w", "pent").stdout); got != "/usr/share/man/man1/pent.1.gz" {
			t.Errorf("man -M /usr/share/man -w pent = %q, want /usr/share/man/man1/pent.1.gz", got)
		}
	})
	res = r.exec(out, "bash", "-c", "source /usr/share/bash-completion/completions/pent && complete -p pent")
	if !strings.Contains(res.stdout, "__start_pent") {
		t.Errorf("the packaged bash completion does not register for pent:\n%s", res)
	}
	timed(t, "dpkg -P", func() result { return r.exec(out, "dpkg", "-P", "pent") }).wantCode(t, 0)
	for _, gone := range []string{"/usr/bin/pent", "/usr/share/man/man1/pent.1.gz", "/etc/apparmor.d/pent"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is still there after dpkg -P pent", gone)
		}
	}
}

// needTool skips t when command is not installed.
func needTool(t *testing.T, command, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(command); err != nil {
		unavailable(t, "%s is not installed (CI installs it: apt-get install %s): %v", command, pkg, err)
	}
}

// timed runs step, logs how long it took and returns its result.
func timed(t *testing.T, name string, step func() result) result {
	t.Helper()
	start := time.Now()
	res := step()
	t.Logf("step %q took %v", name, time.Since(start).Round(time.Millisecond))
	return res
}

// printedHookLine is the indented line install.sh printed after "add this
// line to RC:".
func printedHookLine(t *testing.T, stdout, rc string) string {
	t.Helper()
	_, rest, ok := strings.Cut(stdout, "add this line to "+rc+":\n")
	if !ok {
		t.Fatalf("install.sh printed no hook line for %s:\n%s", rc, stdout)
	}
	line, _, _ := strings.Cut(rest, "\n")
	return strings.TrimSpace(line)
}

// wantFile fails unless path is a regular file containing text.
func wantFile(t *testing.T, path, text string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("not installed: %v", err)
		return
	}
	if !strings.Contains(string(b), text) {
		t.Errorf("%s does not contain %q", path, text)
	}
}

// snapshot describes every entry below dir: path, type, mode, owner and a
// hash of the content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			content, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h := sha256.Sum256(content)
			sum = hex.EncodeToString(h[:8])
		}
		fmt.Fprintf(&b, "%s %v uid=%d %s\n", strings.TrimPrefix(path, dir), fi.Mode(), fileUID(fi), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// regularFiles lists the non-directories below dir.
func regularFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// hostGoEnv is the test process's Go cache locations.
func hostGoEnv(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !filepath.IsAbs(lines[0]) || !filepath.IsAbs(lines[1]) {
		t.Fatalf("go env GOCACHE GOMODCACHE printed %q", out)
	}
	return map[string]string{"GOCACHE": lines[0], "GOMODCACHE": lines[1]}
}

// copyWorkingTree copies the repository this test runs in, as it is on disk
// (uncommitted changes included, with its .git so that packaging/version
// works), to a fresh directory owned by the unprivileged account: a user's
// own clone, which root then installs from like `sudo ./install.sh`.
func copyWorkingTree(t *testing.T) string {
	t.Helper()
	src := filepath.Dir(strings.TrimSpace(mustOutput(t, ".", "go", "env", "GOMOD")))
	dst, err := os.MkdirTemp(scratch, "tree-")
	if err != nil {
		t.Fatal(err)
	}
	// 0755 as a clone usually is: root in a user namespace (which has no
	// rights over the owner's files) reads it too.
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dst) })
	owner := &account{uid: os.Geteuid(), gid: os.Getegid()}
	if a, _ := rootlessAccount(); a != nil {
		owner = a
	}
	start := time.Now()
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "dist" || rel == "pent" { // build outputs (.gitignore)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(path, target, fi.Mode().Perm()|0o444); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		default:
			return nil
		}
		if os.Geteuid() == 0 {
			return os.Lchown(target, owner.uid, owner.gid)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copying the working tree: %v", err)
	}
	t.Logf("step \"copy the working tree\" took %v", time.Since(start).Round(time.Millisecond))
	return dst
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// moduleMirror copies the module download cache into a GOPROXY=file://
// directory every test user can read, so that a user with an empty HOME
// builds pent without the network.
func moduleMirror(t *testing.T, gomodcache string) string {
	t.Helper()
	src := filepath.Join(gomodcache, "cache", "download")
	dst := filepath.Join(scratch, "goproxy")
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		switch {
		case d.IsDir() && rel == "sumdb":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case strings.HasSuffix(rel, ".lock") || !d.Type().IsRegular():
			return nil
		}
		return copyFile(path, filepath.Join(dst, rel), 0o644)
	})
	if err != nil {
		t.Fatalf("copying the module cache to a file proxy: %v", err)
	}
	return dst
}

// rootlessGoCache is a Go build cache only a owns, kept in /var/tmp between
// runs so that its builds are incremental. A directory there that a does
// not own with mode 0700 is not used: another user could have planted
// compiled code in it.
func rootlessGoCache(t *testing.T, a *account) string {
	t.Helper()
	dir := fmt.Sprintf("/var/tmp/pent-e2e-gocache-%d", a.uid)
	if err := os.Mkdir(dir, 0o700); err == nil {
		if err := os.Chown(dir, a.uid, a.gid); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fileUID(fi) != a.uid || fi.Mode().Perm() != 0o700 {
		t.Logf("not reusing %s (%v); building with an empty cache", dir, err)
		dir = filepath.Join(scratch, fmt.Sprintf("gocache-%d", a.uid))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, a.uid, a.gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustOutput runs name args in dir as the test process and returns stdout.
func mustOutput(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return string(out)
}
