package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxFileSize is the largest configuration or project file pent reads. A
// project file is a few hundred bytes; the cap keeps a huge or endless file
// (a sparse file, a device behind a link) from hanging the shell prompt.
const MaxFileSize = 1 << 20

// ReadFile reads a configuration file in one open: it refuses a symbolic link
// at the final component, anything but a regular file (FIFOs and devices are
// opened without blocking, then refused) and a file over MaxFileSize. Callers
// hash and parse the bytes it returns and never read the file a second time.
// A missing file gives an error that wraps fs.ErrNotExist.
func ReadFile(path string) ([]byte, error) {
	return readRegular(path, syscall.O_NOFOLLOW)
}

// ReadLinkedFile is ReadFile for a file a user may keep behind a symbolic
// link (the shell rc files doctor looks in, with a dotfiles manager): it
// follows links, and refuses like ReadFile anything but a regular file,
// without blocking on a FIFO or device.
func ReadLinkedFile(path string) ([]byte, error) {
	return readRegular(path, 0)
}

// readRegular is ReadFile with extra open flags.
func readRegular(path string, flags int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|flags, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link; pent reads only regular files (replace the link by the file it points to)", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s); pent reads only regular files", path, fi.Mode().Type())
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d KiB; pent refuses it", path, MaxFileSize>>10)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s grew beyond %d KiB while pent read it; pent refuses it", path, MaxFileSize>>10)
	}
	return data, nil
}
