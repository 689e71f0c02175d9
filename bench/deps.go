package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// tool is a program the bench runs and the Debian package that provides it.
type tool struct{ bin, pkg string }

// tools are every program the bench needs besides Go.
var tools = []tool{
	{"bwrap", "bubblewrap"},
	{"firejail", "firejail"},
	{"direnv", "direnv"},
	{"hyperfine", "hyperfine"},
	{"bash", "bash"},
	{"zsh", "zsh"},
	{"fish", "fish"},
	{"strace", "strace"},
	{"setpriv", "util-linux"},
	{"time", "time"}, // GNU time, for minor faults and RSS
}

// missingError lists the packages to install; main exits 2 on it.
type missingError struct{ pkgs []string }

func (e missingError) Error() string {
	return "missing tools; install them with:\n  " + aptLine(e.pkgs) + "\nor run bench/run --install to let it run apt-get"
}

func aptLine(pkgs []string) string { return "apt-get install -y " + strings.Join(pkgs, " ") }

// missingPackages returns the packages of the tools lookPath cannot find.
func missingPackages(lookPath func(string) (string, error)) []string {
	var pkgs []string
	seen := map[string]bool{}
	for _, t := range tools {
		if _, err := lookPath(t.bin); err != nil && !seen[t.pkg] {
			seen[t.pkg] = true
			pkgs = append(pkgs, t.pkg)
		}
	}
	return pkgs
}

// checkTools fails with a missingError naming the apt-get line unless every
// tool is present; with install it runs apt-get itself, saying so on out.
func checkTools(install bool, out io.Writer) error {
	pkgs := missingPackages(exec.LookPath)
	if len(pkgs) == 0 {
		return nil
	}
	if !install {
		return missingError{pkgs}
	}
	for _, args := range [][]string{{"apt-get", "update"}, strings.Fields(aptLine(pkgs))} {
		fmt.Fprintf(out, "bench: running %s\n", strings.Join(args, " "))
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = out, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
	}
	if still := missingPackages(exec.LookPath); len(still) > 0 {
		return fmt.Errorf("still missing after apt-get: %s", strings.Join(still, " "))
	}
	return nil
}
