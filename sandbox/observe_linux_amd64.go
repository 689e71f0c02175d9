package sandbox

import "golang.org/x/sys/unix"

// archCalls are the traced system calls that only amd64 has: the path-only
// forms arm64 replaced by their *at variants.
var archCalls = map[uint32]callSpec{
	unix.SYS_OPEN:    {kind: callOpen, dir: -1, path: 0, dir2: -1, path2: -1, flags: 1},
	unix.SYS_CREAT:   {kind: callCreat, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_MKDIR:   {kind: callMkdir, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_MKNOD:   {kind: callMknod, dir: -1, path: 0, dir2: -1, path2: -1, flags: 1},
	unix.SYS_SYMLINK: {kind: callSymlink, dir: -1, path: 1, dir2: -1, path2: -1, flags: -1},
	unix.SYS_UNLINK:  {kind: callUnlink, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_RMDIR:   {kind: callRmdir, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_RENAME:  {kind: callRename, dir: -1, path: 0, dir2: -1, path2: 1, flags: -1},
	unix.SYS_LINK:    {kind: callLink, dir: -1, path: 0, dir2: -1, path2: 1, flags: -1},

	unix.SYS_STAT:     {kind: callStat, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_LSTAT:    {kind: callLstat, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
	unix.SYS_ACCESS:   {kind: callAccess, dir: -1, path: 0, dir2: -1, path2: -1, flags: 1},
	unix.SYS_READLINK: {kind: callReadlink, dir: -1, path: 0, dir2: -1, path2: -1, flags: -1},
}
