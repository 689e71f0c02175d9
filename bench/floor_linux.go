package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
)

// The floor launchers measure what pent's start-up cannot go below as long
// as it is a Go program: they do only the namespace part of `pent run`,
// with none of the sandbox's rules (no mounts, Landlock, seccomp, config).
//
//	bench floor -- CMD...        clone into pent's namespaces, exec CMD there
//	bench floor -stage -- CMD... the same, but exec this binary again as an
//	                             init stage (PID 1) that starts CMD and reaps
//	                             it: pent's process structure
const floorStageArg = "floor-stage"

// floorMain is `bench floor`.
func floorMain(args []string) (int, error) {
	fl := flag.NewFlagSet("bench floor", flag.ContinueOnError)
	stage := fl.Bool("stage", false, "re-execute this binary as the init stage, as pent does")
	if err := fl.Parse(args); err != nil {
		return 2, err
	}
	argv := fl.Args()
	if len(argv) == 0 {
		return 2, errors.New("usage: bench floor [-stage] -- CMD [ARG...]")
	}
	path := argv[0]
	if *stage {
		self, err := os.Executable()
		if err != nil {
			return 1, err
		}
		path, argv = self, append([]string{"bench", floorStageArg}, argv...)
	}
	uid, gid := os.Getuid(), os.Getgid()
	attr := &syscall.ProcAttr{
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			// pent's namespaces (SPEC §4): user, mount, PID, IPC, UTS, network.
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
				syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
			Pdeathsig:   syscall.SIGKILL,
		},
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return 1, fmt.Errorf("starting %s in new namespaces: %w", path, err)
	}
	return waitFor(pid)
}

// floorStageMain is the init stage of `bench floor -stage`: it starts CMD
// and exits as CMD did.
func floorStageMain(argv []string) (int, error) {
	if len(argv) == 0 {
		return 2, errors.New("floor stage: no command")
	}
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		return 1, fmt.Errorf("floor stage: starting %s: %w", argv[0], err)
	}
	return waitFor(pid)
}

// waitFor reaps children until pid has ended and returns its exit code.
func waitFor(pid int) (int, error) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 1, fmt.Errorf("waiting for %d: %w", pid, err)
		}
		if got != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
}
