//go:build !linux

package main

import "errors"

// floorStageArg selects the floor launchers' init stage (floor_linux.go).
const floorStageArg = "floor-stage"

var errFloorLinux = errors.New("the floor launchers clone Linux namespaces; they run on Linux only")

func floorMain([]string) (int, error)      { return 1, errFloorLinux }
func floorStageMain([]string) (int, error) { return 1, errFloorLinux }
