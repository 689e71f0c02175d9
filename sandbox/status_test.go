package sandbox

import (
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestExecFailure: how execve failed inside the sandbox, set against what
// the host sees at the path, gives a shell's status and a reason that says
// whether the sandbox hides the command.
func TestExecFailure(t *testing.T) {
	files := map[string]fakeInfo{
		"/bin/tool":   {mode: 0o755},
		"/src/plain":  {mode: 0o644},
		"/src/subdir": {mode: fs.ModeDir | 0o755},
	}
	stat := func(p string) (os.FileInfo, error) {
		if fi, ok := files[p]; ok {
			return fi, nil
		}
		return nil, fs.ErrNotExist
	}
	tests := []struct {
		path   string
		errno  syscall.Errno
		code   int
		reason string
	}{
		{"/bin/tool", syscall.ENOENT, ExitNotFound, "not visible inside the sandbox"},
		{"/src/missing", syscall.ENOENT, ExitNotFound, "no such file or directory"},
		{"/src/plain", syscall.EACCES, ExitNotExecutable, "chmod +x"},
		{"/src/subdir", syscall.EACCES, ExitNotExecutable, "is a directory"},
		{"/bin/tool", syscall.EACCES, ExitNotExecutable, "not executable there"},
		{"/bin/tool", syscall.ENOEXEC, ExitNotExecutable, "exec format error"},
	}
	for _, tt := range tests {
		e := execFailure(tt.path, tt.errno, stat)
		if e.Code != tt.code || !strings.Contains(e.Error(), tt.reason) || !strings.HasPrefix(e.Error(), tt.path+": ") {
			t.Errorf("execFailure(%s, %v) = %d %q; want %d and a reason with %q", tt.path, tt.errno, e.Code, e.Error(), tt.code, tt.reason)
		}
	}
}
