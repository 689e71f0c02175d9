package quarantine

import (
	"time"

	"golang.org/x/sys/unix"
)

// Born is when path (not followed) was created (its birth time).
func Born(path string) (time.Time, bool) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return time.Time{}, false
	}
	return time.Unix(st.Btim.Unix()), true
}
