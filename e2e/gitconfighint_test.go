//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// gitConfigHint is the start of the line pent prints when a command tried
// to replace a protected file it keeps read-only (git config writes
// .git/config through .git/config.lock and fails with "Device or resource
// busy").
const gitConfigHint = "pent: the sandboxed command tried to replace ~/src/app/.git/config"

// TestGuard_GitConfigSaysWhy: `git config` inside a project fails (pent
// keeps .git/config read-only), and pent says why at exit, naming the file
// and what to do; git work that does not touch the configuration gets no
// such line.
func TestGuard_GitConfigSaysWhy(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		hostGitInit(t, r)
		before := r.host("cat", ".git/config").stdout
		res := r.sandboxSh("git config user.name sandboxed; echo rc=$?")
		if !strings.Contains(res.stdout, "rc=") || strings.Contains(res.stdout, "rc=0") {
			t.Fatalf("git config inside succeeded or did not run:\n%s", res)
		}
		if !strings.Contains(res.stderr, "Device or resource busy") {
			t.Errorf("git's own error changed (update the README and the hint):\n%s", res)
		}
		if !strings.Contains(res.stderr, gitConfigHint+" (it created config.lock), which pent keeps read-only in the sandbox; make that change outside the sandbox, e.g. run `git config` there\n") {
			t.Errorf("pent did not say why git config failed:\n%s", res)
		}
		if after := r.host("cat", ".git/config").stdout; after != before {
			t.Errorf(".git/config changed on the host:\n%s", after)
		}
		clean := r.sandboxSh(gitIdentity + "echo x > a.txt; git add a.txt; git commit -qm x; git config user.name; git status --short")
		if strings.Contains(clean.stderr, "tried to replace") {
			t.Errorf("git work that does not write the configuration got the hint:\n%s", clean)
		}
	})
}
