package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// checkPrivateDir refuses a directory that another user owns or that others
// can enter: pent's sockets live there.
func checkPrivateDir(dir string) error {
	return checkDirOwner(dir, 0o077, "with mode 0700")
}

// checkOwnDir refuses a directory pent keeps state in (logs, trust records,
// records of other directories) that another user owns or others can write.
func checkOwnDir(dir string) error {
	return checkDirOwner(dir, 0o022, "that only you can write")
}

// checkDirOwner refuses dir unless it is a directory (not a symlink) owned
// by this user without any of the forbidden permission bits.
func checkDirOwner(dir string, forbidden fs.FileMode, want string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&forbidden != 0 {
		return fmt.Errorf("%s must be a directory owned by you %s; fix or remove it and run pent again", dir, want)
	}
	return nil
}

// recordedPrivateDir returns the private directory whose path the file
// record holds. When there is none, or it is gone or not private to this
// user any more, it creates one with a random name (prefix + random) in base
// — which no other user can take first — and records it. Concurrent callers
// agree on the one recorded last.
func recordedPrivateDir(record, base, prefix string) (string, error) {
	if dir, ok := readPrivateDirRecord(record); ok {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(record), 0o700); err != nil {
		return "", fmt.Errorf("creating the state directory: %w", err)
	}
	if err := checkOwnDir(filepath.Dir(record)); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", fmt.Errorf("creating the runtime directory: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(record), filepath.Base(dir)+".record")
	if err := os.WriteFile(tmp, []byte(dir+"\n"), 0o600); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("recording the runtime directory: %w", err)
	}
	if err := os.Rename(tmp, record); err != nil {
		os.Remove(tmp)
		os.Remove(dir)
		return "", fmt.Errorf("recording the runtime directory: %w", err)
	}
	if got, ok := readPrivateDirRecord(record); ok && got != dir {
		os.Remove(dir) // another pent recorded its directory after ours
		return got, nil
	}
	if err := checkPrivateDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// readPrivateDirRecord reads a directory recorded by recordedPrivateDir and
// reports whether it is still a private directory of this user.
func readPrivateDirRecord(record string) (string, bool) {
	b, err := os.ReadFile(record)
	if err != nil {
		return "", false
	}
	dir := strings.TrimSpace(string(b))
	return dir, filepath.IsAbs(dir) && checkPrivateDir(dir) == nil
}
