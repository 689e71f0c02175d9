package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Overlay shadowing, host side. A directory the sandbox hides (such as
// $HOME) but that directly holds writable files (~/.claude.json) is shown
// through an overlay whose upper layer is a staging directory of pent's:
// the writable files are copied there when the run starts, every change the
// command makes lands there, and pent copies the changes of the writable
// files to the real ones while the run goes on (every pollInterval) and
// once more when it ends. All else written there is discarded with the
// staging directory.
//
// Staging lives in <state dir>/staging/run-*, 0700, which no sandbox can
// reach (Launch masks it where a rule would expose it). Each run holds a
// lock on its directory; RecoverStaging, called when pent starts, recovers
// the writes a killed pent could not copy and removes the rest.
//
// pent never follows a symbolic link in staging or in the real directory:
// entries are opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) below
// directory descriptors opened when the run started, and only regular files
// are copied.

// Staging layout and the stage's view of it.
const (
	stagingSub   = "staging"       // below the state directory
	stagingLock  = ".lock"         // in stagingSub: creation vs. recovery
	runPrefix    = "run-"          // one directory per run
	runLock      = "lock"          // in a run: held while the run lives
	manifestName = "manifest.json" // in a run: what it shadows
	stagingFD    = 5               // the run directory, passed to the stage (O_PATH)
	stagingArg   = "staging"       // os.Args[2] of a stage given stagingFD; [3] is its path
)

// pollInterval is how often a run copies the changed writable files to
// the real ones, which bounds how late a change shows outside.
const pollInterval = 100 * time.Millisecond

// settled is how long after a file's last change (ctime) pent trusts that
// an unchanged stamp means unchanged content: timestamps are coarse (a
// jiffy), so a change right after a copy may leave the stamp as it was.
const settled = 20 * time.Millisecond

// beneath resolves one entry below a directory descriptor, never through a
// symbolic link, a magic link or a mount point.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// shadowDir is a directory the sandbox shows through an overlay.
type shadowDir struct {
	// Path is the directory, the same inside the sandbox and on the host.
	Path string `json:"path"`
	// Files are the names of the writable files directly in it.
	Files []string `json:"files"`
}

// manifest is what a run's staging directory shadows: Dirs[i] has its
// layers in <run>/<i>/upper and <run>/<i>/work.
type manifest struct {
	Dirs []shadowDir `json:"dirs"`
}

// planShadows lists the directories p shows through an overlay: the
// directory of each writable regular (or not yet existing) file that lies
// in a hidden mask, is not itself an allowed path and exists on the host.
// Writable directories and symbolic links stay bind mounts.
func planShadows(p Policy) ([]shadowDir, error) {
	ms, err := resolveMasks(masks(p))
	if err != nil {
		return nil, err
	}
	hidden := func(dir string) bool {
		return slices.ContainsFunc(ms, func(k mask) bool { return k.kind == maskHidden && within(dir, k.path) })
	}
	allowed := p.allowed()
	files := map[string][]string{}
	for _, w := range p.withoutCovered().Write {
		fi, err := os.Lstat(w)
		if err == nil && !fi.Mode().IsRegular() {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("writable path %s: %w", w, err)
		}
		dir := filepath.Dir(w)
		if underAny(dir, allowed) || !hidden(dir) {
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue // nothing to write into on the host
		}
		if name := filepath.Base(w); !slices.Contains(files[dir], name) {
			files[dir] = append(files[dir], name)
		}
	}
	out := make([]shadowDir, 0, len(files))
	for dir, names := range files {
		slices.Sort(names)
		out = append(out, shadowDir{Path: dir, Files: names})
	}
	slices.SortFunc(out, func(a, b shadowDir) int {
		if d := depth(a.Path) - depth(b.Path); d != 0 {
			return d
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out, nil
}

// validManifest refuses a manifest whose paths or names could point
// anywhere but one entry of an absolute directory.
func validManifest(m manifest) error {
	for _, d := range m.Dirs {
		if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) != d.Path {
			return fmt.Errorf("staging manifest: bad directory %q", d.Path)
		}
		for _, n := range d.Files {
			if n == "" || n == "." || n == ".." || strings.ContainsRune(n, '/') {
				return fmt.Errorf("staging manifest: bad file name %q in %s", n, d.Path)
			}
		}
	}
	return nil
}

// staging is one run's staging directory, on the host side.
type staging struct {
	dir    string
	run    *os.File // the run directory, O_PATH; the stage gets a copy
	lock   *os.File // holds the run's lock
	shadow []*shadow
	warn   func(format string, args ...any)
	stop   chan struct{} // closed by finish
	done   chan struct{} // closed when the watch has stopped; nil without one
}

// shadow is one shadowed directory: its real directory, its upper layer and
// what pent last copied for each writable file.
type shadow struct {
	shadowDir
	real, upper int // O_PATH directory descriptors
	synced      map[string]fileState
	warned      map[string]string
}

// fileState is a writable file as pent last copied it.
type fileState struct {
	exists bool
	upper  stamp     // the staged file copied
	real   [2]int64  // device and inode of the real file written
	copied time.Time // when
}

// stamp identifies a version of a file.
type stamp struct {
	dev, ino, size int64
	mode           uint32
	mtime, ctime   unix.Timespec
}

func stampOf(st *unix.Stat_t) stamp {
	return stamp{int64(st.Dev), int64(st.Ino), st.Size, st.Mode, st.Mtim, st.Ctim}
}

// prepareStaging, when p shadows directories, creates the run's staging
// directory with copies of the writable files. Wherever a rule of p would
// expose the staging tree it adds it to p.Masked. It returns nil when the
// policy shadows nothing.
func prepareStaging(p *Policy, opts LaunchOptions, stderr *os.File) (*staging, error) {
	plan, err := planShadows(*p)
	if err != nil {
		return nil, err
	}
	root := ""
	if opts.StateDir != "" {
		root = filepath.Join(filepath.Clean(opts.StateDir), stagingSub)
	}
	if root != "" && underAny(root, p.allowed()) {
		if err := privateDir(root); err != nil {
			return nil, err
		}
		p.Masked = append(p.Masked, root)
	}
	if len(plan) == 0 {
		return nil, nil
	}
	if root == "" {
		return nil, fmt.Errorf("%s holds writable files (%s) and must be shadowed with an overlay, which needs pent's state directory (LaunchOptions.StateDir)",
			plan[0].Path, strings.Join(plan[0].Files, ", "))
	}
	warn := opts.Warn
	if warn == nil {
		if stderr == nil {
			stderr = os.Stderr
		}
		warn = func(format string, args ...any) { fmt.Fprintf(stderr, "pent: warning: "+format+"\n", args...) }
	}
	s, err := startStaging(root, plan, warn)
	if err != nil {
		return nil, err
	}
	s.watch()
	return s, nil
}

// privateDir creates dir (and its parents) 0700 and refuses it unless it is
// a directory of this user that nobody else can enter.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating pent's staging directory: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("pent's staging directory: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		return fmt.Errorf("%s must be a directory owned by you with mode 0700; remove it and run pent again", dir)
	}
	return nil
}

// startStaging creates <root>/run-* for plan: the lock, the manifest, and
// per directory an upper layer (with the real directory's mode) holding
// copies of the writable files, and a work directory.
func startStaging(root string, plan []shadowDir, warn func(string, ...any)) (s *staging, err error) {
	if err := privateDir(root); err != nil {
		return nil, err
	}
	// Recovery takes this lock exclusively: it never sees a run directory
	// before the run holds its own lock.
	guard, err := lockFile(filepath.Join(root, stagingLock), unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer guard.Close()
	dir, err := os.MkdirTemp(root, runPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating a staging directory: %w", err)
	}
	s = &staging{dir: dir, warn: warn}
	defer func() {
		if err != nil {
			s.close()
			_ = removeTree(dir)
		}
	}()
	if s.lock, err = lockFile(filepath.Join(dir, runLock), unix.LOCK_EX); err != nil {
		return s, err
	}
	if err := writeManifest(dir, manifest{Dirs: plan}); err != nil {
		return s, err
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return s, fmt.Errorf("staging: %w", err)
	}
	s.run = os.NewFile(uintptr(fd), dir)
	for i, d := range plan {
		sh, err := newShadow(fd, i, d)
		if sh != nil {
			s.shadow = append(s.shadow, sh)
		}
		if err != nil {
			return s, err
		}
		if err := sh.stageFiles(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// lockFile opens (creating) path and takes a flock of kind on it.
func lockFile(path string, kind int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("staging lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), kind); err != nil {
		f.Close()
		return nil, fmt.Errorf("staging lock %s: %w", path, err)
	}
	return f, nil
}

// writeManifest writes m into the run directory, atomically.
func writeManifest(dir string, m manifest) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("staging manifest: %w", err)
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("staging manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		return fmt.Errorf("staging manifest: %w", err)
	}
	return nil
}

// newShadow creates (create) or opens the layers <run>/<i>/{upper,work} of d
// and opens d's real directory.
func newShadow(run, i int, d shadowDir) (*shadow, error) {
	sh := &shadow{shadowDir: d, real: -1, upper: -1, synced: map[string]fileState{}, warned: map[string]string{}}
	var err error
	if sh.real, err = unix.Open(d.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return sh, fmt.Errorf("shadowing %s: %w", d.Path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(sh.real, &st); err != nil {
		return sh, fmt.Errorf("shadowing %s: %w", d.Path, err)
	}
	layers := strconv.Itoa(i)
	for _, m := range []struct {
		name string
		mode uint32
	}{{layers, 0o700}, {layers + "/upper", st.Mode & 0o7777}, {layers + "/work", 0o700}} {
		if err := unix.Mkdirat(run, m.name, 0o700); err != nil {
			return sh, fmt.Errorf("staging %s: %w", d.Path, err)
		}
		if err := unix.Fchmodat(run, m.name, m.mode, 0); err != nil {
			return sh, fmt.Errorf("staging %s: %w", d.Path, err)
		}
	}
	if sh.upper, err = openBeneath(run, layers+"/upper", unix.O_PATH|unix.O_DIRECTORY, 0); err != nil {
		return sh, fmt.Errorf("staging %s: %w", d.Path, err)
	}
	return sh, nil
}

// stageFiles copies each writable file that exists into the upper layer,
// with its mode and times.
func (sh *shadow) stageFiles() error {
	for _, name := range sh.Files {
		src, st, err := openRegular(sh.real, name)
		if errors.Is(err, fs.ErrNotExist) {
			sh.synced[name] = fileState{}
			continue
		}
		if err != nil {
			return fmt.Errorf("staging %s: %w", filepath.Join(sh.Path, name), err)
		}
		real := [2]int64{int64(st.Dev), int64(st.Ino)}
		up, err := copyInto(sh.upper, name, src, st, false)
		src.Close()
		if err != nil {
			return fmt.Errorf("staging %s: %w", filepath.Join(sh.Path, name), err)
		}
		sh.synced[name] = fileState{exists: true, upper: up, real: real, copied: time.Now()}
	}
	return nil
}

// openBeneath opens name below dir without following any link.
func openBeneath(dir int, name string, flags uint64, mode uint64) (int, error) {
	return unix.Openat2(dir, name, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC | unix.O_NOFOLLOW, Mode: mode, Resolve: beneath})
}

// errNotRegular is the entry of a writable file that is something else
// (a symbolic link, a directory, a whiteout).
var errNotRegular = errors.New("not a regular file")

// openRegular opens the regular file name below dir for reading; it returns
// fs.ErrNotExist when there is none and errNotRegular for anything else.
func openRegular(dir int, name string) (*os.File, *unix.Stat_t, error) {
	fd, err := openBeneath(dir, name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENXIO), errors.Is(err, unix.EXDEV):
		return nil, nil, errNotRegular
	case err != nil:
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, nil, errNotRegular
	}
	return f, &st, nil
}

// copyInto makes name below dir hold src's content, permission bits and
// times. In place it rewrites the existing file (its inode stays);
// otherwise it writes a new file beside it and renames it over name, so
// that readers see the old or the new content, never a mixture. It returns
// the stamp of the file written.
func copyInto(dir int, name string, src *os.File, st *unix.Stat_t, inPlace bool) (stamp, error) {
	target, flags, mode := name, uint64(unix.O_WRONLY), uint64(0)
	if !inPlace {
		target = fmt.Sprintf(".%s.pent-%d", name, time.Now().UnixNano())
		flags, mode = flags|unix.O_CREAT|unix.O_EXCL, 0o600
	}
	fd, err := openBeneath(dir, target, flags, mode)
	if err != nil {
		return stamp{}, err
	}
	dst := os.NewFile(uintptr(fd), target)
	defer dst.Close()
	written, err := writeContent(dst, src, st)
	if err == nil && !inPlace {
		err = unix.Renameat(dir, target, dir, name)
	}
	if err != nil {
		if !inPlace {
			_ = unix.Unlinkat(dir, target, 0)
		}
		return stamp{}, err
	}
	return written, nil
}

// writeContent copies src (from its start) into dst, cuts dst to the same
// size, sets the permission bits and times of st and syncs it.
func writeContent(dst, src *os.File, st *unix.Stat_t) (stamp, error) {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return stamp{}, err
	}
	n, err := io.Copy(dst, src)
	if err != nil {
		return stamp{}, err
	}
	fd := int(dst.Fd())
	if err := unix.Ftruncate(fd, n); err != nil {
		return stamp{}, err
	}
	if err := unix.Fchmod(fd, st.Mode&0o777); err != nil {
		return stamp{}, err
	}
	ts := []unix.Timeval{unix.NsecToTimeval(unix.TimespecToNsec(st.Atim)), unix.NsecToTimeval(unix.TimespecToNsec(st.Mtim))}
	if err := unix.Futimes(fd, ts); err != nil {
		return stamp{}, err
	}
	if err := dst.Sync(); err != nil {
		return stamp{}, err
	}
	var out unix.Stat_t
	if err := unix.Fstat(fd, &out); err != nil {
		return stamp{}, err
	}
	return stampOf(&out), nil
}

// sync copies the staged version of one writable file to the real one when
// it changed since the last copy: an edit in place in place, a replaced
// file by renaming a new one into place, a deletion by deleting the real
// file unless it changed outside in the meantime. Anything but a regular
// file is never followed or copied; it is reported once.
func (sh *shadow) sync(name string) (warning string) {
	path := filepath.Join(sh.Path, name)
	last := sh.synced[name]
	src, st, err := openRegular(sh.upper, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if last.exists {
			last.exists = false
			sh.synced[name] = last
			return sh.deleteReal(name, last.real)
		}
		return ""
	case errors.Is(err, errNotRegular):
		return sh.warnOnce(name, "the sandboxed command replaced "+path+" with something that is not a regular file (a symbolic link?); pent left the real file as it was")
	case err != nil:
		return fmt.Sprintf("copying %s from the sandbox: %v", path, err)
	}
	defer src.Close()
	if last.exists && last.upper == stampOf(st) && last.copied.Sub(time.Unix(0, st.Ctim.Nano())) > settled {
		return ""
	}
	copied := time.Now()
	var cur unix.Stat_t
	realExists := unix.Fstatat(sh.real, name, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil
	inPlace := last.exists && realExists && cur.Mode&unix.S_IFMT == unix.S_IFREG &&
		last.upper.ino == int64(st.Ino) && last.upper.dev == int64(st.Dev) &&
		last.real == [2]int64{int64(cur.Dev), int64(cur.Ino)}
	written, err := copyInto(sh.real, name, src, st, inPlace)
	if err != nil {
		return fmt.Sprintf("copying %s from the sandbox: %v", path, err)
	}
	delete(sh.warned, name)
	sh.synced[name] = fileState{exists: true, upper: stampOf(st), real: [2]int64{written.dev, written.ino}, copied: copied}
	return ""
}

// deleteReal deletes the real file when it is still the one pent wrote.
func (sh *shadow) deleteReal(name string, wrote [2]int64) string {
	var cur unix.Stat_t
	if err := unix.Fstatat(sh.real, name, &cur, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return ""
	}
	if [2]int64{int64(cur.Dev), int64(cur.Ino)} != wrote {
		return "the sandboxed command deleted " + filepath.Join(sh.Path, name) + ", which changed outside the sandbox meanwhile; pent kept it"
	}
	if err := unix.Unlinkat(sh.real, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Sprintf("deleting %s as the sandboxed command did: %v", filepath.Join(sh.Path, name), err)
	}
	return ""
}

// warnOnce returns msg unless it was the last one for name.
func (sh *shadow) warnOnce(name, msg string) string {
	if sh.warned[name] == msg {
		return ""
	}
	sh.warned[name] = msg
	return msg
}

// syncAll syncs every writable file of every shadowed directory.
func (s *staging) syncAll() {
	for _, sh := range s.shadow {
		for _, name := range sh.Files {
			s.report(sh.sync(name))
		}
	}
}

func (s *staging) report(msg string) {
	if msg != "" {
		s.warn("%s", msg)
	}
}

// attach hands the run directory to the stage started by cmd.
func (s *staging) attach(args *[]string, files *[]*os.File) {
	if s == nil {
		return
	}
	*args = append(*args, stagingArg, s.dir)
	*files = append(*files, s.run) // stagingFD
}

// finish copies the last changes once every process of the sandbox has
// ended, then removes the staging directory; the real files hold every
// write by then. It is a no-op on a nil staging.
func (s *staging) finish() {
	if s == nil {
		return
	}
	if s.done != nil {
		close(s.stop)
		<-s.done
	}
	s.syncAll()
	s.close()
	if err := removeTree(s.dir); err != nil {
		s.warn("removing the staging directory %s: %v", s.dir, err)
	}
}

// close releases the descriptors and the lock (last).
func (s *staging) close() {
	for _, sh := range s.shadow {
		for _, fd := range []int{sh.real, sh.upper} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	if s.run != nil {
		s.run.Close()
	}
	if s.lock != nil {
		s.lock.Close()
	}
}

// watch copies changes while the command runs: every pollInterval it
// syncs the writable files, until finish. (A poll of a few files costs
// less than an inotify instance, whose release holds up pent's exit for
// an RCU grace period of 10-20 ms.)
func (s *staging) watch() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.syncAll()
			}
		}
	}()
}

// removeTree removes path like os.RemoveAll, also where the command (or
// overlayfs, for its work directories) left directories without
// permissions. Symbolic links are removed, never followed.
func removeTree(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700) // before WalkDir reads it
		}
		return nil
	})
	return os.RemoveAll(path)
}

// RecoverStaging cleans up after pent runs that were killed (SIGKILL, a
// crash, a power cut): for each staging directory below stateDir (pent's
// $XDG_STATE_HOME/pent) whose run is gone, it copies to the real files the
// writes to writable files the run could not copy, then removes the
// directory. A real file changed after the run keeps its content, and the
// run's version is saved beside it as NAME.pent-recovered. Runs still going
// are left alone. It returns one message per thing done, for the user; call
// it when pent starts, before any sandbox runs. It costs one lstat when
// there is nothing to do.
func RecoverStaging(stateDir string) ([]string, error) {
	root := filepath.Join(stateDir, stagingSub)
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err := privateDir(root); err != nil {
		return nil, err
	}
	guard, err := lockFile(filepath.Join(root, stagingLock), unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer guard.Close()
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading the staging directory: %w", err)
	}
	var msgs []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), runPrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		lock, err := lockFile(filepath.Join(dir, runLock), unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			continue // the run still goes on
		}
		if lock != nil {
			lock.Close()
		}
		msgs = append(msgs, recoverRun(dir)...)
		if err := removeTree(dir); err != nil {
			return msgs, fmt.Errorf("removing the staging directory of a killed pent run: %w", err)
		}
	}
	return msgs, nil
}

// recoverRun copies the writes of a killed run's staging directory to the
// real files and says what it did.
func recoverRun(dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // killed before the sandbox existed: nothing was written
	}
	var m manifest
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err == nil {
		err = validManifest(m)
	}
	if err != nil {
		return []string{fmt.Sprintf("removed the staging directory %s of a killed pent run without recovering it: %v", dir, err)}
	}
	run, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{fmt.Sprintf("recovering %s: %v", dir, err)}
	}
	defer unix.Close(run)
	msgs := []string{"a pent run was killed before it ended; recovering its writes"}
	for i, d := range m.Dirs {
		sh := &shadow{shadowDir: d, real: -1, upper: -1}
		var err error
		if sh.upper, err = openBeneath(run, strconv.Itoa(i)+"/upper", unix.O_PATH|unix.O_DIRECTORY, 0); err == nil {
			sh.real, err = unix.Open(d.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
		if err == nil {
			for _, name := range d.Files {
				msgs = append(msgs, sh.recoverFile(name)...)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			msgs = append(msgs, fmt.Sprintf("recovering the writes to %s: %v", d.Path, err))
		}
		for _, fd := range []int{sh.real, sh.upper} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	return msgs
}

// recoverFile copies one staged writable file to the real one when they
// differ: over it, unless the real file is newer than the staged one (it
// changed after the run), in which case beside it.
func (sh *shadow) recoverFile(name string) []string {
	path := filepath.Join(sh.Path, name)
	src, st, err := openRegular(sh.upper, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("not recovering %s: the staged entry: %v", path, err)}
	}
	defer src.Close()
	cur, cst, err := openRegular(sh.real, name)
	target := name
	switch {
	case err == nil:
		same := sameContent(src, cur)
		cur.Close()
		if same {
			return []string{path + " already holds the run's last write"}
		}
		if unix.TimespecToNsec(cst.Mtim) > unix.TimespecToNsec(st.Mtim) {
			target = name + ".pent-recovered"
		}
	case !errors.Is(err, fs.ErrNotExist):
		target = name + ".pent-recovered"
	}
	if _, err := copyInto(sh.real, target, src, st, false); err != nil {
		return []string{fmt.Sprintf("recovering %s: %v", path, err)}
	}
	if target != name {
		return []string{fmt.Sprintf("%s changed after the killed run; its version from the run is in %s", path, filepath.Join(sh.Path, target))}
	}
	return []string{"recovered the killed run's last write to " + path}
}

// sameContent reports whether two files hold the same bytes.
func sameContent(a, b *os.File) bool {
	ab, err1 := io.ReadAll(io.NewSectionReader(a, 0, 1<<62))
	bb, err2 := io.ReadAll(io.NewSectionReader(b, 0, 1<<62))
	return err1 == nil && err2 == nil && string(ab) == string(bb)
}
