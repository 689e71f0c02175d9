//go:build mangen

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestManWritesAPagePerVisibleCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	f, _, errOut := testFactory(t, "")
	if code := Execute(f, []string{"man", dir}); code != 0 {
		t.Fatalf("pent man exited %d: %s", code, errOut)
	}
	tests := []struct {
		page string
		want string // text the page must contain; "" means the page must not exist
	}{
		{"pent.1", `.TH "PENT" "1"`},
		{"pent-run.1", "--network"},
		{"pent-doctor.1", "exact fix"},
		{"pent-config-show.1", "--format"},
		{"pent-man.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.page))
			if tt.want == "" {
				if !os.IsNotExist(err) {
					t.Fatalf("hidden command got a page (err %v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.want) {
				t.Fatalf("page does not contain %q:\n%s", tt.want, b)
			}
		})
	}
}

func TestManNeedsOneDirectory(t *testing.T) {
	f, _, _ := testFactory(t, "")
	if code := Execute(f, []string{"man"}); code != exitUsage {
		t.Fatalf("pent man without DIR exited %d, want %d", code, exitUsage)
	}
}

func TestManOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	build := func(runF func(*ManOptions) error) *cobra.Command { return NewCmdMan(f, runF) }
	clear := func(o *ManOptions) {
		if o.Root == nil {
			t.Error("no command tree to document")
		}
		o.Root = nil
	}
	checkOptions(t, build, clear, []optionsCase[ManOptions]{
		{"a directory", []string{"/tmp/man1"}, &ManOptions{Dir: "/tmp/man1"}},
		{"no directory", nil, nil},
	})
}
