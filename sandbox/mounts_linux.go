package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pent-sandbox/pent/scope"
)

// markerPath is the file that tells a pent started inside the sandbox where
// it is (see Nested); it lives in the sandbox's private /run.
const markerPath = "/run/pent/sandbox"

// resolvConfPath holds, in proxy mode, the resolv.conf bound over
// /etc/resolv.conf; it lives in the sandbox's private /run.
const resolvConfPath = "/run/pent/resolv.conf"

// maskKind is what replaces a masked directory.
type maskKind int

const (
	maskHidden maskKind = iota // empty, read-only
	maskTmp                    // empty, world-writable with the sticky bit
	maskDev                    // the device nodes a program needs
)

// mask is a directory replaced by a fresh tmpfs in which only the allowed
// paths beneath it are put back.
type mask struct {
	path string
	kind maskKind
}

// devNodes are the host device nodes every sandbox gets in its /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// devLinks are the symlinks of the sandbox's /dev.
var devLinks = [][2]string{
	{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
}

// masks lists what setupMounts replaces, parents first: /dev, the policy's
// masked and private directories, /run, and every Traverse directory that no
// other rule covers. A masked directory that is itself an allowed path is
// left alone. Symlinks are not resolved here.
func masks(p Policy) []mask {
	allowed := p.allowed()
	var out []mask
	add := func(path string, kind maskKind) {
		if path == "" || path == "/" || slices.Contains(allowed, path) ||
			slices.ContainsFunc(out, func(m mask) bool { return m.path == path }) {
			return
		}
		out = append(out, mask{path, kind})
	}
	add("/dev", maskDev)
	for _, t := range p.PrivateTmp {
		add(t, maskTmp)
	}
	for _, m := range append(slices.Clone(p.Masked), "/run") {
		add(m, maskHidden)
	}
	hiders := append(slices.Clone(p.Masked), p.PrivateTmp...)
	for _, t := range p.Traverse {
		if !underAny(t, allowed) && !underAny(t, hiders) {
			add(t, maskHidden)
		}
	}
	slices.SortStableFunc(out, func(a, b mask) int { return depth(a.path) - depth(b.path) })
	return out
}

// allowed are the paths whose real content the sandbox shows.
func (p Policy) allowed() []string {
	return slices.Concat(p.Read, p.Execute, p.Write)
}

func depth(p string) int { return strings.Count(p, "/") }

// mounter builds the sandbox's mount namespace from a policy.
type mounter struct {
	p       Policy
	sources map[string]int // allowed path → O_PATH fd, opened before masking
	// idmapped are a root run's idmapped detached mounts (idmap_linux.go):
	// path → mount fd, -1 for a path that does not exist; nil otherwise.
	idmapped map[string]int
	devices  map[string]int  // host device node → O_PATH fd
	mounted  map[string]bool // paths that are mount roots in the sandbox
	shadows  []shadowDir     // directories shown through an overlay (overlay_linux.go)
	// writable are the mounts that stay writable when the tree is made read-only.
	writable []string
}

// setupMounts shapes the mount namespace: nothing propagates to the host; a
// fresh /proc; /dev, the masked and the private directories replaced by
// tmpfs with the allowed paths put back; writable paths (and the writable
// ancestors of protected ones) as mount points; the marker; then everything
// read-only except the writable mounts, and the protected paths read-only
// binds on top. The shadowed directories become overlays on their staging.
// In a root run the writable paths and the allowed paths inside masks are
// attached from idmapped (which setupMounts closes) instead of bound.
func setupMounts(p Policy, shadows []shadowDir, idmapped map[string]int) error {
	m := &mounter{p: p, sources: map[string]int{}, idmapped: idmapped, devices: map[string]int{}, mounted: map[string]bool{}, shadows: shadows}
	defer m.closeSources()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	ms, err := resolveMasks(masks(p))
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return m.openSources(ms) },
		m.mountProc,
		func() error { return m.applyMasks(ms) },
		m.bindWritable,
		m.pinProtectedAncestors,
		m.writeMarker,
		m.bindResolvConf,
		m.makeReadOnly,
		m.bindProtected,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// resolveMasks replaces masks that are symlinks (like /var/run → /run) by
// their targets and drops the duplicates that result.
// The masks are probed all at once within probeTimeout; one that does not
// answer is masked as it is, as Defaults hides such a path all the same.
func resolveMasks(ms []mask) ([]mask, error) {
	paths := make([]string, len(ms))
	for i, m := range ms {
		paths[i] = m.path
	}
	var out []mask
	for i, r := range statAll(os.Lstat, paths, probeTimeout) {
		m := ms[i]
		if errors.Is(r.err, fs.ErrNotExist) || errors.Is(r.err, errProbeTimeout) {
			out = append(out, m)
			continue
		}
		if r.err != nil {
			return nil, fmt.Errorf("masking %s: %w", m.path, r.err)
		}
		if r.info.Mode()&fs.ModeSymlink != 0 {
			var err error
			if m.path, err = EvalSymlinks(m.path); err != nil {
				return nil, fmt.Errorf("masking %s: %w", paths[i], err)
			}
		}
		if !slices.ContainsFunc(out, func(o mask) bool { return o.path == m.path }) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b mask) int { return depth(a.path) - depth(b.path) })
	return out, nil
}

// openSources opens the allowed paths beneath masks, and the host device
// nodes, while they are still reachable.
func (m *mounter) openSources(ms []mask) error {
	for _, n := range devNodes {
		if err := openSource(m.devices, "/dev/"+n); err != nil {
			return err
		}
	}
	if fd, ok, err := openTerminal(); err != nil {
		return err
	} else if ok {
		m.devices["/dev/console"] = fd
	}
	for _, a := range m.p.allowed() {
		if !m.routed(a) && slices.ContainsFunc(ms, func(k mask) bool { return within(a, k.path) }) {
			if fd, ok := m.idmapped[a]; ok {
				if fd >= 0 {
					m.sources[a] = fd
				}
				continue
			}
			if err := openSource(m.sources, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// openSource adds an O_PATH fd of path to fds; a missing path is skipped.
func openSource(fds map[string]int, path string) error {
	if _, ok := fds[path]; ok {
		return nil
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening allowed path %s: %w", path, err)
	}
	fds[path] = fd
	return nil
}

func (m *mounter) closeSources() {
	closed := map[int]bool{} // an idmapped mount can also be a source
	for _, fds := range []map[string]int{m.sources, m.devices, m.idmapped} {
		for _, fd := range fds {
			if fd >= 0 && !closed[fd] {
				closed[fd] = true
				unix.Close(fd)
			}
		}
	}
}

// mountProc mounts a procfs of the sandbox's PID namespace over /proc.
func (m *mounter) mountProc() error {
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

// applyMasks replaces each mask that is still visible, parents first.
func (m *mounter) applyMasks(ms []mask) error {
	for _, k := range ms {
		fi, err := os.Lstat(k.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // absent on the host, or hidden by a parent mask
		}
		if err != nil {
			return fmt.Errorf("masking %s: %w", k.path, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("masking %s: not a directory", k.path)
		}
		if err := m.applyMask(k, ms); err != nil {
			return fmt.Errorf("masking %s: %w", k.path, err)
		}
	}
	return nil
}

// applyMask mounts the tmpfs and rebuilds in it the skeleton of what is
// allowed beneath: allowed paths bound back from their sources, empty
// directories for Traverse paths and for the masks nested in this one.
func (m *mounter) applyMask(k mask, ms []mask) error {
	flags, mode := uintptr(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC), "0755"
	if k.kind == maskTmp {
		flags, mode = unix.MS_NOSUID|unix.MS_NODEV, "1777"
		m.writable = append(m.writable, k.path)
	}
	if err := unix.Mount("tmpfs", k.path, "tmpfs", flags, "mode="+mode); err != nil {
		return err
	}
	m.mounted[k.path] = true
	if k.kind == maskDev {
		if err := m.populateDev(); err != nil {
			return err
		}
	}
	dirs := slices.Clone(m.p.Traverse)
	for _, n := range ms {
		dirs = append(dirs, n.path)
	}
	for _, d := range dirs {
		if d != k.path && within(d, k.path) {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
	}
	if err := m.mountShadows(k, ms); err != nil {
		return err
	}
	for _, a := range m.bindRoots(k.path) {
		if err := m.bindSource(a, m.sources[a]); err != nil {
			return err
		}
	}
	return nil
}

// bindRoots are the allowed paths beneath dir that have a source and are not
// inside another such path (those come along with it).
func (m *mounter) bindRoots(dir string) []string {
	var out []string
	for a := range m.sources {
		if a == dir || !within(a, dir) {
			continue
		}
		covered := false
		for b := range m.sources {
			if b != a && b != dir && within(b, dir) && within(a, b) {
				covered = true
			}
		}
		if !covered {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return depth(a) - depth(b) })
	return out
}

// bindSource bind-mounts the source opened for path onto path (attaches it,
// when it is path's idmapped mount), creating the mount point as a
// directory or an empty file like the source.
func (m *mounter) bindSource(path string, fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := mountPoint(path, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
		return err
	}
	if id, ok := m.idmapped[path]; ok && id == fd {
		if err := unix.MoveMount(fd, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attaching the idmapped mount of %s: %w", path, err)
		}
	} else if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(fd), path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding %s: %w", path, err)
	}
	m.mounted[path] = true
	return nil
}

// mountPoint creates an empty directory or file to mount on, unless one
// exists (opening an overlay's file for writing would copy it up).
func mountPoint(path string, dir bool) error {
	if dir {
		return os.MkdirAll(path, 0o755)
	}
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// populateDev fills the fresh /dev: host device nodes and the terminal the
// sandbox was started on as /dev/console (where ttyname finds it), a private
// devpts instance (new ptys work; the host's other terminals are absent), shm
// and the usual symlinks.
func (m *mounter) populateDev() error {
	for path, fd := range m.devices {
		if err := m.bindSource(path, fd); err != nil {
			return err
		}
	}
	for _, d := range []string{"/dev/pts", "/dev/shm"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mounting a private /dev/pts: %w", err)
	}
	m.writable = append(m.writable, "/dev/pts")
	for _, l := range devLinks {
		if err := os.Symlink(l[1], "/dev/"+l[0]); err != nil {
			return err
		}
	}
	return nil
}

// openTerminal opens, in this mount namespace, the terminal the first
// terminal stdio descriptor refers to (a descriptor inherited from the host
// namespace cannot be a bind source). ok is false without one.
func openTerminal() (fd int, ok bool, err error) {
	for std := 0; std <= 2; std++ {
		if _, err := unix.IoctlGetTermios(std, unix.TCGETS); err != nil {
			continue
		}
		path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(std))
		if err != nil || !strings.HasPrefix(path, "/dev/") {
			return -1, false, nil
		}
		var want, got unix.Stat_t
		if err := unix.Fstat(std, &want); err != nil {
			return -1, false, fmt.Errorf("terminal: %w", err)
		}
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, false, fmt.Errorf("terminal %s: %w", path, err)
		}
		if err := unix.Fstat(fd, &got); err != nil || got.Rdev != want.Rdev {
			unix.Close(fd)
			return -1, false, nil
		}
		return fd, true, nil
	}
	return -1, false, nil
}

// bindWritable makes every existing Write path a mount point of its own, so
// that it can stay writable when the rest is made read-only; the writable
// files of shadowed directories are writable with their overlay. In a root
// run each must have come with its idmapped mount (or word of its absence).
func (m *mounter) bindWritable() error {
	paths := slices.DeleteFunc(slices.Clone(m.p.Write), m.routed)
	slices.SortFunc(paths, func(a, b string) int { return depth(a) - depth(b) })
	for _, w := range paths {
		if _, ok := m.idmapped[w]; m.idmapped != nil && !ok {
			return fmt.Errorf("pent prepared no idmapped mount for the writable path %s; report this as a bug", w)
		}
		if err := m.selfBind(w); err != nil {
			return err
		}
	}
	return nil
}

// selfBind binds an existing path onto itself, once, and keeps it writable.
// A root run's path that pent found absent when it cloned the idmapped
// mounts but that exists now is refused: a plain bind would show it
// unmapped.
func (m *mounter) selfBind(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	fd, ok := m.idmapped[path]
	if ok && fd < 0 {
		return fmt.Errorf("%s appeared while the sandbox was being built, after pent prepared its idmapped mounts without it; run the command again", path)
	}
	if ok && !m.mounted[path] {
		if err := m.bindSource(path, fd); err != nil {
			return err
		}
	}
	if !m.mounted[path] {
		if err := unix.Mount(path, path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("binding %s onto itself: %w", path, err)
		}
		m.mounted[path] = true
	}
	m.writable = append(m.writable, path)
	return nil
}

// pinProtectedAncestors turns the writable ancestors of every existing
// protected path, and every guarded directory with its writable ancestors,
// into mount points: a mount point cannot be renamed, so `mv .git x; mkdir
// -p .git/hooks` cannot plant a fresh hooks directory, nor a fresh
// objects/info escape the host-side watcher.
func (m *mounter) pinProtectedAncestors() error {
	var firsts []string // the first directory to pin for each path
	for _, p := range m.p.Protected {
		if _, err := os.Lstat(p); err == nil {
			firsts = append(firsts, filepath.Dir(p))
		}
	}
	for _, g := range m.p.Guarded {
		if isDir(g) {
			firsts = append(firsts, g)
		}
	}
	for _, first := range firsts {
		top := ""
		for _, w := range m.p.Write {
			if within(first, w) && (top == "" || depth(w) < depth(top)) {
				top = w
			}
		}
		if top == "" {
			continue // no writable ancestor: read-only anyway
		}
		var chain []string
		for d := first; within(d, top); d = filepath.Dir(d) {
			chain = append(chain, d)
			if d == top {
				break
			}
		}
		slices.Reverse(chain)
		for _, d := range chain {
			// A symlink here (planted by an earlier run: .git -> elsewhere)
			// would make its target a writable mount.
			if fi, err := os.Lstat(d); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s, on the way to protected %s, is a symbolic link, which pent cannot keep in place; replace it with the directory it points to", d, first)
			}
			if err := m.selfBind(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMarker creates the file Nested looks for, in the private /run.
func (m *mounter) writeMarker() error {
	if !m.mounted["/run"] {
		return errors.New("this host has no /run directory to hold the sandbox marker")
	}
	if err := os.MkdirAll(filepath.Dir(markerPath), 0o755); err != nil {
		return fmt.Errorf("creating the sandbox marker: %w", err)
	}
	if err := os.WriteFile(markerPath, []byte("pent sandbox\n"), 0o444); err != nil {
		return fmt.Errorf("creating the sandbox marker: %w", err)
	}
	return nil
}

// bindResolvConf, in proxy mode, puts ResolvConf over /etc/resolv.conf
// (or the file it links to): resolvers ask the sandbox's loopback, where the
// capture rules hand every query to pent, also when the host's resolvers are
// IPv6 addresses the sandbox cannot reach. makeReadOnly then makes it
// read-only. Without a resolv.conf resolvers default to the loopback anyway.
func (m *mounter) bindResolvConf() error {
	if m.p.Network != scope.NetProxy {
		return nil
	}
	if _, err := os.Stat("/etc/resolv.conf"); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.WriteFile(resolvConfPath, []byte(ResolvConf), 0o444); err != nil {
		return fmt.Errorf("writing the sandbox's resolv.conf: %w", err)
	}
	if err := unix.Mount(resolvConfPath, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding the sandbox's resolv.conf over /etc/resolv.conf: %w", err)
	}
	return nil
}

// makeReadOnly makes every mount read-only, recursively, then writable again
// the writable ones (not recursively: read-only mounts inside them stay so).
// This stops what Landlock cannot: chmod, chown, utimes and xattr changes on
// files outside the writable paths — for a root user, on every root-owned
// file of the host. A writable path on a filesystem the host mounted
// read-only stays read-only.
func (m *mounter) makeReadOnly() error {
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &ro); err != nil {
		return fmt.Errorf("making the sandbox's mounts read-only: %w", err)
	}
	rw := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	for _, w := range m.writable {
		err := unix.MountSetattr(unix.AT_FDCWD, w, 0, &rw)
		if err != nil && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("making %s writable: %w", w, err)
		}
	}
	return nil
}

// bindProtected puts a read-only bind of each existing protected path on
// top of it. A symlink cannot be protected this way (the link itself stays
// replaceable), so it stops the start. A path below a file (.git/config
// where .git is a gitdir file) does not exist.
func (m *mounter) bindProtected() error {
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	for _, p := range m.p.Protected {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			continue // cannot exist: .git/commondir where .git is a gitdir file
		}
		if err != nil {
			return fmt.Errorf("protecting %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("protected path %s is a symbolic link, which pent cannot keep read-only; replace it with the file or directory it points to", p)
		}
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("protecting %s: %w", p, err)
		}
		if err := unix.MountSetattr(unix.AT_FDCWD, p, unix.AT_RECURSIVE, &ro); err != nil {
			return fmt.Errorf("protecting %s: %w", p, err)
		}
	}
	return nil
}
