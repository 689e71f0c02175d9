package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

const startupSection = "`pent run` start-up"

// measureStartup times `pent run -- true` (network blocked) against
// bubblewrap, firejail and a bare true, as root and as an unprivileged user.
func measureStartup(ctx context.Context, w *workspace, it iters, rep *report) {
	root := runner{dir: w.plain, env: w.env(), tmp: w.dir}
	startupGroup(ctx, w, it, rep, root, "root")
	if w.unpriv == nil {
		rep.notef("unprivileged start-up not measured: %s", w.unprivWhy)
		return
	}
	u := w.unpriv
	startupGroup(ctx, w, it, rep, runner{dir: u.plain, env: u.env(w.bin), cred: u.credential(), tmp: u.home},
		fmt.Sprintf("unprivileged (%s)", u.name))
}

// startTarget is what `pent run -- true` may cost against bubblewrap
// running pent's policy and against firejail.
const startTarget = "≤ 2.0× bwrap (pent's policy) and ≤ 0.5× firejail"

func startupGroup(ctx context.Context, w *workspace, it iters, rep *report, r runner, who string) {
	cands := []hfCmd{
		{"true", "/bin/true"},
		{"bwrap", "bwrap --ro-bind / / --unshare-net /bin/true"},
		{"firejail", "firejail --quiet --noprofile --net=none /bin/true"},
		{"pent", w.pent + " run -- /bin/true"},
		{"floor", w.self + " floor -- /bin/true"},
		{"floor-stage", w.self + " floor -stage -- /bin/true"},
	}
	if line, err := policyBwrap(ctx, r, w.pent, "/bin/true"); err != nil {
		rep.unavailable(startupSection, "bwrap with pent's policy as "+who, "", err)
	} else {
		cands = append(cands, hfCmd{"bwrap-policy", line})
	}
	var cmds []hfCmd
	for _, c := range cands {
		if err := r.probe(ctx, strings.Fields(c.cmd)...); err != nil {
			rep.unavailable(startupSection, fmt.Sprintf("`%s` as %s", c.name, who), "", err)
			continue
		}
		cmds = append(cmds, c)
	}
	med, err := r.hyperfine(ctx, it.warmup, it.runs, it.rounds, cmds)
	if err != nil {
		rep.unavailable(startupSection, "start-up as "+who, "", err)
		return
	}
	use := func(c hfCmd) string {
		u, err := r.usage(ctx, it.runs, strings.Fields(c.cmd)...)
		if err != nil {
			return "usage not available: " + err.Error()
		}
		return u.String()
	}
	base := med["true"]
	for _, c := range cmds {
		if c.name == "pent" || floorRows[c.name] != "" {
			continue
		}
		metric := fmt.Sprintf("`%s` as %s", shortCmd(c.cmd), who)
		if c.name == "bwrap-policy" {
			metric = fmt.Sprintf("`bwrap` with pent's mounts and namespaces (no seccomp, no Landlock; %d options) as %s", len(strings.Fields(c.cmd))-2, who)
		}
		rw := row{section: startupSection, metric: metric, value: ms(med[c.name]) + "; " + use(c)}
		if c.name == "bwrap-policy" || c.name == "firejail" {
			rw.explains = true
		}
		if c.name != "true" && base > 0 {
			rw.ratio = ratio(float64(med[c.name]), float64(base)) + " true"
		}
		rep.add(rw)
	}
	p, ok := med["pent"]
	if !ok {
		return
	}
	pent := cmds[slices.IndexFunc(cmds, func(c hfCmd) bool { return c.name == "pent" })]
	rw := row{section: startupSection, metric: fmt.Sprintf("`pent run -- true` (blocked) as %s", who),
		value: ms(p) + "; " + use(pent), target: startTarget}
	b, hasB := med["bwrap-policy"]
	f, hasF := med["firejail"]
	var parts []string
	if hasB {
		parts = append(parts, ratio(float64(p), float64(b))+" bwrap (pent's policy)")
	}
	if hasF {
		parts = append(parts, ratio(float64(p), float64(f))+" firejail")
	}
	rw.ratio = strings.Join(parts, ", ")
	if hasB && hasF {
		rw.met = metIf(float64(p) <= 2.0*float64(b) && float64(p) <= 0.5*float64(f))
		if float64(p) > 2.0*float64(b) {
			rw.value += fmt.Sprintf(" (gap to 2.0× bwrap: %s)", ms(p-time.Duration(2.0*float64(b))))
		}
	} else {
		rw.met = metNA
	}
	rep.add(rw)
	for _, name := range []string{"floor", "floor-stage"} {
		if d, ok := med[name]; ok {
			fr := row{section: startupSection, metric: fmt.Sprintf("%s as %s", floorRows[name], who), value: ms(d), explains: true}
			if hasB {
				fr.ratio = ratio(float64(d), float64(b)) + " bwrap (pent's policy)"
			}
			rep.add(fr)
		}
	}
}

// floorRows name the floor launchers (floor.go): Go programs that do only
// the namespace part of `pent run`, to show what a Go launcher cannot go
// below on this machine.
var floorRows = map[string]string{
	"floor":       "floor: a Go launcher that clones pent's namespaces and execs `true` (no mounts, Landlock, seccomp or config)",
	"floor-stage": "floor: the same with a Go init stage re-executed in between, as pent does",
}

// shortCmd drops the directory of the bench's own binaries from a command line.
func shortCmd(cmd string) string { return strings.ReplaceAll(cmd, "/bin/true", "true") }
