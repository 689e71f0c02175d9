package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const hotSection = "commands a user waits on"

// hotTarget is what `pent version` and `pent export` may cost against a Go
// program that does nothing.
const hotTarget = "≤ 1.3× Go hello-world"

// helloSource is the Go hello-world the hot commands are compared with: the
// least a Go program costs to start on this machine.
const helloSource = "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"

// buildHello builds the Go hello-world into dir/hello (CGO_ENABLED=0, as
// pent is built) and returns its path.
func buildHello(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "hello-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("hello-world: %w", err)
	}
	for name, body := range map[string]string{"main.go": helloSource, "go.mod": "module hello\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			return "", fmt.Errorf("hello-world: %w", err)
		}
	}
	out := filepath.Join(dir, "bin", "hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir, cmd.Env = src, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the Go hello-world: %w: %s", err, bytes.TrimSpace(b))
	}
	return out, nil
}

// hotCmd is one command of the hot-path group: its own directory and
// environment, as the shell hook would start it.
type hotCmd struct {
	name, metric string
	dir          string
	env          []string
	argv         []string
}

// measureHotPaths times `pent version` and `pent export` (a cd into and a
// cd out of a project, as the hook runs it) against a Go hello-world. The
// commands take turns run by run (the hook's commands need a directory
// each, which hyperfine cannot give per command), each timed from start to
// wait by the bench; their minor faults and RSS come from separate runs
// under GNU time.
func measureHotPaths(ctx context.Context, w *workspace, it iters, rep *report) {
	cmds, err := hotCommands(ctx, w)
	if err != nil {
		for _, m := range []string{"`pent version`", "`pent export bash`, cd into a project", "`pent export bash`, cd out of a project"} {
			rep.unavailable(hotSection, m, hotTarget, err)
		}
		return
	}
	got, err := timeInTurns(ctx, cmds, it.warmup, it.runs*it.rounds)
	if err != nil {
		rep.unavailable(hotSection, "hot commands", hotTarget, err)
		return
	}
	hello := got["hello"]
	for _, c := range cmds {
		d := got[c.name]
		value := ms(d)
		if u, err := (runner{dir: c.dir, env: c.env, tmp: w.dir}).usage(ctx, it.runs, c.argv...); err != nil {
			value += "; usage not available: " + err.Error()
		} else {
			value += "; " + u.String()
		}
		if c.name == "hello" {
			rep.add(row{section: hotSection, metric: c.metric, value: value, explains: true})
			continue
		}
		rep.add(row{section: hotSection, metric: c.metric, value: value,
			ratio:  ratio(float64(d), float64(hello)) + " hello-world",
			target: hotTarget, met: metIf(float64(d) <= 1.3*float64(hello))})
	}
}

// hotCommands are the hello-world and the three pent commands, checked once:
// the cd into the project must print its wrappers, the cd out must remove
// them.
func hotCommands(ctx context.Context, w *workspace) ([]hotCmd, error) {
	into, err := w.output(ctx, w.proj, w.pent, "export", "bash")
	if err != nil {
		return nil, err
	}
	state, err := exportedVars(into)
	if err != nil {
		return nil, err
	}
	if state["PENT_WRAPPED"] != "cat" {
		return nil, fmt.Errorf("pent export bash in the project wraps %q, want cat", state["PENT_WRAPPED"])
	}
	var inside []string
	for k, v := range state {
		inside = append(inside, k+"="+v)
	}
	out := exec.CommandContext(ctx, w.pent, "export", "bash")
	out.Dir, out.Env = w.plain, w.env(inside...)
	b, err := out.Output()
	if err != nil || !strings.Contains(string(b), "unset PENT_WRAPPED") {
		return nil, fmt.Errorf("pent export bash out of the project did not unwrap (%v): %s", err, b)
	}
	return []hotCmd{
		{name: "hello", metric: "Go hello-world (baseline)", dir: w.plain, env: w.env(), argv: []string{w.hello}},
		{name: "version", metric: "`pent version`", dir: w.plain, env: w.env(), argv: []string{w.pent, "version"}},
		{name: "into", metric: "`pent export bash`, cd into a project", dir: w.proj, env: w.env(), argv: []string{w.pent, "export", "bash"}},
		{name: "out", metric: "`pent export bash`, cd out of a project", dir: w.plain, env: w.env(inside...), argv: []string{w.pent, "export", "bash"}},
	}, nil
}

// exportedVars reads the `export NAME='value'` lines of pent's bash code.
func exportedVars(code string) (map[string]string, error) {
	vars := map[string]string{}
	for line := range strings.Lines(code) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		if !ok {
			continue
		}
		name, quoted, ok := strings.Cut(rest, "=")
		v, unq := strings.CutPrefix(quoted, "'")
		v, end := strings.CutSuffix(v, "'")
		if !ok || !unq || !end || strings.Contains(v, "'") {
			return nil, fmt.Errorf("unexpected export line %q", line)
		}
		vars[name] = v
	}
	if len(vars) == 0 {
		return nil, errors.New("pent export bash printed no variables")
	}
	return vars, nil
}

// timeInTurns runs cmds in turn, warmup rounds and then runs rounds, and
// returns each command's median time by name.
func timeInTurns(ctx context.Context, cmds []hotCmd, warmup, runs int) (map[string]time.Duration, error) {
	times := map[string][]time.Duration{}
	for round := range warmup + runs {
		for _, c := range cmds {
			cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
			cmd.Dir, cmd.Env = c.dir, c.env
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("%s: %w", cmd, err)
			}
			if round >= warmup {
				times[c.name] = append(times[c.name], time.Since(start))
			}
		}
	}
	med := make(map[string]time.Duration, len(times))
	for name, ts := range times {
		slices.Sort(ts)
		med[name] = ts[len(ts)/2]
	}
	return med, nil
}
