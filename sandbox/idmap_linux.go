package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Root runs. A command started by root must not be uid 0 of the host: uid 0
// without capabilities still owns every root-owned file, so it could read
// every root-only file the mount tree shows (/etc/...). In a root run the
// stage's user namespace maps uid and gid 0 to an unprivileged host id,
// sandboxID, which owns no file, and the host's root to the overflow id
// 65534 (root's files show as nobody's, as in any rootless container). The
// stage itself stays host root — it must reach every path it mounts, as
// before — and the thread it forks the command from takes uid and gid 0 of
// the namespace, without supplementary groups, just before it drops every
// capability (becomeSandboxIDs). The broad read-only view of the host
// (/usr, /etc, ...) is then checked with sandboxID's permissions, so
// root-only files there are unreadable.
//
// The paths the command must use as root did — every writable path, every
// other allowed path inside a masked directory (typically in root's 0700
// home), and the staging directory of the overlays — are shown through
// idmapped mounts: pent, root in the host's namespaces, clones each
// (open_tree) and idmaps the clone with the stage's user namespace
// (mount_setattr MOUNT_ATTR_IDMAP), so that on-disk uid 0 appears as the
// sandbox's uid 0 (git and other owner checks pass) and what the command
// creates lands owned by root, as before. It passes the clones to the stage
// (msgMount), which attaches them (move_mount) where it would have bound the
// paths. A path whose filesystem cannot be idmapped refuses the run: a root
// run never falls back to host uid 0.

// idmapEnv, set in the stage's environment, has it receive the idmapped
// mounts pent sends before it builds anything.
const idmapEnv = "PENT_STAGE_IDMAP=1"

// idmapStageCaps are the capabilities the stage of a root run keeps in
// addition to stageCaps: becomeSandboxIDs needs CAP_SETUID and CAP_SETGID.
// overlayfs changes its upper layer with the mounter's credentials, which
// no longer own the files there (root's files, idmapped, are the
// sandbox's): CAP_FOWNER, CAP_FSETID and CAP_CHOWN let it carry out the
// chmod, utimes and chown the command may do as their owner.
var idmapStageCaps = []uintptr{unix.CAP_SETUID, unix.CAP_SETGID, unix.CAP_FOWNER, unix.CAP_FSETID, unix.CAP_CHOWN}

// The host ids of root runs: sandboxIDBase plus pent's process id, so that
// two sandboxes running at once never share an id (signals, keyrings and
// per-user limits stay apart). The range 0x70000000–0x703FFFFF lies in
// what systemd leaves unassigned (above the container range, below the
// foreign range); pidMaxLimit is the kernel's PID_MAX_LIMIT on 64-bit.
// overflowID is where host root appears in a root run's namespace.
const (
	sandboxIDBase = 0x70000000
	pidMaxLimit   = 1 << 22
	overflowID    = 65534
)

// idMaps are the uid and gid maps of the stage's user namespace, and
// whether it is a root run (granted paths shown through idmapped mounts).
type idMaps struct {
	uids, gids []syscall.SysProcIDMap
	idmapped   bool
}

// sandboxIDMaps are the maps of a sandbox started by this process: the
// caller's own ids for an ordinary user; for root, 0 → sandboxID and
// overflowID → 0. It refuses an id an account or a group of this host uses.
func sandboxIDMaps() (idMaps, error) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid != 0 {
		return idMaps{uids: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			gids: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}}, nil
	}
	id, err := sandboxID(os.Getpid())
	if err != nil {
		return idMaps{}, err
	}
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: id, Size: 1}, {ContainerID: overflowID, HostID: 0, Size: 1}}
	return idMaps{uids: m, gids: m, idmapped: true}, nil
}

// sandboxID is the host uid and gid of the sandbox of a root pent whose
// process id is pid.
func sandboxID(pid int) (int, error) {
	if pid <= 0 || pid >= pidMaxLimit {
		return 0, fmt.Errorf("process id %d is outside the range pent derives a sandbox's user id from", pid)
	}
	id := sandboxIDBase + pid
	s := strconv.Itoa(id)
	if u, err := user.LookupId(s); err == nil {
		return 0, fmt.Errorf("uid %d, which pent runs this root sandbox as, belongs to the account %q; pent uses uids %d-%d for root's sandboxes, move that account out of the range", id, u.Username, sandboxIDBase, sandboxIDBase+pidMaxLimit-1)
	} else if !errors.As(err, new(user.UnknownUserIdError)) {
		return 0, fmt.Errorf("checking that uid %d belongs to no account: %w", id, err)
	}
	if g, err := user.LookupGroupId(s); err == nil {
		return 0, fmt.Errorf("gid %d, which pent runs this root sandbox as, belongs to the group %q; pent uses gids %d-%d for root's sandboxes, move that group out of the range", id, g.Name, sandboxIDBase, sandboxIDBase+pidMaxLimit-1)
	} else if !errors.As(err, new(user.UnknownGroupIdError)) {
		return 0, fmt.Errorf("checking that gid %d belongs to no group: %w", id, err)
	}
	return id, nil
}

// becomeSandboxIDs gives the calling thread — the one the command is
// forked from, which inherits its credentials — uid and gid 0 of the user
// namespace (sandboxID on the host) and no supplementary groups (root's
// would still grant their access). Only this thread: the stage's other
// threads keep root's ids. The capabilities survive (the old ids are not
// the namespace's root) until dropPrivileges. The id change makes the
// stage dumpable again (to fs.suid_dumpable): startCommand undoes that
// (nonDumpable) before it forks.
func becomeSandboxIDs() error {
	calls := []struct {
		name string
		nr   uintptr
	}{{"setgroups", unix.SYS_SETGROUPS}, {"setresgid", unix.SYS_SETRESGID}, {"setresuid", unix.SYS_SETRESUID}}
	for _, c := range calls {
		// setgroups(0, NULL) and set*res*id(0, 0, 0): all arguments 0.
		if _, _, errno := unix.RawSyscall(c.nr, 0, 0, 0); errno != 0 {
			return fmt.Errorf("taking the sandbox's own ids: %s: %w", c.name, errno)
		}
	}
	return nil
}

// closedAncestors are the directories on the way to p's allowed paths that
// the sandbox's uid of a root run cannot search — no execute bit for
// others: that uid owns no file and has no group — outside p's masks and
// not allowed themselves; the shallowest of each way. A root run masks
// them: the allowed paths beneath are put back (as idmapped mounts, like
// every allowed path inside a mask), and nothing else beneath was
// reachable for that uid anyway. One that does not answer in time is
// masked all the same.
func closedAncestors(p Policy) []string {
	allowed := p.allowed()
	var hiders []string
	for _, m := range masks(p) {
		hiders = append(hiders, m.path)
	}
	ways := make([][]string, len(allowed)) // the ancestors of each, shallowest first
	var dirs []string
	for i, a := range allowed {
		for d := filepath.Dir(a); d != "/" && d != "."; d = filepath.Dir(d) {
			ways[i] = append([]string{d}, ways[i]...)
		}
		dirs = append(dirs, ways[i]...)
	}
	dirs = dedupe(dirs)
	closed := map[string]bool{}
	for i, r := range statAll(os.Lstat, dirs, probeTimeout) {
		closed[dirs[i]] = errors.Is(r.err, errProbeTimeout) || (r.err == nil && r.info.IsDir() && r.info.Mode().Perm()&0o001 == 0)
	}
	var out []string
	for _, way := range ways {
		for _, d := range way {
			if underAny(d, hiders) {
				break // a mask's skeleton from here on
			}
			if closed[d] {
				if !slices.Contains(allowed, d) {
					out = append(out, d)
				}
				break // what lies beneath is in its mask, or out of reach
			}
		}
	}
	return dedupe(out)
}

// idmapTargets are the paths a root run shows through idmapped mounts
// (p as the stage will read it, after prepareStaging): the staging
// directory, every writable path, and every other allowed path inside a
// masked directory, which the stage could not even reach as sandboxID.
func idmapTargets(p Policy, stg *staging) ([]string, error) {
	p = p.withoutCovered()
	ms, err := resolveMasks(masks(p))
	if err != nil {
		return nil, err
	}
	var out []string
	if stg != nil {
		out = append(out, stg.dir)
	}
	for _, a := range p.allowed() {
		if slices.Contains(p.Write, a) || slices.ContainsFunc(ms, func(k mask) bool { return within(a, k.path) }) {
			out = append(out, a)
		}
	}
	return dedupe(out), nil
}

// sendIdmapped sends the stage (pid, still waiting for them) one msgMount
// per path: the idmapped clone of its tree, or none when it does not exist;
// then the empty msgMount that ends the list.
func sendIdmapped(ctrl *net.UnixConn, pid int, paths []string) error {
	userns, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the sandbox's user namespace: %w", err)
	}
	defer unix.Close(userns)
	for _, path := range paths {
		fd, err := idmappedTree(path, userns)
		if errors.Is(err, fs.ErrNotExist) {
			fd = -1
		} else if err != nil {
			return err
		}
		err = sendMsg(ctrl, msgMount, []byte(path), fd)
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			return fmt.Errorf("handing the idmapped mounts to the sandbox: %w", err)
		}
	}
	if err := sendMsg(ctrl, msgMount, nil, -1); err != nil {
		return fmt.Errorf("handing the idmapped mounts to the sandbox: %w", err)
	}
	return nil
}

// idmappedTree clones the mount tree at path (a detached mount, like a
// recursive bind) and idmaps it with userns; the sandbox's mounts on it do
// not propagate back to the host (slave, as the rest of its tree).
func idmappedTree(path string, userns int) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, err
	}
	if err != nil {
		return -1, fmt.Errorf("cloning %s for the sandbox: %w", path, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns), Propagation: unix.MS_SLAVE}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("as root, pent shows %s to the sandbox through an idmapped mount, which this kernel or that filesystem does not support (%w); "+
			"grant paths on ext4, xfs, btrfs or tmpfs (Linux 6.3 or later), or run pent as an ordinary user", path, err)
	}
	return fd, nil
}

// receiveIdmapped reads what sendIdmapped sent: path → detached idmapped
// mount, -1 for a path that does not exist.
func receiveIdmapped(ctrl *net.UnixConn) (map[string]int, error) {
	out := map[string]int{}
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := ctrl.ReadMsgUnix(buf, oob)
		if err == nil && n == 0 {
			err = errors.New("pent closed the control socket")
		}
		if err != nil {
			closeIdmapped(out)
			return nil, fmt.Errorf("receiving the idmapped mounts: %w", err)
		}
		fds := receivedFDs(oob[:oobn])
		if buf[0] != msgMount || len(fds) > 1 {
			closeFDs(fds)
			closeIdmapped(out)
			return nil, fmt.Errorf("receiving the idmapped mounts: unexpected message %q", buf[0])
		}
		if n == 1 {
			return out, nil
		}
		fd := -1
		if len(fds) == 1 {
			fd = fds[0]
		}
		out[string(buf[1:n])] = fd
	}
}

// closeIdmapped closes the mounts receiveIdmapped returned.
func closeIdmapped(m map[string]int) {
	for _, fd := range m {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// idmapCheck reports whether a root run could show dir (typically the
// project pent doctor runs in) through an idmapped mount, as it shows every
// granted path: it idmaps a clone of dir with a user namespace mapped as a
// root run's is, held by a child that waits on its stdin, and discards it.
func idmapCheck(dir string) Check {
	c := Check{Name: "idmapped mounts (root runs)", Required: true}
	fail := func(err error) Check {
		c.Detail = err.Error()
		c.Fix = "as root, pent shows every writable path through an idmapped mount and refuses without one: " +
			"keep projects on ext4, xfs, btrfs or tmpfs with Linux 6.3 or later, or run pent as an ordinary user"
		return c
	}
	maps, err := sandboxIDMaps()
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command("/proc/self/exe", idmapProbeArg)
	cmd.Args[0] = "pent-probe"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: maps.uids,
		GidMappings: maps.gids,
		Pdeathsig:   syscall.SIGKILL,
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("creating a user namespace mapped as a root run's: %w", err))
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	userns, err := unix.Open("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("opening the probe's user namespace: %w", err))
	}
	defer unix.Close(userns)
	fd, err := idmappedTree(dir, userns)
	if err != nil {
		return fail(err)
	}
	unix.Close(fd)
	c.OK, c.Detail = true, fmt.Sprintf("work on %s; a root run's command is uid %d on the host, and its writable paths are idmapped", dir, maps.uids[0].HostID)
	return c
}
