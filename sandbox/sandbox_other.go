//go:build !linux

package sandbox

import (
	"errors"
	"runtime"
)

// errNotImplemented is what every sandbox entry point returns off Linux.
var errNotImplemented = notImplemented(runtime.GOOS)

func notImplemented(goos string) error {
	if goos == "darwin" {
		return errors.New("the sandbox is not implemented on macOS yet: pent cannot run commands here")
	}
	return errors.New("the sandbox is not implemented on " + goos + ": pent cannot run commands here")
}

// Launch is not implemented on this OS yet: it always fails, and never runs
// the command unsandboxed.
func Launch(p Policy, stdio Stdio) (Status, error) { return Status{}, errNotImplemented }

// Main returns immediately: there is no re-executed stage on this OS.
func Main() {}

// LandlockABI is 0: Landlock is Linux-only.
func LandlockABI() int { return 0 }

// Nested is false: no sandbox exists on this OS yet.
func Nested() (bool, error) { return false, nil }

// HostChecks reports that the sandbox is missing on this OS.
func HostChecks() []Check {
	return []Check{{Name: "sandbox", Detail: errNotImplemented.Error(), Fix: "run pent on Linux", Required: true}}
}
