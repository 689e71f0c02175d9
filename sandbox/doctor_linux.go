package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Nested reports whether this process runs inside a pent sandbox, judged by
// the sandbox's own state: the marker the init stage creates in the
// sandbox's private /run, and no_new_privs, which every sandboxed process
// has and cannot clear.
func Nested() (bool, error) {
	if _, err := os.Lstat(markerPath); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("checking for a surrounding sandbox: %w", err)
	}
	nnp, err := statusField("NoNewPrivs")
	if err != nil {
		return false, fmt.Errorf("checking for a surrounding sandbox: %w", err)
	}
	return nnp == "1", nil
}

// statusField is one field of /proc/self/status.
func statusField(name string) (string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && k == name {
			return strings.TrimSpace(v), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no %s in /proc/self/status", name)
}

// probeResult is what the namespace probe reports: an error text per step,
// empty when the step worked.
type probeResult struct {
	Mount   string `json:"mount"`
	Proc    string `json:"proc"`
	Overlay string `json:"overlay"`
}

// HostChecks tries each kernel feature pent relies on and says how to fix
// what is missing: Landlock, the all-threads system calls (no cgo),
// unprivileged user namespaces with mounts and a PID namespace procfs,
// overlayfs in a user namespace, seccomp; as root, idmapped mounts of the
// current directory (idmapCheck).
func HostChecks() []Check {
	checks := []Check{landlockCheck(LandlockABI(), "/sys/kernel/security/lsm")}
	if c, ok := wslCheck("/proc/sys", "/proc/self/mountinfo"); ok {
		checks = append(checks, c)
	}
	probe, probeErr := runProbeChild()
	checks = append(checks, usernsCheck(probe, probeErr, hostAppArmor()))
	checks = append(checks, stepCheck("procfs in a PID namespace", probe, probeErr, probe.Proc, true,
		"pent needs to mount a fresh /proc; inside a container, run pent on the host or give the container an unmasked /proc"))
	checks = append(checks, stepCheck("overlayfs in a user namespace", probe, probeErr, probe.Overlay, false,
		"pent shadows a hidden directory that holds writable files (~/.claude.json in ~) with an overlay and refuses such a policy without it: "+
			"use Linux 5.11 or later with CONFIG_OVERLAY_FS=y; inside a container, allow mounting overlayfs in user namespaces"))
	checks = append(checks, seccompCheck())
	if os.Getuid() == 0 {
		dir, err := os.Getwd()
		if err != nil {
			dir = "/"
		}
		checks = append(checks, idmapCheck(dir))
	}
	return checks
}

// landlockCheck reports the Landlock ABI the kernel answered the
// landlock_create_ruleset probe with (the syscall, not the LSM list in
// lsmFile, which WSL2 and some containers do not expose although Landlock
// works), and what an older ABI leaves to pent's other layers.
func landlockCheck(abi int, lsmFile string) Check {
	c := Check{Name: "Landlock", Required: true}
	if abi > 0 {
		c.OK, c.Detail = true, fmt.Sprintf("ABI %d", abi)
		if lost := landlockLost(abi); len(lost) > 0 {
			c.Detail += "; older than ABI 6, so Landlock does not " + strings.Join(lost, "; nor ")
		}
		return c
	}
	c.Detail = "not available: pent run refuses to start"
	lsm := "landlock,lockdown,yama,integrity,apparmor,bpf"
	if cur, err := os.ReadFile(lsmFile); err == nil && len(bytes.TrimSpace(cur)) > 0 {
		lsm = "landlock," + strings.TrimSpace(string(cur))
	}
	c.Fix = fmt.Sprintf("use a kernel built with CONFIG_SECURITY_LANDLOCK=y (Linux 5.13+) and add lsm=%s to the kernel command line "+
		"(e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, then `sudo update-grub` and reboot)", lsm)
	return c
}

// landlockLost is what Landlock at abi does not do that ABI 6 does, and
// what stands in for it.
func landlockLost(abi int) []string {
	var lost []string
	if abi < 2 {
		lost = append(lost, "allow renaming or linking a file into another directory (such writes fail)")
	}
	if abi < 3 {
		lost = append(lost, "control truncate(2) apart from writing")
	}
	if abi < 4 {
		lost = append(lost, "filter TCP bind and connect (pent's network namespace does)")
	}
	if abi < 5 {
		lost = append(lost, "control ioctl on device files")
	}
	if abi < 6 {
		lost = append(lost, "scope abstract UNIX sockets and signals: the PID namespace keeps signals in, the network namespace keeps "+
			"the host's abstract sockets out, except in network mode unrestricted, which shares the host's network namespace and so reaches "+
			"abstract sockets of host programs (X11, D-Bus, ...)")
	}
	return lost
}

// wslCheck reports a Windows Subsystem for Linux host (osrelease names a
// Microsoft kernel): which Windows file systems it mounts, none of which a
// default policy grants. ok is false on other hosts.
func wslCheck(procSys, mountinfoFile string) (c Check, ok bool) {
	rel, err := readSysctl(procSys, "kernel/osrelease")
	if err != nil || !strings.Contains(strings.ToLower(rel), "microsoft") {
		return Check{}, false
	}
	c = Check{Name: "WSL", OK: true}
	info, err := os.ReadFile(mountinfoFile)
	if err != nil {
		c.OK, c.Detail = false, fmt.Sprintf("kernel %s; reading the mounts: %v", rel, err)
		c.Fix = "pent tells Windows drives apart by the mount list: check that /proc is mounted and readable"
		return c, true
	}
	var hidden, visible []string
	for _, d := range WindowsDrives(info) {
		if underAny(d, systemMasked) {
			hidden = append(hidden, d)
		} else {
			visible = append(visible, d)
		}
	}
	c.Detail = "kernel " + rel + "; Windows directories in PATH are not made executable (a Windows program would run outside the sandbox)"
	if len(hidden) > 0 {
		c.Detail += "; hidden: " + strings.Join(hidden, ", ")
	}
	if len(visible) > 0 {
		c.Detail += "; readable under a granted system directory: " + strings.Join(visible, ", ")
	}
	return c, true
}

// hostAppArmor is this host's AppArmor facts, for the running binary's
// real path (the path AppArmor attaches profiles to).
func hostAppArmor() apparmorHost {
	exe, err := os.Executable()
	if err == nil {
		exe, err = EvalSymlinks(exe)
	}
	if err != nil {
		exe = apparmorProfileBinary
	}
	return apparmorHost{procSys: "/proc/sys", profileDir: "/etc/apparmor.d", loaded: "/sys/kernel/security/apparmor/profiles", exe: exe}
}

// usernsCheck reports whether a user namespace with mount, PID and network
// namespaces could be created and mounted in, with the sysctls that decide
// it; under Ubuntu's AppArmor restriction, whether a profile covers the
// binary, and the one to install when none does.
func usernsCheck(probe probeResult, probeErr error, aa apparmorHost) Check {
	c := Check{Name: "unprivileged user namespaces", Required: true}
	var fixes, facts []string
	if v, err := readSysctl(aa.procSys, "kernel/unprivileged_userns_clone"); err == nil {
		facts = append(facts, "kernel.unprivileged_userns_clone="+v)
		if v == "0" {
			fixes = append(fixes, "sudo sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/60-pent.conf")
		}
	}
	if v, err := readSysctl(aa.procSys, "user/max_user_namespaces"); err == nil {
		facts = append(facts, "user.max_user_namespaces="+v)
		if v == "0" {
			fixes = append(fixes, "sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000 | sudo tee -a /etc/sysctl.d/60-pent.conf")
		}
	}
	if v, ok := aa.restricted(); ok {
		facts = append(facts, "kernel.apparmor_restrict_unprivileged_userns="+v)
		if v == "1" {
			file, err := aa.coveringProfile()
			switch {
			case err != nil:
				facts = append(facts, err.Error())
			case file != "":
				facts = append(facts, "profile for "+aa.exe+" with userns: "+file)
				fixes = append(fixes, "load the profile if it is not loaded yet (AppArmor loads it at boot): sudo apparmor_parser -r "+shellWord(file))
			default:
				facts = append(facts, "no profile in "+aa.profileDir+" grants userns to "+aa.exe)
				fixes = append(fixes, apparmorFix(aa.exe))
			}
			facts = append(facts, aa.profileState())
		}
	}
	switch {
	case probeErr != nil:
		c.Detail = probeErr.Error()
	case probe.Mount != "":
		c.Detail = "created, but mounting in it failed: " + probe.Mount
	default:
		c.OK, c.Detail = true, "work (user, mount, PID, network namespaces created and mounted in)"
	}
	if len(facts) > 0 {
		c.Detail += " [" + strings.Join(facts, ", ") + "]"
	}
	if !c.OK {
		c.Fix = strings.Join(fixes, "; ")
		if c.Fix == "" {
			c.Fix = "enable CONFIG_USER_NS in the kernel; inside a container, allow unshare/clone of user namespaces (e.g. docker --security-opt seccomp=unconfined)"
		}
	}
	return c
}

// stepCheck reports one step of the namespace probe.
func stepCheck(name string, probe probeResult, probeErr error, stepErr string, required bool, fix string) Check {
	c := Check{Name: name, Required: required}
	switch {
	case probeErr != nil:
		c.Detail, c.Fix = "not tested: user namespaces do not work", "fix user namespaces first"
	case probe.Mount != "":
		c.Detail, c.Fix = "not tested: mounting in a user namespace fails", "fix user namespaces first"
	case stepErr != "":
		c.Detail, c.Fix = stepErr, fix
	default:
		c.OK, c.Detail = true, "works"
	}
	return c
}

func seccompCheck() Check {
	c := Check{Name: "seccomp filters", Required: false}
	mode, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	field, ferr := statusField("Seccomp")
	switch {
	case errors.Is(err, unix.EINVAL) || ferr != nil:
		c.Detail, c.Fix = "not supported by this kernel", "use a kernel built with CONFIG_SECCOMP_FILTER=y (not needed by this version of pent)"
	case err != nil:
		c.Detail, c.Fix = "PR_GET_SECCOMP: "+err.Error(), "use a kernel built with CONFIG_SECCOMP_FILTER=y"
	default:
		c.OK, c.Detail = true, fmt.Sprintf("supported (this process: mode %d, Seccomp: %s)", mode, field)
	}
	return c
}

// readSysctl reads the sysctl name (as a path under procSys, /proc/sys).
func readSysctl(procSys, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(procSys, name))
	return strings.TrimSpace(string(b)), err
}

// runProbeChild re-executes this binary in the namespaces a sandbox uses and
// collects what worked.
func runProbeChild() (probeResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe", probeArg)
	cmd.Args[0] = "pent-probe"
	cmd.Env = []string{}
	uid, gid := os.Getuid(), os.Getgid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		AmbientCaps: stageCaps,
		Pdeathsig:   syscall.SIGKILL,
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return probeResult{}, fmt.Errorf("creating user, mount, PID and network namespaces failed: %v %s", err, strings.TrimSpace(stderr.String()))
	}
	var r probeResult
	if err := json.Unmarshal(out, &r); err != nil {
		return probeResult{}, fmt.Errorf("namespace probe: %w", err)
	}
	return r, nil
}

// runProbe runs in the probe's namespaces: mount a tmpfs, a procfs and an
// overlay, and print which worked.
func runProbe() int {
	var r probeResult
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, "")
	if err == nil {
		err = unix.Mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0700")
	}
	r.Mount = errText(err)
	if err == nil {
		r.Proc = errText(unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""))
		r.Overlay = errText(probeOverlay("/tmp"))
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

// probeOverlay mounts an overlay in dir the way the sandbox shadows a
// directory (userxattr, as a user namespace needs; with the stage's
// capabilities, CAP_DAC_OVERRIDE among them, which overlayfs needs in its
// mode-000 work directory) and writes a file through it, then replaces it
// by a rename as programs do.
func probeOverlay(dir string) error {
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,userxattr", dir, dir, dir)
	if err := unix.Mount("overlay", filepath.Join(dir, "merged"), "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	merged := filepath.Join(dir, "merged")
	if err := os.WriteFile(filepath.Join(merged, "probe"), []byte("ok"), 0o600); err != nil {
		return fmt.Errorf("writing through the overlay: %w", err)
	}
	if err := os.WriteFile(filepath.Join(merged, "probe.tmp"), []byte("ok"), 0o600); err != nil {
		return fmt.Errorf("writing through the overlay: %w", err)
	}
	if err := os.Rename(filepath.Join(merged, "probe.tmp"), filepath.Join(merged, "probe")); err != nil {
		return fmt.Errorf("renaming through the overlay: %w", err)
	}
	return nil
}
