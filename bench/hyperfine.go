package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// hyperfine times cmds and returns each one's median. It runs hyperfine in
// it.rounds rounds of it.runs runs per command, so that the commands take
// turns: on a machine whose speed drifts (a shared VM), a slow spell then
// hits them alike instead of whichever command hyperfine was timing.
func (r runner) hyperfine(ctx context.Context, warmup, runs, rounds int, cmds []hfCmd) (map[string]time.Duration, error) {
	times := map[string][]time.Duration{}
	for round := range max(rounds, 1) {
		out := filepath.Join(r.tmp, fmt.Sprintf("hyperfine-%d-%d.json", time.Now().UnixNano(), round))
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
		got, err := parseHyperfine(b)
		if err != nil {
			return nil, err
		}
		for name, ts := range got {
			times[name] = append(times[name], ts...)
		}
	}
	med := make(map[string]time.Duration, len(times))
	for name, ts := range times {
		slices.Sort(ts)
		med[name] = ts[len(ts)/2]
	}
	return med, nil
}

// parseHyperfine returns the time of every run of every command of a
// hyperfine --export-json document, by command name.
func parseHyperfine(b []byte) (map[string][]time.Duration, error) {
	var doc struct {
		Results []struct {
			Command string    `json:"command"`
			Times   []float64 `json:"times"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("hyperfine results: %w", err)
	}
	if len(doc.Results) == 0 {
		return nil, fmt.Errorf("hyperfine results: no commands")
	}
	m := make(map[string][]time.Duration, len(doc.Results))
	for _, r := range doc.Results {
		if len(r.Times) == 0 {
			return nil, fmt.Errorf("hyperfine results: %q has no runs", r.Command)
		}
		for _, t := range r.Times {
			if t <= 0 || t > 3600 {
				return nil, fmt.Errorf("hyperfine results: %q has a run of %v s", r.Command, t)
			}
			m[r.Command] = append(m[r.Command], time.Duration(t*float64(time.Second)))
		}
	}
	return m, nil
}
