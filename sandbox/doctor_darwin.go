//go:build darwin

package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/pent-sandbox/pent/scope"
	"github.com/pent-sandbox/pent/seatbelt"
)

// probeAllow is a profile that allows everything: applying it shows that
// sandbox-exec works and that this process is not sandboxed yet.
const probeAllow = "(version 1)(allow default)"

// probeDeny allows everything but reading /etc/hosts: cat failing on it shows
// that Seatbelt enforces a profile's denials.
const probeDeny = `(version 1)(allow default)(deny file-read-data (literal "/private/etc/hosts"))`

// refusedBySandbox is how sandbox-exec and the probes report a denial.
const refusedBySandbox = "Operation not permitted"

// Nested reports whether this process runs inside a pent sandbox. The
// marker pent puts in the command's environment only says where to look; the
// answer comes from the process's own state: a process already under a
// Seatbelt profile cannot apply another one, so sandbox-exec fails with
// EPERM. Without the marker the answer is false: should the process be
// sandboxed anyway, building the new sandbox fails and nothing runs. With the
// marker but no sandbox, the answer is false and a sandbox is built.
func Nested() (bool, error) {
	if os.Getenv(nestedEnv) == "" {
		return false, nil
	}
	out, err := runProbe(probeAllow, "/usr/bin/true")
	switch {
	case err == nil:
		return false, nil
	case strings.Contains(out, refusedBySandbox):
		return true, nil
	default:
		return false, fmt.Errorf("checking for a surrounding sandbox with %s: %w: %s", seatbelt.SandboxExec, err, strings.TrimSpace(out))
	}
}

// HostChecks tries what pent needs on macOS: sandbox-exec, applying a
// profile, Seatbelt enforcing a denial, and pent's own generated profiles
// loading on this macOS version in every network mode.
func HostChecks() []Check {
	exists := Check{Name: "sandbox-exec", Detail: seatbelt.SandboxExec, OK: true, Required: true}
	if err := sandboxExecPresent(); err != nil {
		exists.OK, exists.Detail = false, err.Error()
		exists.Fix = "sandbox-exec ships with every macOS in /usr/bin; restore it (reinstall macOS) — pent does not run without it"
		return []Check{exists}
	}
	return []Check{exists, applyCheck(), enforceCheck(), profilesCheck()}
}

func applyCheck() Check {
	c := Check{Name: "Seatbelt profiles apply", Required: true}
	out, err := runProbe(probeAllow, "/usr/bin/true")
	if err != nil {
		c.Detail = probeFailure(err, out)
		c.Fix = "run pent outside any other sandbox (a sandboxed process cannot apply a second profile)"
		return c
	}
	c.OK, c.Detail = true, "sandbox-exec applied a profile and ran /usr/bin/true"
	return c
}

func enforceCheck() Check {
	c := Check{Name: "Seatbelt enforces denials", Required: true}
	out, err := runProbe(probeDeny, "/bin/cat", "/etc/hosts")
	if err != nil && strings.Contains(out, refusedBySandbox) {
		c.OK, c.Detail = true, "a denied read of /etc/hosts failed with EPERM"
		return c
	}
	c.Detail = "a profile denying /etc/hosts did not stop cat from reading it: " + probeFailure(err, out)
	c.Fix = "Seatbelt is not enforcing on this Mac; pent's macOS sandbox would be a no-op, so pent run refuses to start"
	return c
}

// profilesCheck loads the profile pent generates for a minimal policy in
// each network mode: an operation or filter this macOS does not know makes
// the whole profile fail.
func profilesCheck() Check {
	c := Check{Name: "pent's Seatbelt profiles load", Required: true}
	for _, n := range scope.Networks {
		port := 0
		if n == scope.NetProxy {
			port = 9 // never connected to: the probe only loads the profile
		}
		p := Policy{Network: n, Execute: []string{"/usr", "/bin"}, Read: []string{"/etc"}}
		profile, err := seatbelt.SBPL(seatbeltProfile(p, "", port))
		if err == nil {
			var out string
			out, err = runProbe(profile, "/usr/bin/true")
			err = probeError(err, out)
		}
		if err != nil {
			c.Detail = fmt.Sprintf("the %s profile: %v", n, err)
			c.Fix = "this macOS rejects a rule pent generates; report it with `pent doctor` output and `sw_vers`"
			return c
		}
	}
	c.OK, c.Detail = true, "deny-by-default profiles for every network mode load and run /usr/bin/true"
	return c
}

// runProbe runs argv under profile with sandbox-exec, with an empty
// environment, and returns its combined output.
func runProbe(profile string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, seatbelt.SandboxExec, append([]string{"-p", profile, "--"}, argv...)...)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// probeError is err with the probe's output, or nil.
func probeError(err error, out string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
}

// probeFailure describes a probe's outcome in one line.
func probeFailure(err error, out string) string {
	if err == nil {
		return "it succeeded"
	}
	return probeError(err, out).Error()
}
