package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Met states of a row.
const (
	metYes = "yes"
	metNo  = "**no**"
	metNA  = "n/a" // the measurement could not be taken
)

// row is one line of the results table.
type row struct {
	section, metric, value, ratio, target, met string
	// explains marks a row without a target that the README shows anyway:
	// it measures what a missed target is up against (a floor, a ceiling).
	explains bool
}

// report collects the rows and notes of a run, in the order measured.
type report struct {
	machine, version string
	date             time.Time
	rows             []row
	notes            []string
}

func newReport(machine, version string) *report {
	return &report{machine: machine, version: version, date: time.Now()}
}

func (r *report) add(rw row) { r.rows = append(r.rows, rw) }

// unavailable records a measurement that could not be taken, with why.
func (r *report) unavailable(section, metric, target string, err error) {
	r.add(row{section: section, metric: metric, value: "not available: " + oneLine(err.Error()), target: target, met: metNA})
}

func (r *report) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// metIf is metYes when ok, else metNo.
func metIf(ok bool) string {
	if ok {
		return metYes
	}
	return metNo
}

func (r *report) header() string {
	return fmt.Sprintf("- machine: %s\n- date: %s\n- pent: %s\n", r.machine, r.date.UTC().Format("2006-01-02 15:04 MST"), r.version)
}

// markdown is the full results page.
func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# pent benchmark results\n\n")
	b.WriteString("Produced by `bench/run`; do not edit by hand. Times are medians of repeated runs.\n\n")
	b.WriteString(r.header())
	b.WriteString("\n| area | metric | measured | ratio | target | met |\n|---|---|---|---|---|---|\n")
	for _, rw := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(rw.section), cell(rw.metric), cell(rw.value), cell(rw.ratio), cell(rw.target), cell(rw.met))
	}
	if len(r.notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range r.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

// readmeBlock is the short table for README.md: the rows with a target and
// the rows that explain one.
func (r *report) readmeBlock() string {
	var b strings.Builder
	b.WriteString(r.header())
	b.WriteString("\n| metric | measured | ratio | target | met |\n|---|---|---|---|---|\n")
	for _, rw := range r.rows {
		if rw.target == "" && !rw.explains {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(rw.metric), cell(rw.value), cell(rw.ratio), cell(rw.target), cell(rw.met))
	}
	b.WriteString("\nFull table and method: [bench/results.md](bench/results.md), produced by `bench/run --readme`.\n")
	return b.String()
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Markers of the README block the bench owns.
const (
	readmeStart = "<!-- bench:start -->"
	readmeEnd   = "<!-- bench:end -->"
)

// replaceBlock puts block between the markers of text. It fails, changing
// nothing, unless each marker appears exactly once and in order.
func replaceBlock(text, block string) (string, error) {
	if strings.Count(text, readmeStart) != 1 || strings.Count(text, readmeEnd) != 1 {
		return "", fmt.Errorf("want exactly one %s and one %s", readmeStart, readmeEnd)
	}
	i := strings.Index(text, readmeStart) + len(readmeStart)
	j := strings.Index(text, readmeEnd)
	if j < i {
		return "", errors.New(readmeEnd + " comes before " + readmeStart)
	}
	return text[:i] + "\n" + strings.TrimSpace(block) + "\n" + text[j:], nil
}

// replaceReadmeBlock rewrites the bench block of the README at path.
func replaceReadmeBlock(path, block string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading README: %w", err)
	}
	out, err := replaceBlock(string(b), block)
	if err != nil {
		return fmt.Errorf("%s: %w (the lead adds the markers; the bench never edits outside them)", path, err)
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return fmt.Errorf("writing README: %w", err)
	}
	return nil
}

// machineInfo is "CPU model, N CPUs, kernel K" from /proc.
func machineInfo() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		model = cpuModel(b)
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d CPUs (nproc), Linux %s, %s", model, runtime.NumCPU(), kernel, runtime.GOARCH)
}

// cpuModel is the first "model name" of /proc/cpuinfo content.
func cpuModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// ratio formats a/b as "N.NN×".
func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
