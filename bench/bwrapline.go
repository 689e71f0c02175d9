package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// mountEntry is one line of /proc/PID/mountinfo: where, how, and what.
type mountEntry struct {
	point    string
	readOnly bool
	fstype   string
}

// parseMountinfo reads mountinfo content, in mount order.
func parseMountinfo(b []byte) ([]mountEntry, error) {
	var ents []mountEntry
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 6 || sep < 6 || sep+1 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %q", strings.TrimSpace(line))
		}
		point, err := unescapeMount(f[4])
		if err != nil {
			return nil, err
		}
		ro := slices.Contains(strings.Split(f[5], ","), "ro")
		ents = append(ents, mountEntry{point: point, readOnly: ro, fstype: f[sep+1]})
	}
	return ents, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return "", fmt.Errorf("mount point %q: %w", s, err)
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// bwrapArgs turns the mounts of pent's sandbox (sandbox, its mountinfo)
// into bubblewrap's options: the read-only bind of / with the host's
// submounts it carries along (the leading entries that are host's mounts),
// then each of pent's own mounts in order — proc, a /dev of device nodes
// (bubblewrap's --dev), tmpfs (made read-only at the end, once the paths
// put back beneath it are mounted), binds read-only or writable — and
// pent's namespaces.
func bwrapArgs(sandbox, host []mountEntry) ([]string, error) {
	if len(sandbox) == 0 || sandbox[0].point != "/" {
		return nil, errors.New("the sandbox's mountinfo does not start with /")
	}
	args := []string{"--ro-bind", "/", "/"}
	carried := map[mountEntry]int{} // the host's mounts the bind of / copies, by place and type
	for _, h := range host {
		if h.point != "/" {
			carried[mountEntry{point: h.point, fstype: h.fstype}]++
		}
	}
	i := 1
	for ; i < len(sandbox); i++ {
		k := mountEntry{point: sandbox[i].point, fstype: sandbox[i].fstype}
		if carried[k] == 0 {
			break
		}
		carried[k]--
	}
	var remount []string
	for ; i < len(sandbox); i++ {
		e := sandbox[i]
		switch {
		case e.fstype == "proc":
			args = append(args, "--proc", e.point)
		case e.point == "/dev" && e.fstype == "tmpfs":
			args = append(args, "--dev", "/dev")
			for i+1 < len(sandbox) && strings.HasPrefix(sandbox[i+1].point, "/dev/") &&
				(sandbox[i+1].fstype == "devtmpfs" || sandbox[i+1].fstype == "devpts") {
				i++
			}
		case e.fstype == "tmpfs":
			args = append(args, "--tmpfs", e.point)
			if e.readOnly {
				remount = append(remount, "--remount-ro", e.point)
			}
		case e.readOnly:
			args = append(args, "--ro-bind", e.point, e.point)
		default:
			args = append(args, "--bind", e.point, e.point)
		}
	}
	args = append(args, remount...)
	return append(args, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent"), nil
}

// policyBwrap is the bubblewrap command line that runs argv with the
// mounts pent's sandbox has for r (read inside `pent run --network
// blocked`) and pent's namespaces: what bubblewrap pays for pent's policy.
// It has neither Landlock (bubblewrap has none) nor pent's seccomp filter
// (bubblewrap takes a filter only as compiled BPF).
func policyBwrap(ctx context.Context, r runner, pent string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, pent, "run", "--network", "blocked", "--", "/bin/cat", "/proc/self/mountinfo")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = r.dir, r.env, r.cred
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	inside, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("reading the sandbox's mounts: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	hostInfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	sb, err := parseMountinfo(inside)
	if err != nil {
		return "", err
	}
	host, err := parseMountinfo(hostInfo)
	if err != nil {
		return "", err
	}
	args, err := bwrapArgs(sb, host)
	if err != nil {
		return "", err
	}
	for _, a := range append(args, argv...) {
		if strings.ContainsAny(a, " \t\n") {
			return "", fmt.Errorf("mount point %q has white space; hyperfine -N splits on it", a)
		}
	}
	return "bwrap " + strings.Join(append(args, argv...), " "), nil
}
