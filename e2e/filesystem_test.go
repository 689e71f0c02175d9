//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun_SecretUnreadable: files in $HOME outside the project cannot be read,
// by name, through the project's "..", or by searching.
func TestRun_SecretUnreadable(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		// Control: the same reads work outside the sandbox, so a failure below
		// is the sandbox's doing.
		if res := r.host("cat", filepath.Join(r.home, ".ssh", "id_ed25519")); !strings.Contains(res.stdout, r.marker) {
			t.Fatalf("control: the fixture secret is not readable outside the sandbox:\n%s", res)
		}
		res := r.sandboxSh(probeLib + `
try ssh cat "$HOME/.ssh/id_ed25519"
try aws cat "$HOME/.aws/credentials"
try dotdot cat ../../.ssh/id_ed25519
try grep grep -r PENT-E2E-SECRET "$HOME"
echo DONE`)
		res.wantCode(t, 0)
		got := probes(t, res, "ssh", "aws", "dotdot")
		for _, name := range []string{"ssh", "aws", "dotdot"} {
			if got[name].ok {
				t.Errorf("%s: reading the secret succeeded inside the sandbox", name)
			}
		}
		r.assertNoSecret(res)
		// Control: granted explicitly, the same read works under pent.
		granted := r.pent("run", "--read", filepath.Join(r.home, ".ssh"), "--", "cat", filepath.Join(r.home, ".ssh", "id_ed25519"))
		if !strings.Contains(granted.stdout, r.marker) {
			t.Errorf("control: --read ~/.ssh does not make the secret readable:\n%s", granted)
		}
		r.assertFile(filepath.Join(r.home, ".ssh", "id_ed25519"),
			"-----BEGIN OPENSSH PRIVATE KEY-----\n"+r.marker+"\n-----END OPENSSH PRIVATE KEY-----\n")
	})
}

// TestRun_SecretUnlisted: the secrets do not even show up in listings of
// $HOME or ~/.ssh.
func TestRun_SecretUnlisted(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		if res := r.host("ls", "-a", r.home); !hasExactLine(res.stdout, ".ssh") {
			t.Fatalf("control: ~/.ssh is not listed outside the sandbox:\n%s", res)
		}
		res := r.sandboxSh(`echo "== ssh"; ls -a "$HOME/.ssh" 2>&1; echo "== home"; ls -a "$HOME" 2>&1; echo "== end"`)
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, "== end") {
			t.Fatalf("the listing script did not run to the end:\n%s", res)
		}
		for _, name := range []string{"id_ed25519", ".ssh", ".aws"} {
			for _, line := range strings.Fields(res.stdout) {
				if line == name {
					t.Errorf("%s is listed inside the sandbox", name)
				}
			}
		}
		r.assertNoSecret(res)
	})
}

// TestRun_ProjectWritable: the project can be written, renamed and deleted in,
// and what stays reaches the host, owned by the user.
func TestRun_ProjectWritable(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.allow()
		res := r.sandboxSh(`set -e
echo one > a.txt
mv a.txt b.txt
rm b.txt
mkdir -p sub/dir
echo keep > sub/dir/keep.txt
echo edited >> README
echo WROTE`)
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, "WROTE") {
			t.Fatalf("writing the project failed:\n%s", res)
		}
		keep := filepath.Join(r.project, "sub", "dir", "keep.txt")
		r.assertFile(keep, "keep\n")
		r.assertFile(filepath.Join(r.project, "README"), "fixture\nedited\n")
		r.assertAbsent(filepath.Join(r.project, "a.txt"))
		r.assertAbsent(filepath.Join(r.project, "b.txt"))
		if fi, err := os.Stat(keep); err == nil {
			if uid := fileUID(fi); uid != r.acct.uid {
				t.Errorf("%s is owned by uid %d on the host, want the user's %d", keep, uid, r.acct.uid)
			}
		}
	})
}

// TestRun_WriteOutsideFails: writes outside the project fail with a
// permission-style error and leave nothing on the host. The private scratch
// directories (/tmp, /var/tmp) are writable inside, but nothing written there
// reaches the host.
func TestRun_WriteOutsideFails(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.allow()
		name := fmt.Sprintf("pent-e2e-%d-%s", os.Getpid(), r.mode)
		denied := map[string]string{
			"home":    filepath.Join(r.home, name),
			"homessh": filepath.Join(r.home, ".ssh", name),
			"parent":  filepath.Join(filepath.Dir(r.project), name),
			"etc":     filepath.Join("/etc", name),
			"usr":     filepath.Join("/usr", name),
			"var":     filepath.Join("/var", name),
			"root":    filepath.Join("/", name),
			"base":    filepath.Join(r.base, name),
		}
		private := map[string]string{
			"tmp":    filepath.Join("/tmp", name),
			"vartmp": filepath.Join("/var/tmp", name),
		}
		if inPrivateScratch(r.base) {
			t.Logf("the fixtures are in a private scratch directory (%s): writes beside HOME only need to stay off the host", r.base)
			private["base"] = denied["base"]
			delete(denied, "base")
		}
		var script strings.Builder
		script.WriteString(probeLib)
		var deniedNames, privateNames []string
		for probeName, path := range denied {
			fmt.Fprintf(&script, "try %s sh -c 'echo x > %s'\n", probeName, path)
			fmt.Fprintf(&script, "try %s_mkdir mkdir %s.d\n", probeName, path)
			deniedNames = append(deniedNames, probeName, probeName+"_mkdir")
		}
		for probeName, path := range private {
			fmt.Fprintf(&script, "try %s sh -c 'echo x > %s && mkdir %s.d'\n", probeName, path, path)
			privateNames = append(privateNames, probeName)
		}
		res := r.sandboxSh(script.String())
		res.wantCode(t, 0)
		got := probes(t, res, append(deniedNames, privateNames...)...)
		for _, n := range deniedNames {
			p := got[n]
			if p.ok {
				t.Errorf("%s: writing outside the project succeeded", n)
			} else if !deniedStyle.MatchString(p.msg) {
				t.Errorf("%s: want EACCES/EROFS/ENOENT/EPERM, got %q", n, p.msg)
			}
		}
		for _, n := range privateNames {
			if !got[n].ok {
				t.Logf("%s: writing a private scratch directory failed: %s", n, got[n].msg)
			}
		}
		if !got["tmp"].ok {
			t.Errorf("writing the private /tmp failed: %s", got["tmp"].msg)
		}
		for _, targets := range []map[string]string{denied, private} {
			for _, path := range targets {
				r.assertAbsent(path)
				r.assertAbsent(path + ".d")
			}
		}
	})
}

// TestRun_ProtectedProjectFiles: .pent.toml, .git/hooks and .git/config stay
// read-only inside a writable project, including against renaming .git away
// and planting a new hooks directory — whether or not the project file is
// trusted (an untrusted one leaves the working directory writable).
func TestRun_ProtectedProjectFiles(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		files := map[string]string{
			"toml":   ".pent.toml",
			"hook":   ".git/hooks/pre-commit",
			"config": ".git/config",
		}
		var script strings.Builder
		script.WriteString(probeLib)
		var names []string
		for n, f := range files {
			fmt.Fprintf(&script, "try %s_append sh -c 'echo evil >> %s'\n", n, f)
			fmt.Fprintf(&script, "try %s_truncate sh -c ': > %s'\n", n, f)
			fmt.Fprintf(&script, "try %s_rm rm -f %s\n", n, f)
			fmt.Fprintf(&script, "try %s_mv mv %s %s.moved\n", n, f, f)
			fmt.Fprintf(&script, "try %s_replace sh -c 'echo evil > %s.new && mv -f %s.new %s'\n", n, f, f, f)
			names = append(names, n+"_append", n+"_truncate", n+"_rm", n+"_mv", n+"_replace")
		}
		script.WriteString(`try newhook sh -c 'echo evil > .git/hooks/post-checkout'
try hooksdir sh -c 'mv .git/hooks .git/hooks2 && mkdir .git/hooks && echo evil > .git/hooks/pre-commit'
try gitdir sh -c 'mv .git .git2 && mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit && cp .git2/config .git/config'
`)
		names = append(names, "newhook", "hooksdir", "gitdir")
		for _, trusted := range []bool{false, true} {
			if trusted {
				r.allow()
			}
			res := r.sandboxSh(script.String())
			res.wantCode(t, 0)
			got := probes(t, res, names...)
			for _, n := range names {
				if got[n].ok {
					t.Errorf("%s (project file trusted: %v): modifying a protected project path succeeded", n, trusted)
				}
			}
		}
		r.assertFile(filepath.Join(r.project, ".pent.toml"), projectConfig)
		r.assertFile(filepath.Join(r.project, ".git", "hooks", "pre-commit"), preCommitHook)
		r.assertFile(filepath.Join(r.project, ".git", "config"), gitConfig)
		for _, f := range files {
			r.assertAbsent(filepath.Join(r.project, f+".moved"))
		}
		for _, p := range []string{".git/hooks/post-checkout", ".git/hooks2", ".git2"} {
			r.assertAbsent(filepath.Join(r.project, p))
		}
	})
}

// TestRun_HostTmpAndRuntimeDirHidden: the host's /tmp and $XDG_RUNTIME_DIR
// (where agent and bus sockets live) are not visible inside.
func TestRun_HostTmpAndRuntimeDirHidden(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		hostTmp := filepath.Join("/tmp", fmt.Sprintf("pent-e2e-host-%d-%s", os.Getpid(), r.mode))
		r.writeFileAnywhere(hostTmp, r.marker+"\n")
		agent := filepath.Join(r.runtime, "agent-secret")
		r.writeFile(agent, r.marker+"\n", 0o600)
		res := r.sandboxSh(probeLib + fmt.Sprintf(`
try tmp cat %s
try runtime cat %s
echo "== listing"; ls -a /tmp %s 2>&1; echo "== end"
`, hostTmp, agent, r.runtime))
		res.wantCode(t, 0)
		got := probes(t, res, "tmp", "runtime")
		for name, p := range got {
			if p.ok {
				t.Errorf("%s: a host file was readable inside the sandbox", name)
			}
		}
		for _, f := range strings.Fields(res.stdout) {
			if f == filepath.Base(hostTmp) || f == filepath.Base(agent) {
				t.Errorf("%s is listed inside the sandbox", f)
			}
		}
		r.assertNoSecret(res)
	})
}

// TestRun_HomeCwdNotGrantedWholesale: run from $HOME with no project, the
// working directory stays read-only (with a warning) unless --write . says
// otherwise, and the secrets stay hidden either way.
func TestRun_HomeCwdNotGrantedWholesale(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		target := filepath.Join(r.home, "written-from-home")
		res := r.pentIn(r.home, "run", "--", "sh", "-c", "echo x > "+target)
		if res.code == 0 {
			t.Errorf("writing $HOME from a sandbox started in $HOME succeeded:\n%s", res)
		}
		if !strings.Contains(res.stderr, "--write .") {
			t.Errorf("want a warning suggesting --write .:\n%s", res)
		}
		r.assertAbsent(target)

		res = r.pentIn(r.home, "run", "--write", ".", "--", "sh", "-c", "echo x > "+target)
		res.wantCode(t, 0)
		r.assertFile(target, "x\n")
	})
}
