package sandbox

import (
	"slices"
	"testing"
)

func TestMasks(t *testing.T) {
	p := Policy{
		Read:       []string{"/etc", "/home/u/.npmrc"},
		Write:      []string{"/home/u/proj", "/srv"},
		Traverse:   []string{"/home/u", "/data", "/usr/share", "/"},
		Masked:     []string{"/home/u", "/run/user/1", "/home", "/srv"},
		PrivateTmp: []string{"/tmp", "/dev/shm"},
	}
	var got []string
	for _, m := range masks(p) {
		got = append(got, m.path)
	}
	// Parents first; /srv is itself allowed, so not masked; /usr/share is
	// inside nothing masked but also not covered: masked; "/" never is.
	want := []string{"/dev", "/tmp", "/home", "/run", "/data", "/dev/shm", "/home/u", "/usr/share", "/run/user/1"}
	if !slices.Equal(got, want) {
		t.Errorf("masks = %v\nwant    %v", got, want)
	}
}
