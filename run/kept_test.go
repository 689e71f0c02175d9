package run

import (
	"testing"

	"github.com/pent-sandbox/pent/keep"
	"github.com/pent-sandbox/pent/scope"
)

func TestDiscardedSummary(t *testing.T) {
	home := "/home/u"
	locs := scope.HostExecutedLocations(home, nil, "")
	files := func(paths ...string) keep.Layer {
		l := keep.Layer{Project: "/home/u/src/app"}
		for _, p := range paths {
			l.Files = append(l.Files, keep.File{Path: p})
		}
		return l
	}
	tests := []struct {
		name  string
		files keep.Layer
		want  string
	}{
		{"one", files("/home/u/newfile"),
			"1 write outside the allowed paths was not kept: ~/newfile — keep it with `pent keep`, allow it next time with --write ~/newfile (read_write in the config)"},
		{"the example is one keep may write", files("/home/u/.npmrc", "/home/u/newfile", "/home/u/outside.txt"),
			"3 writes outside the allowed paths were not kept: ~/.npmrc, ~/newfile, ~/outside.txt — `pent keep` writes 2 of them, not configuration, credentials or places the host runs or trusts; allow ~/newfile next time with --write ~/newfile (read_write in the config)"},
		{"dot files and outside home are refused", files("/home/u/.bash_aliases", "/etc/cron.d/x", "/home/u/.config/go/env"),
			"3 writes outside the allowed paths were not kept: ~/.bash_aliases, /etc/cron.d/x, ~/.config/go/env — pent keep writes none of them (configuration, credentials or places the host runs or trusts); `pent keep --list` shows where their content is"},
		{"one refused", files("/home/u/.bash_aliases"),
			"1 write outside the allowed paths was not kept: ~/.bash_aliases — pent keep does not write it (configuration, credentials or places the host runs or trusts); `pent keep --list` shows where their content is"},
		{"bounded", files("/home/u/a", "/home/u/b", "/home/u/c", "/home/u/d", "/home/u/e"),
			"5 writes outside the allowed paths were not kept: ~/a, ~/b, ~/c and 2 more — keep them with `pent keep`, allow them next time with --write ~/a (read_write in the config)"},
		{"all refused", files("/home/u/.bashrc", "/home/u/.npmrc"),
			"2 writes outside the allowed paths were not kept: ~/.bashrc, ~/.npmrc — pent keep writes none of them (configuration, credentials or places the host runs or trusts); `pent keep --list` shows where their content is"},
	}
	for _, tt := range tests {
		if got := DiscardedSummary(tt.files, home, locs); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
