package main

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivateDir refuses a directory that another user owns or that others
// can enter: pent's sockets live there.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s must be a directory owned by you with mode 0700; remove it and run pent again", dir)
	}
	return nil
}
