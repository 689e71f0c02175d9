package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Overlay shadowing, stage side (see staging_linux.go for the host side).
// A shadowed directory is an overlay mounted over the skeleton its mask
// built: the lower layer is that skeleton (the mount points of the paths
// bound back and the empty directories of Traverse paths), the upper layer
// is the run's staging directory, which holds the writable files. The
// command can create, rename and delete anything there; pent copies out
// only what it makes of the writable paths (a writable path that did not
// exist may become a file or a directory tree); every other write stays in
// the upper layer, which is offered to LaunchOptions.Discarded (pent keeps
// it for `pent keep`) and then removed with the staging directory when the
// run ends. A writable path
// is never bound back: the overlay shows it.

// rightsShadow are the Landlock rights in a shadowed directory: what a
// program does to files there (write a temporary file, rename it over
// another), but no execution and no device nodes. The read-only paths bound
// back inside it stay read-only mounts.
const rightsShadow = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
	unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
	unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SYM |
	unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_REFER |
	unix.LANDLOCK_ACCESS_FS_TRUNCATE

// errNoOverlay explains a failed overlay mount.
const errNoOverlay = "pent needs overlayfs in user namespaces (Linux 5.11 or later) and its state directory on a filesystem " +
	"with user extended attributes (ext4, xfs, btrfs; tmpfs from Linux 6.6); see `pent doctor`"

// stageShadows reads the manifest of the staging directory Launch passed
// on stagingFD and named in args (the stage's arguments: stagingArg, then
// its path). It returns nil when Launch passed none. Call it before any
// mount: it reopens the directory by path in this mount namespace (overlayfs
// takes no layer from another one), or takes its idmapped mount in a root
// run, and puts it on stagingFD, after checking that it is the directory
// Launch passed.
func stageShadows(args []string, idmapped map[string]int) ([]shadowDir, error) {
	if len(args) < 4 || args[2] != stagingArg {
		return nil, nil
	}
	if err := reopenStaging(args[3], idmapped); err != nil {
		return nil, err
	}
	fd, err := openBeneath(stagingFD, manifestName, unix.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the staging manifest: %w", err)
	}
	f := os.NewFile(uintptr(fd), manifestName)
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading the staging manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding the staging manifest: %w", err)
	}
	if err := validManifest(m); err != nil {
		return nil, err
	}
	return m.Dirs, nil
}

// reopenStaging opens dir and puts it on stagingFD if it is the directory
// already there. In a root run it first attaches dir's idmapped mount (from
// idmapped) over dir: overlayfs takes no layer from a detached mount.
func reopenStaging(dir string, idmapped map[string]int) error {
	if fd, ok := idmapped[dir]; ok {
		if fd < 0 {
			return fmt.Errorf("the staging directory %s disappeared while the sandbox started", dir)
		}
		if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attaching the idmapped staging directory: %w", err)
		}
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the staging directory: %w", err)
	}
	defer unix.Close(fd)
	var want, got unix.Stat_t
	if err := unix.Fstat(stagingFD, &want); err != nil {
		return fmt.Errorf("the staging directory passed by pent: %w", err)
	}
	if err := unix.Fstat(fd, &got); err != nil {
		return fmt.Errorf("opening the staging directory: %w", err)
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		return fmt.Errorf("the staging directory %s was replaced while the sandbox started", dir)
	}
	return unix.Dup3(fd, stagingFD, unix.O_CLOEXEC)
}

// shadowRules are the Landlock rules of the shadowed directories.
func shadowRules(shadows []shadowDir) []pathRule {
	rules := make([]pathRule, 0, len(shadows))
	for _, s := range shadows {
		rules = append(rules, pathRule{s.Path, rightsShadow})
	}
	return rules
}

// routed reports whether path is a writable path of a shadowed directory
// (a file, or not yet existing): the overlay shows it, it is not bound
// back.
func (m *mounter) routed(path string) bool {
	for _, s := range m.shadows {
		for _, name := range s.Files {
			if path == s.Path+"/"+name {
				return true
			}
		}
	}
	return false
}

// mountShadows mounts, parents first, the overlays of the shadowed
// directories whose innermost mask is k, over the skeleton applyMask built
// in it. The mount points of the paths bound back beneath k are made in the
// skeleton first, so that they are in the lower layer. The layers are named
// by descriptor (/proc/self/fd/N), so that no path needs escaping in the
// mount options.
func (m *mounter) mountShadows(k mask, ms []mask) error {
	var mine []int
	for i, s := range m.shadows {
		if innermostMask(s.Path, ms) == k.path {
			mine = append(mine, i)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	for _, a := range m.bindRoots(k.path) {
		var st unix.Stat_t
		if err := unix.Fstat(m.sources[a], &st); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		if err := mountPoint(a, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
			return err
		}
	}
	lowers := make([]int, 0, len(mine))
	defer func() {
		for _, fd := range lowers {
			unix.Close(fd)
		}
	}()
	for _, i := range mine {
		path := m.shadows[i].Path
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
		fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		lowers = append(lowers, fd)
	}
	for j, i := range mine {
		path := m.shadows[i].Path
		opts := fmt.Sprintf("lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d/%d/upper,workdir=/proc/self/fd/%d/%d/work,userxattr",
			lowers[j], stagingFD, i, stagingFD, i)
		if err := unix.Mount("overlay", path, "overlay", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
			return fmt.Errorf("shadowing %s with an overlay: %w; %s", path, err, errNoOverlay)
		}
		m.mounted[path] = true
		m.writable = append(m.writable, path)
	}
	return nil
}

// innermostMask is the deepest of ms (sorted parents first) that path lies
// in, "" when none.
func innermostMask(path string, ms []mask) string {
	owner := ""
	for _, k := range ms {
		if within(path, k.path) {
			owner = k.path
		}
	}
	return owner
}
