package sandbox

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// WindowsDrives returns the mount points of Windows file systems in
// mountinfo (the format of /proc/self/mountinfo): what WSL2 mounts with 9p
// from the Windows host (aname=drvfs: the drives under /mnt; aname=drivers:
// /usr/lib/wsl/drivers) and WSL1's drvfs. A Windows program on one of them,
// started from Linux, runs as a Windows process through WSL's interop,
// outside any Linux sandbox; Defaults grants none of them from PATH.
func WindowsDrives(mountinfo []byte) []string {
	var out []string
	s := bufio.NewScanner(bytes.NewReader(mountinfo))
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		before, after, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(before), strings.Fields(after)
		if len(fields) < 5 || len(tail) < 1 {
			continue
		}
		fstype, superOpts := tail[0], ""
		if len(tail) >= 3 {
			superOpts = tail[2]
		}
		if fstype == "drvfs" || (fstype == "9p" && windowsShare(superOpts)) {
			out = append(out, unescapeMountinfo(fields[4]))
		}
	}
	return out
}

// windowsShare reports whether 9p mount options name a share of the
// Windows host (aname=drvfs;path=C:\… or aname=drivers…).
func windowsShare(opts string) bool {
	for _, o := range strings.FieldsFunc(opts, func(r rune) bool { return r == ',' || r == ';' }) {
		if o == "aname=drvfs" || o == "aname=drivers" {
			return true
		}
	}
	return false
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) the kernel
// writes in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
