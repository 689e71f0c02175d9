package run

import (
	"testing"

	"github.com/pent-sandbox/pent/keep"
	"github.com/pent-sandbox/pent/scope"
)

func TestDiscardedSummary(t *testing.T) {
	home := "/home/u"
	locs := scope.HostExecutedLocations(home, nil, "")
	files := func(paths ...string) []keep.File {
		out := make([]keep.File, len(paths))
		for i, p := range paths {
			out[i] = keep.File{Path: p}
		}
		return out
	}
	tests := []struct {
		name  string
		files []keep.File
		want  string
	}{
		{"one", files("/home/u/newfile"),
			"1 write outside the allowed paths was not kept: ~/newfile — keep it with `pent keep`, allow it next time with --write ~/newfile (read_write in the config)"},
		{"the example is one keep may write", files("/home/u/.npmrc", "/home/u/newfile", "/home/u/outside.txt"),
			"3 writes outside the allowed paths were not kept: ~/.npmrc, ~/newfile, ~/outside.txt — keep them with `pent keep`, allow them next time with --write ~/newfile (read_write in the config)"},
		{"bounded", files("/home/u/a", "/home/u/b", "/home/u/c", "/home/u/d", "/home/u/e"),
			"5 writes outside the allowed paths were not kept: ~/a, ~/b, ~/c and 2 more — keep them with `pent keep`, allow them next time with --write ~/a (read_write in the config)"},
		{"all refused", files("/home/u/.bashrc", "/home/u/.npmrc"),
			"2 writes outside the allowed paths were not kept: ~/.bashrc, ~/.npmrc — pent keep writes none of them (places the host runs or trusts, or credentials); `pent keep --list` shows where their content is"},
	}
	for _, tt := range tests {
		if got := DiscardedSummary(tt.files, home, locs); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
