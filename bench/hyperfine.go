package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// hfCmd is one command hyperfine times: a name for the table and the
// command line (run without a shell, hyperfine -N).
type hfCmd struct{ name, cmd string }

// runner says where and as whom commands run.
type runner struct {
	dir  string
	env  []string
	cred *syscall.SysProcAttr // nil: as the bench itself
	tmp  string               // writable by the runner's user
}

// probe runs argv once and returns an error carrying its stderr when it fails.
func (r runner) probe(ctx context.Context, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = r.dir, r.env, r.cred
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// hyperfine times cmds in one hyperfine invocation and returns each median.
func (r runner) hyperfine(ctx context.Context, warmup, runs int, cmds []hfCmd) (map[string]time.Duration, error) {
	out := filepath.Join(r.tmp, fmt.Sprintf("hyperfine-%d.json", time.Now().UnixNano()))
	args := []string{"-N", "--style", "none", "--warmup", fmt.Sprint(warmup), "--runs", fmt.Sprint(runs), "--export-json", out}
	for _, c := range cmds {
		args = append(args, "-n", c.name, c.cmd)
	}
	cmd := exec.CommandContext(ctx, "hyperfine", args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = r.dir, r.env, r.cred
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("hyperfine: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("hyperfine results: %w", err)
	}
	return parseHyperfine(b)
}

// parseHyperfine returns the median of every command of a hyperfine
// --export-json document, by command name.
func parseHyperfine(b []byte) (map[string]time.Duration, error) {
	var doc struct {
		Results []struct {
			Command string  `json:"command"`
			Median  float64 `json:"median"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("hyperfine results: %w", err)
	}
	if len(doc.Results) == 0 {
		return nil, fmt.Errorf("hyperfine results: no commands")
	}
	m := make(map[string]time.Duration, len(doc.Results))
	for _, r := range doc.Results {
		if r.Median <= 0 {
			return nil, fmt.Errorf("hyperfine results: %q has no positive median", r.Command)
		}
		m[r.Command] = time.Duration(r.Median * float64(time.Second))
	}
	return m, nil
}
