// Command pent runs processes in a lightweight sandbox built from native OS
// mechanisms, with network access limited to an allowlist of domain names.
//
// This package is wiring only: it reads the process environment, parses flags
// with cobra and calls the packages that do the work. Each command lives in a
// file of its own with an Options struct and a run function, so it can be
// tested without starting a process.
package main

import (
	"os"

	"github.com/pent-sandbox/pent/sandbox"
)

func main() {
	// The sandbox re-executes this binary as its init stage; that path never
	// returns here.
	sandbox.Main()
	os.Exit(Execute(NewFactory(os.Environ()), os.Args[1:]))
}
