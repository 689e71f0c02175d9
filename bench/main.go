// Command bench measures pent against its peers on the machine it runs on
// (SPEC §8): prompt cost of the shell hook against direnv, `pent run` start-up
// against bubblewrap, firejail and a bare process, proxy-mode start-up,
// throughput, latency and concurrency, and --trace overhead. It prints a
// markdown table of medians and ratios, each with its target, writes it to
// bench/results.md and, with --readme, into the marked block of README.md.
//
// It installs nothing unless --install is given; without it, a missing tool
// makes it print the apt-get line to run and exit with status 2.
//
// The same binary is the client that runs inside the sandbox for the network
// measurements (`bench client ...`) and the floor launchers that show what
// start-up a Go launcher cannot go below (`bench floor ...`, see floor.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// options are the command-line inputs of a benchmark run.
type options struct {
	repo    string // repository root (holds README.md and bench/)
	pent    string // pent binary; built from repo when empty
	install bool   // run apt-get for missing tools
	readme  bool   // replace the bench block of README.md
	quick   bool   // fewer repetitions (development)
	user    string // unprivileged user for the second pent run measurement
	keep    bool   // keep the work directory
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "client":
			if err := clientMain(os.Args[2:], os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "bench client:", err)
				os.Exit(1)
			}
			return
		case "floor", floorStageArg:
			floor := floorMain
			if os.Args[1] == floorStageArg {
				floor = floorStageMain
			}
			code, err := floor(os.Args[2:])
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench floor:", err)
			}
			os.Exit(code)
		}
	}
	var o options
	fl := flag.NewFlagSet("bench", flag.ExitOnError)
	fl.StringVar(&o.repo, "repo", ".", "repository root")
	fl.StringVar(&o.pent, "pent", "", "pent binary to measure (default: build ./cmd/pent with CGO_ENABLED=0)")
	fl.BoolVar(&o.install, "install", false, "install missing tools with apt-get (otherwise only print the command)")
	fl.BoolVar(&o.readme, "readme", false, "also replace the block between <!-- bench:start --> and <!-- bench:end --> in README.md")
	fl.BoolVar(&o.quick, "quick", false, "fewer repetitions, for trying the bench itself")
	fl.StringVar(&o.user, "user", "", "unprivileged user for the unprivileged measurements (default: pent-e2e, else nobody)")
	fl.BoolVar(&o.keep, "keep", false, "keep the work directory")
	_ = fl.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		var miss missingError
		if errors.As(err, &miss) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run checks the tools, prepares the work directory, measures everything and
// writes the results.
func run(ctx context.Context, o options) error {
	repo, err := filepath.Abs(o.repo)
	if err != nil {
		return fmt.Errorf("repository root: %w", err)
	}
	o.repo = repo
	if err := checkTools(o.install, os.Stdout); err != nil {
		return err
	}
	w, err := newWorkspace(ctx, o)
	if err != nil {
		return err
	}
	if !o.keep {
		defer w.remove()
	} else {
		defer fmt.Printf("work directory kept: %s\n", w.dir)
	}
	rep := newReport(machineInfo(), w.pentVersion)
	it := iterations(o.quick)
	for _, m := range []struct {
		name string
		fn   func(context.Context, *workspace, iters, *report)
	}{
		{"shell prompt and cd", measurePrompts},
		{"pent version and pent export", measureHotPaths},
		{"pent run start-up", measureStartup},
		{"proxy", measureProxy},
		{"--trace", measureTrace},
	} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "bench: measuring %s...\n", m.name)
		m.fn(ctx, w, it, rep)
	}
	md := rep.markdown()
	fmt.Print(md)
	out := filepath.Join(o.repo, "bench", "results.md")
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", out)
	if o.readme {
		readme := filepath.Join(o.repo, "README.md")
		if err := replaceReadmeBlock(readme, rep.readmeBlock()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: updated the bench block of %s\n", readme)
	}
	return nil
}

// iters are the repetition counts of one run.
type iters struct {
	warmup, runs       int // hyperfine start-up measurements, per round
	rounds             int // hyperfine rounds: the commands take turns this often
	heavyRuns          int // hyperfine runs of the file-heavy trace command
	prompts, cds       int // timed prompts and cd cycles per shell and hook
	stracePrompts      int // prompts and cds observed under strace
	bulkBytes          int64
	bulkReps           int
	latencyConns       int
	sandboxes, holdMax int
}

func iterations(quick bool) iters {
	if quick {
		return iters{warmup: 2, runs: 10, rounds: 1, heavyRuns: 2, prompts: 30, cds: 10, stracePrompts: 5,
			bulkBytes: 256 << 20, bulkReps: 1, latencyConns: 100, sandboxes: 50, holdMax: 1000}
	}
	return iters{warmup: 3, runs: 30, rounds: 8, heavyRuns: 5, prompts: 200, cds: 40, stracePrompts: 20,
		bulkBytes: 1 << 30, bulkReps: 3, latencyConns: 500, sandboxes: 50, holdMax: 1000}
}
