package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"
)

// TestStatAllHung: a path whose stat never answers (a hung NFS server)
// does not hold up the others or the caller; it is reported as timed out,
// the others with what they answered.
func TestStatAllHung(t *testing.T) {
	hung := make(chan struct{})
	defer close(hung) // lets the waiting goroutine end
	stat := func(p string) (os.FileInfo, error) {
		switch p {
		case "/net/hung":
			<-hung
			return nil, errors.New("answered too late")
		case "/missing":
			return nil, fs.ErrNotExist
		}
		return os.Stat(".")
	}
	got := statAll(stat, []string{"/usr", "/net/hung", "/missing"}, 50*time.Millisecond)
	if got[0].err != nil || got[0].info == nil {
		t.Errorf("/usr: %+v", got[0])
	}
	if !errors.Is(got[1].err, errProbeTimeout) {
		t.Errorf("/net/hung: %v, want a timeout", got[1].err)
	}
	if !errors.Is(got[2].err, fs.ErrNotExist) {
		t.Errorf("/missing: %v", got[2].err)
	}
	if len(statAll(stat, nil, time.Millisecond)) != 0 {
		t.Error("results for no paths")
	}
}
