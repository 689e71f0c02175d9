//go:build !linux

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// dieBy ends pent by sig where Go's own handler allows it (termination
// signals); it returns if sig did not kill.
func dieBy(sig syscall.Signal) {
	signal.Reset(sig)
	_ = syscall.Kill(os.Getpid(), sig)
}
