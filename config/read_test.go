package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular.toml")
	if err := os.WriteFile(regular, []byte("wrap = [\"npm\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.toml")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<40); err != nil {
		t.Fatal(err)
	}
	exact := filepath.Join(dir, "exact.toml")
	if err := os.WriteFile(exact, []byte(strings.Repeat("#", MaxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
		wantLen             int
	}{
		{"regular", regular, "", 15},
		{"at the cap", exact, "", MaxFileSize},
		{"symlink", link, "symbolic link", 0},
		{"symlink to pagemap", "/proc/self/pagemap", "", -1},
		{"fifo", fifo, "not a regular file", 0},
		{"directory", dir, "not a regular file", 0},
		{"huge sparse", sparse, "larger than 1024 KiB", 0},
		{"missing", filepath.Join(dir, "missing"), "no such file", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.wantLen < 0 { // a link to a pseudo-file: refused as a link
				path = filepath.Join(t.TempDir(), ".pent.toml")
				if err := os.Symlink(tt.path, path); err != nil {
					t.Fatal(err)
				}
				tt.wantErr = "symbolic link"
			}
			data, err := ReadFile(path)
			if tt.wantErr == "" {
				if err != nil || len(data) != tt.wantLen {
					t.Fatalf("ReadFile = %d bytes, %v; want %d bytes", len(data), err, tt.wantLen)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadFile error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file gives %v, want fs.ErrNotExist", err)
	}
}

// TestReadLinkedFile: links are followed to a regular file; what they
// point to is refused like ReadFile refuses it, a FIFO without blocking.
func TestReadLinkedFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("eval \"$(pent hook bash)\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, target, wantErr string
		wantLen               int
	}{
		{"link to a regular file", regular, "", 25},
		{"link to a fifo", fifo, "not a regular file", 0},
		{"link to a directory", dir, "not a regular file", 0},
		{"dangling link", filepath.Join(dir, "missing"), "no such file", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			link := filepath.Join(t.TempDir(), ".bashrc")
			if err := os.Symlink(tt.target, link); err != nil {
				t.Fatal(err)
			}
			data, err := ReadLinkedFile(link)
			if tt.wantErr == "" {
				if err != nil || len(data) != tt.wantLen {
					t.Fatalf("ReadLinkedFile = %d bytes, %v; want %d bytes", len(data), err, tt.wantLen)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadLinkedFile error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
