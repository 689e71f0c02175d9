//go:build !linux && !darwin

package sandbox

import (
	"errors"
	"runtime"
)

// errNotImplemented is what every sandbox entry point returns on an OS
// without a backend (pent has one for Linux and one for macOS).
var errNotImplemented = errors.New("the sandbox is not implemented on " + runtime.GOOS + ": pent cannot run commands here")

// Launch is not implemented on this OS: it always fails, and never runs the
// command unsandboxed.
func Launch(p Policy, stdio Stdio, opts LaunchOptions) (Status, error) {
	return Status{}, errNotImplemented
}

// Main returns immediately: there is no re-executed stage on this OS.
func Main() {}

// LandlockABI is 0: Landlock is Linux-only.
func LandlockABI() int { return 0 }

// Nested is false: no sandbox exists on this OS.
func Nested() (bool, error) { return false, nil }

// HostChecks reports that the sandbox is missing on this OS.
func HostChecks() []Check {
	return []Check{{Name: "sandbox", Detail: errNotImplemented.Error(), Fix: "run pent on Linux or macOS", Required: true}}
}
