package keep

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/sandbox"
	"github.com/pent-sandbox/pent/scope"
)

// Guard holds what Refusal checks a path against: the home directory and
// the locations the host executes or trusts, with the real targets of the
// symbolic links among them and among the home directory's dot entries
// (~/.bashrc → ~/dotfiles/bashrc: writing the target is writing ~/.bashrc).
type Guard struct {
	home string
	locs []scope.HostExecuted
}

// maxDotEntries bounds how many entries of the home directory NewGuard
// reads looking for dot entries that are symbolic links.
const maxDotEntries = 4096

// NewGuard returns the Guard of the user with home directory home, whose
// host executes or trusts locs (scope.HostExecutedLocations).
func NewGuard(home string, locs []scope.HostExecuted) Guard {
	g := Guard{home: scope.CleanAbs(home), locs: slices.Clone(locs)}
	links := slices.Clone(locs)
	if g.home != "" && g.home != "/" {
		if d, err := os.Open(g.home); err == nil {
			names, _ := d.Readdirnames(maxDotEntries)
			d.Close()
			for _, name := range names {
				if strings.HasPrefix(name, ".") {
					links = append(links, scope.HostExecuted{Path: filepath.Join(g.home, name), Why: "a dot entry of your home directory, which is configuration"})
				}
			}
		}
	}
	for _, l := range links {
		target := resolve(l.Path)
		if target == "" || target == l.Path {
			continue
		}
		g.locs = append(g.locs, scope.HostExecuted{Path: target, Why: "the target of the symbolic link " + config.Tilde(l.Path, g.home) + ", " + l.Why})
	}
	return g
}

// maxLinks bounds how many symbolic links resolve follows.
const maxLinks = 40

// resolve is the real path of p, following symbolic links in every name
// of it, also a last one that leads to nothing yet (a dangling ~/.bashrc:
// writing its target creates it); "" when it cannot tell.
func resolve(p string) string {
	for range maxLinks {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return real
		}
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return ""
		}
		p = filepath.Join(dir, filepath.Base(p))
		target, err := os.Readlink(p)
		if err != nil {
			return p
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		p = filepath.Clean(target)
	}
	return ""
}

// Refusal says where and why pent keep must not write path, which a
// command run in project wrote ("" when it may). It writes only plain
// files: none that is or lies in a location the host executes or trusts
// or the target of a symbolic link to one, passes through an entry
// protected in a project (.git, .envrc, .vscode…), is or lies in a
// credential location or in ~/.ssh, has a name below the home directory
// (or the project) that starts with "." (dot files and dot directories are
// configuration), or lies outside both the home directory and the project.
func (g Guard) Refusal(path, project string) (where, why string) {
	if l, ok := scope.HostExecutedIn(path, g.locs); ok {
		return l.Path, l.Why
	}
	for dir, name := filepath.Dir(path), filepath.Base(path); name != "/" && name != "."; dir, name = filepath.Dir(dir), filepath.Base(dir) {
		if sandbox.IsProtectedName(name) {
			return filepath.Join(dir, name), "a project's protected entry: it configures pent, git, an editor or an agent"
		}
	}
	if s, ok := scope.SecretIn(path, g.home); ok {
		if strings.ContainsAny(s.Pattern, "*?[") {
			return path, "it holds credentials (" + s.Why + ")"
		}
		return s.Pattern, "it holds credentials (" + s.Why + ")"
	}
	if ssh := filepath.Join(g.home, ".ssh"); g.home != "" && scope.Within(path, ssh) {
		return ssh, "ssh trusts what is there (host keys, keys, configuration)"
	}
	base := g.home
	if project = scope.CleanAbs(project); base == "" || base == "/" || !scope.Within(path, base) {
		base = project
		if base == "" || base == "/" || !scope.Within(path, base) {
			return path, "it lies outside your home directory and the project, where the system's programs and services run or trust files"
		}
	}
	if dot := dotIn(path, base); dot != "" {
		return dot, "dot files and dot directories are configuration, which host programs run or trust"
	}
	return "", ""
}

// dotIn is the first path below base (path lies in base) whose name starts
// with ".", or "".
func dotIn(path, base string) string {
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == "." {
		return ""
	}
	dir := base
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		dir = filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			return dir
		}
	}
	return ""
}

// maxDiff is the largest file Preview compares line by line.
const maxDiff = 256 << 10

// Plan is what Keep would do for an entry.
type Plan struct {
	Entry
	// Exists says a regular file is at Path on the host; HostSize is its
	// size.
	Exists   bool
	HostSize int64
	// Diff is the line diff from the host's file to the entry (Diff),
	// empty when either is not text or too large to compare.
	Diff string
	// Same says the host's file already holds the entry's content.
	Same bool
}

// Preview says what Keep would write for e: whether it replaces a file and,
// for text, the diff. It refuses a path that is a symbolic link or anything
// but a regular file on the host, and follows no symbolic link in the store
// or in the directories below the one e was written in.
func (s Store) Preview(e Entry) (Plan, error) {
	p := Plan{Entry: e}
	stored, err := readStored(e)
	if err != nil {
		return p, err
	}
	base, rel, err := e.place()
	if err != nil {
		return p, err
	}
	host, err := readHost(base, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.Exists, p.HostSize, p.Same = true, int64(len(host)), bytes.Equal(host, stored)
	if !p.Same && isText(host) && isText(stored) {
		p.Diff = Diff(string(host), string(stored))
	}
	return p, nil
}

// Keep copies e's content to its real path and removes it from the store.
// The file is written beside the real one and renamed over it (never
// through a symbolic link: the directories below the one e was written in
// are opened without following one, and created 0755 where missing), with
// the permission bits the host file had, else those the command gave it,
// less execute: nothing from the sandbox becomes a program.
func (s Store) Keep(e Entry) error {
	data, err := readStored(e)
	if err != nil {
		return err
	}
	base, rel, err := e.place()
	if err != nil {
		return err
	}
	dir, err := openDirs(base, filepath.Dir(rel), true)
	if err != nil {
		return fmt.Errorf("keeping %s: %w", e.Path, err)
	}
	defer unix.Close(dir)
	name, mode := filepath.Base(rel), uint32(e.Mode.Perm())
	var st unix.Stat_t
	switch err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s is not a regular file on the host; pent keep replaces only files", e.Path)
	case err == nil:
		mode = uint32(st.Mode)
	case !errors.Is(err, unix.ENOENT):
		return fmt.Errorf("keeping %s: %w", e.Path, err)
	}
	if err := replaceFile(dir, name, data, mode&0o666); err != nil {
		return fmt.Errorf("keeping %s: %w", e.Path, err)
	}
	return s.forget(e.Path)
}

// place splits e.Path into the real directory its upper layer shadowed
// and the path below it, checking that they agree with e.Src.
func (e Entry) place() (base, rel string, err error) {
	parts := strings.SplitN(e.Src, string(filepath.Separator), 3)
	if len(parts) == 3 {
		if i, err := strconv.Atoi(parts[1]); err == nil && i >= 0 && i < len(e.Layer.Dirs) &&
			filepath.Join(e.Layer.Dirs[i], parts[2]) == e.Path {
			return e.Layer.Dirs[i], parts[2], nil
		}
	}
	return "", "", fmt.Errorf("the pending layer %s names %s inconsistently; clear it with `pent keep --clear`", e.Layer.ID, e.Path)
}

// readStored reads e's content from the store, following no symbolic link.
func readStored(e Entry) ([]byte, error) {
	data, err := readBeneath(e.Layer.dir, e.Src)
	if err != nil {
		return nil, fmt.Errorf("reading the kept %s: %w", e.Path, err)
	}
	return data, nil
}

// readHost reads the regular file rel below base on the host, following
// no symbolic link below base.
func readHost(base, rel string) ([]byte, error) {
	data, err := readBeneath(base, rel)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, errNotRegular) {
		return nil, fmt.Errorf("%s is a symbolic link or not a regular file on the host; pent keep replaces only files", filepath.Join(base, rel))
	}
	return data, err
}

var errNotRegular = errors.New("not a regular file")

// readBeneath reads the regular file rel below base without following a
// symbolic link below base.
func readBeneath(base, rel string) ([]byte, error) {
	dir, err := openDirs(base, filepath.Dir(rel), false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, filepath.Base(rel), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.Join(errNotRegular, err)
	}
	return io.ReadAll(f)
}

// openDirs opens the directory rel below base, one component at a time
// without following a symbolic link; with create it makes the missing
// ones (0755, less the umask).
func openDirs(base, rel string, create bool) (int, error) {
	fd, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if rel == "." {
		return fd, nil
	}
	path := base
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		path = filepath.Join(path, name)
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, name, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return -1, fmt.Errorf("%s is a symbolic link or not a directory; pent keep follows no symbolic link", path)
		}
		if err != nil {
			return -1, fmt.Errorf("%s: %w", path, err)
		}
		fd = next
	}
	return fd, nil
}

// replaceFile writes data to a new file in dir and renames it to name.
func replaceFile(dir int, name string, data []byte, mode uint32) error {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + name + ".pent-keep-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if err == nil {
		err = unix.Fchmod(fd, mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dir, tmp, dir, name)
	}
	if err != nil {
		_ = unix.Unlinkat(dir, tmp, 0)
	}
	return err
}

// isText reports whether data looks like text small enough to diff.
func isText(data []byte) bool {
	return len(data) <= maxDiff && utf8.Valid(data) && bytes.IndexByte(data, 0) < 0
}
