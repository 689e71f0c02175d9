package sandbox

import "golang.org/x/sys/unix"

// archModeCalls are the mode-setting calls only amd64 has: the path-only
// forms arm64 replaced by their *at variants.
var archModeCalls = []modeCall{
	{nr: unix.SYS_CHMOD, flags: -1, mode: 1},
	{nr: unix.SYS_CREAT, flags: -1, mode: 1},
	{nr: unix.SYS_OPEN, flags: 1, mode: 2},
	{nr: unix.SYS_MKNOD, flags: -1, mode: 1},
}
