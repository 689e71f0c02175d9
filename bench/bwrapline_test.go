package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := "1 0 8:1 / / ro,relatime shared:1 - ext4 /dev/vda rw\n" +
		"2 1 0:5 / /proc rw,nosuid master:2 - proc proc rw\n" +
		"3 1 8:1 /x /home/a\\040b rw,relatime - ext4 /dev/vda rw\n"
	got, err := parseMountinfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountEntry{{"/", true, "ext4"}, {"/proc", false, "proc"}, {"/home/a b", false, "ext4"}}
	if !slices.Equal(got, want) {
		t.Errorf("parseMountinfo = %v, want %v", got, want)
	}
	for _, bad := range []string{"1 0 8:1 / / ro\n", "1 0 8:1 / /a\\09x ro - ext4 x rw\n"} {
		if _, err := parseMountinfo([]byte(bad)); err == nil {
			t.Errorf("parseMountinfo(%q) accepted it", bad)
		}
	}
}

func TestBwrapArgs(t *testing.T) {
	host := []mountEntry{{"/proc", false, "proc"}, {"/", false, "ext4"}, {"/dev", false, "devtmpfs"}} // not in tree order, as on this machine
	tests := []struct {
		name    string
		sandbox []mountEntry
		want    string // without the namespace options
		err     bool
	}{
		{"root only", []mountEntry{{"/", true, "ext4"}}, "--ro-bind / /", false},
		{
			"host copies skipped, own mounts in order",
			[]mountEntry{
				{"/", true, "ext4"}, {"/proc", true, "proc"}, {"/dev", true, "devtmpfs"}, // carried along by the bind of /
				{"/work/p", false, "ext4"},
				{"/proc", true, "proc"},
				{"/dev", true, "tmpfs"}, {"/dev/null", true, "devtmpfs"}, {"/dev/pts", false, "devpts"},
				{"/tmp", false, "tmpfs"},
				{"/home", true, "tmpfs"}, {"/home/u/.cache", true, "ext4"},
				{"/dev/shm", false, "tmpfs"},
			},
			"--ro-bind / / --bind /work/p /work/p --proc /proc --dev /dev --tmpfs /tmp --tmpfs /home " +
				"--ro-bind /home/u/.cache /home/u/.cache --tmpfs /dev/shm --remount-ro /home",
			false,
		},
		{"no root", []mountEntry{{"/proc", false, "proc"}}, "", true},
	}
	const ns = " --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-net --die-with-parent"
	for _, tc := range tests {
		got, err := bwrapArgs(tc.sandbox, host)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !tc.err && strings.Join(got, " ") != tc.want+ns {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, strings.Join(got, " "), tc.want+ns)
		}
	}
}

func TestExportedVars(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
		err  bool
	}{
		{"vars", "function cat { x; }\nexport PENT_DIR='/p'\nexport PENT_WRAPPED='cat'\nunset X\n", map[string]string{"PENT_DIR": "/p", "PENT_WRAPPED": "cat"}, false},
		{"none", "unset PENT_DIR\n", nil, true},
		{"quote inside", "export A='a'\\''b'\n", nil, true},
		{"unquoted", "export A=a\n", nil, true},
	}
	for _, tc := range tests {
		got, err := exportedVars(tc.in)
		if (err != nil) != tc.err || !tc.err && !maps.Equal(got, tc.want) {
			t.Errorf("%s: exportedVars = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
