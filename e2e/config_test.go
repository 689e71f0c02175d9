//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// childScript would print CHILD-RAN and create marker if the child started.
func childScript(marker string) string {
	return fmt.Sprintf("echo CHILD-RAN; touch %s", marker)
}

// assertConfigError checks that a run stopped on a config error: exit 1, a
// pent: message naming want (FILE:LINE), and no child started.
func assertConfigError(t *testing.T, r *runner, res result, want, marker string) {
	t.Helper()
	res.wantCode(t, 1)
	if !strings.Contains(res.stderr, want) {
		t.Errorf("want the error to name %q:\n%s", want, res)
	}
	if !strings.Contains(res.stderr, "pent:") {
		t.Errorf("want a pent: message on stderr:\n%s", res)
	}
	if strings.Contains(res.stdout, "CHILD-RAN") {
		t.Errorf("the child started despite the config error:\n%s", res)
	}
	r.assertAbsent(marker)
}

// plantTrust records trust in the project file as it is now, the way §5.3
// defines the record: a file under $XDG_DATA_HOME/pent/allow/ named by the
// sha256 of the length-prefixed format name, absolute path and content, and
// holding them as JSON. It lets a test trust a file that `pent allow` itself
// would refuse to parse.
func (r *runner) plantTrust(file string) {
	r.t.Helper()
	content, err := os.ReadFile(file)
	if err != nil {
		r.t.Fatal(err)
	}
	const format = "pent-allow-v2"
	var key []byte
	for _, field := range [][]byte{[]byte(format), []byte(file), content} {
		key = binary.BigEndian.AppendUint64(key, uint64(len(field)))
		key = append(key, field...)
	}
	sum := sha256.Sum256(key)
	record, err := json.Marshal(map[string]any{"format": format, "path": []byte(file), "content": content})
	if err != nil {
		r.t.Fatal(err)
	}
	dir := filepath.Join(r.home, ".local", "share", "pent", "allow")
	r.mkdir(dir, 0o700)
	r.writeFile(filepath.Join(dir, hex.EncodeToString(sum[:])), string(record), 0o600)
}

// brokenTOML has a syntax error on line 3.
const brokenTOML = "# broken on purpose\n[sandbox]\nnetwork = blocked\n"

// TestRun_MalformedProjectConfig: a trusted but malformed .pent.toml is
// reported with FILE:LINE and nothing starts; `pent allow` refuses it too.
func TestRun_MalformedProjectConfig(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		file := filepath.Join(r.project, ".pent.toml")
		r.writeFile(file, brokenTOML, 0o644)
		marker := filepath.Join(r.project, "child-ran")

		allow := r.pent("allow")
		if allow.code == 0 {
			t.Errorf("pent allow accepted a malformed file:\n%s", allow)
		}
		if !strings.Contains(allow.stderr, ".pent.toml:3") {
			t.Errorf("pent allow: want the error to name .pent.toml:3:\n%s", allow)
		}

		r.plantTrust(file)
		res := r.sandboxSh(childScript(marker))
		assertConfigError(t, r, res, ".pent.toml:3", marker)
	})
}

// TestRun_MalformedGlobalConfig: a malformed global file is reported with
// FILE:LINE and nothing starts, with or without a project.
func TestRun_MalformedGlobalConfig(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.writeFile(r.globalConfig(), brokenTOML, 0o644)
		marker := filepath.Join(r.project, "child-ran")
		res := r.sandboxSh(childScript(marker))
		assertConfigError(t, r, res, "pent.toml:3", marker)

		// Outside any project too (the seed ignored the global file there).
		plain := filepath.Join(r.base, "plain")
		r.mkdir(plain, 0o755)
		marker = filepath.Join(plain, "child-ran")
		res = r.pentIn(plain, "run", "--", "sh", "-c", childScript(marker))
		assertConfigError(t, r, res, "pent.toml:3", marker)
	})
}

// TestRun_UnknownKeySuggestion: an unknown key or profile is an error that
// names FILE:LINE and suggests the closest valid one.
func TestRun_UnknownKeySuggestion(t *testing.T) {
	cases := []struct {
		name, toml, where, suggestion string
	}{
		{"key", "[sandbox]\nnetwrok = \"blocked\"\n", "pent.toml:2", "network"},
		{"profile", "# profiles\nprofiles = [\"@nmp\"]\n", "pent.toml:2", "@npm"},
	}
	bothModes(t, func(t *testing.T, r *runner) {
		for _, c := range cases {
			r.writeFile(r.globalConfig(), c.toml, 0o644)
			marker := filepath.Join(r.project, "child-ran-"+c.name)
			res := r.sandboxSh(childScript(marker))
			assertConfigError(t, r, res, c.where, marker)
			if !strings.Contains(res.stderr, c.suggestion) {
				t.Errorf("unknown %s: want a suggestion of %q:\n%s", c.name, c.suggestion, res)
			}
		}
	})
}

// grantingProject grants read access to ~/.aws, so whether it applies is
// visible from inside.
const grantingProject = "[sandbox.paths]\nread = [\"~/.aws\"]\n"

// TestRun_UntrustedProjectIgnored: an untrusted project file is ignored with
// one warning naming `pent allow`; after `pent allow` its grants apply, and
// after `pent deny` they do not.
func TestRun_UntrustedProjectIgnored(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.writeFile(filepath.Join(r.project, ".pent.toml"), grantingProject, 0o644)
		readAWS := `cat "$HOME/.aws/credentials"`

		res := r.sandboxSh(readAWS)
		r.assertNoSecret(res)
		if res.code == 0 {
			t.Errorf("the untrusted project's grant applied:\n%s", res)
		}
		warnings := 0
		for _, line := range strings.Split(res.stderr, "\n") {
			if strings.HasPrefix(line, "pent:") && strings.Contains(line, "pent allow") {
				warnings++
			}
		}
		if warnings != 1 {
			t.Errorf("want exactly one pent: line naming `pent allow`, got %d:\n%s", warnings, res)
		}

		allow := r.allow()
		if !strings.Contains(allow.stdout+allow.stderr, ".aws") {
			t.Errorf("pent allow does not show the grant of ~/.aws:\n%s", allow)
		}
		res = r.sandboxSh(readAWS)
		res.wantCode(t, 0)
		if !strings.Contains(res.stdout, r.marker) {
			t.Errorf("the allowed project's grant did not apply:\n%s", res)
		}
		if strings.Contains(res.stderr, "pent allow") {
			t.Errorf("a trusted project still warns:\n%s", res)
		}

		r.pent("deny").wantCode(t, 0)
		res = r.sandboxSh(readAWS)
		r.assertNoSecret(res)
		if res.code == 0 {
			t.Errorf("the denied project's grant applied:\n%s", res)
		}
	})
}

// overlayProbe mounts an overlay in a fresh user and mount namespace with
// util-linux unshare: the ground truth for doctor's overlay check.
const overlayProbe = `mount -t tmpfs t /mnt && cd /mnt && mkdir l u w m &&
mount -t overlay o -o lowerdir=/mnt/l,upperdir=/mnt/u,workdir=/mnt/w,userxattr /mnt/m && echo OVERLAY-OK`

// TestDoctor: `pent doctor` (and its alias `check`) exits 0 on this host,
// names each check, and does not call overlayfs broken where it works.
func TestDoctor(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		overlayWorks := strings.Contains(r.host("unshare", "-Urm", "sh", "-c", overlayProbe).stdout, "OVERLAY-OK")
		for _, cmd := range []string{"doctor", "check"} {
			res := r.pent(cmd)
			res.wantCode(t, 0)
			out := strings.ToLower(res.stdout + res.stderr)
			for _, check := range []string{"landlock", "user namespace", "overlay", "seccomp"} {
				if !strings.Contains(out, check) {
					t.Errorf("pent %s does not report the %s check:\n%s", cmd, check, res)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				line = strings.TrimSpace(line)
				isStatus := strings.Contains(line, "overlay") && !strings.HasPrefix(line, "fix:")
				if overlayWorks && isStatus && !strings.HasPrefix(line, "ok") {
					t.Errorf("pent %s reports overlayfs as not working, but `unshare -Urm` mounts one as this user: %q", cmd, line)
				}
			}
		}
	})
}

// TestUsageErrors: a mistake in how pent is invoked exits 2 with a pent:
// message and starts nothing.
func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"run"},
		{"run", "--network", "bogus", "--", "true"},
		{"run", "--no-such-flag", "--", "true"},
		{"--no-such-flag"},
		{"no-such-command"},
		{"allow", "a", "b"},
	}
	bothModes(t, func(t *testing.T, r *runner) {
		for _, args := range cases {
			res := r.pent(args...)
			res.wantCode(t, 2)
			if !strings.HasPrefix(res.stderr, "pent:") {
				t.Errorf("%q: want a pent: message on stderr:\n%s", args, res)
			}
		}
	})
}

// TestRun_Nested: pent run inside pent run runs the command in the outer
// sandbox and never widens it, whatever the inner flags say.
func TestRun_Nested(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		h := listenHost(t)
		r.pent("run", "--", pentBin, "run", "--", "sh", "-c", "echo inner-ok; exit 5").wantCode(t, 5)

		outside := filepath.Join(r.home, "nested-escape")
		etc := filepath.Join("/etc", fmt.Sprintf("pent-e2e-nested-%d", os.Getpid()))
		script := probeLib + fmt.Sprintf(`
try home sh -c 'echo x > %s'
try etc sh -c 'echo x > %s'
try secret cat "$HOME/.ssh/id_ed25519"
python3 -c '%s'
`, outside, etc, strings.ReplaceAll(connectScript(h.port), "'", `'"'"'`))
		res := r.pent("run", "--", pentBin, "run",
			"--write", "/", "--write", r.home, "--read", r.home, "--network", "unrestricted",
			"--", "sh", "-c", script)
		res.wantCode(t, 0)
		got := probes(t, res, "home", "etc", "secret")
		for _, n := range []string{"home", "etc", "secret"} {
			if got[n].ok {
				t.Errorf("%s: the inner pent run widened the outer sandbox", n)
			}
		}
		if !strings.Contains(res.stdout, "REFUSED") || h.conns.Load() != 0 {
			t.Errorf("the inner --network unrestricted reached the host listener:\n%s", res)
		}
		r.assertNoSecret(res)
		r.assertAbsent(outside)
		r.assertAbsent(etc)
	})
}

// TestRun_EnvironmentFiltered: the sandbox gets a safe set of variables, plus
// what --env names; a secret in pent's environment does not pass.
func TestRun_EnvironmentFiltered(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		r.extraEnv = []string{"AWS_SECRET_ACCESS_KEY=" + r.marker, "E2E_PASS=passed-through", "LANG=C.UTF-8"}
		res := r.pent("run", "--", "env")
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		for _, want := range []string{"HOME=" + r.home, "LANG=C.UTF-8", "PATH=" + cleanPath} {
			if !hasExactLine(res.stdout, want) {
				t.Errorf("want %s passed through:\n%s", want, res)
			}
		}
		if strings.Contains(res.stdout, "E2E_PASS") {
			t.Errorf("an unlisted variable passed through:\n%s", res)
		}

		res = r.pent("run", "--env", "E2E_PASS", "--env", "E2E_SET=value", "--", "env")
		res.wantCode(t, 0)
		r.assertNoSecret(res)
		for _, want := range []string{"E2E_PASS=passed-through", "E2E_SET=value"} {
			if !hasExactLine(res.stdout, want) {
				t.Errorf("want %s from --env:\n%s", want, res)
			}
		}
	})
}
