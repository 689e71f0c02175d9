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
// $HOME) but that directly holds writable paths (~/.claude.json, or ~/.npm
// before it exists) is shown through an overlay whose upper layer is a
// staging directory of pent's: the writable files are copied there when the
// run starts, every change the command makes lands there, and pent copies
// what the command made of the writable paths (a file, or a directory tree
// where none existed) to the real ones while the run goes on (every
// pollInterval) and once more when it ends (staging_sync_linux.go). All
// else written there is offered to LaunchOptions.Discarded, then removed
// with the staging directory.
//
// Staging lives in <state dir>/staging/run-*, 0700, which no sandbox can
// reach (Launch masks it where a rule would expose it). Each run holds a
// lock on its directory; RecoverStaging, called when pent starts, recovers
// the writes a killed pent could not copy and removes the rest. A run that
// could not copy everything when it ended leaves its directory for
// RecoverStaging too.
//
// pent never follows a symbolic link in staging or in the real directory:
// entries are opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) below
// directory descriptors opened when the run started, and only regular files
// and directories are copied.

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

// shadowDir is a directory the sandbox shows through an overlay.
type shadowDir struct {
	// Path is the directory, the same inside the sandbox and on the host.
	Path string `json:"path"`
	// Files are the names of the writable paths directly in it: regular
	// files, or paths that did not exist when the run started.
	Files []string `json:"files"`
	// Never are the paths, relative to Path, beneath a writable path that
	// pent never copies out: the policy's protected ones there, such as the
	// host-executed locations of a grant that did not exist yet
	// (~/.cargo/config.toml, ~/.cargo/bin, ~/.claude/settings.json). What
	// the command makes there is discarded like any other write outside the
	// allowed paths.
	Never []string `json:"never,omitempty"`
}

// never reports whether rel (relative to d.Path) is at or beneath one of
// d.Never.
func (d shadowDir) never(rel string) bool {
	return slices.ContainsFunc(d.Never, func(n string) bool { return within(rel, n) })
}

// manifest is what a run's staging directory shadows: Dirs[i] has its
// layers in <run>/<i>/upper and <run>/<i>/work.
type manifest struct {
	Dirs []shadowDir `json:"dirs"`
}

// planShadows lists the directories p shows through an overlay: the
// directory of each writable regular file, or writable path that does not
// exist yet (it may become a file or a directory tree), that lies in a
// hidden mask, is not itself an allowed path and exists on the host.
// Existing writable directories and symbolic links stay bind mounts.
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
		d := shadowDir{Path: dir, Files: names}
		for _, pr := range p.Protected {
			if rel, ok := strings.CutPrefix(pr, dir+"/"); ok && slices.ContainsFunc(names, func(n string) bool { return within(rel, n) && rel != n }) {
				d.Never = append(d.Never, rel)
			}
		}
		slices.Sort(d.Never)
		out = append(out, d)
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
		for _, n := range d.Never {
			if n == "" || filepath.IsAbs(n) || filepath.Clean(n) != n || n == ".." || strings.HasPrefix(n, "../") {
				return fmt.Errorf("staging manifest: bad path %q in %s", n, d.Path)
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
	// discarded is offered the upper layers before they are removed
	// (LaunchOptions.Discarded); nil when nobody takes them.
	discarded func(upper, dir string, writable []string)
	stop      chan struct{} // closed by finish
	done      chan struct{} // closed when the watch has stopped; nil without one
}

// shadow is one shadowed directory: its real directory, its upper layer and
// what pent put at each writable path.
type shadow struct {
	shadowDir
	real, upper int               // O_PATH directory descriptors
	synced      map[string]*entry // by writable name; none where pent has nothing
	warned      map[string]string // the last warning by path below Path
	journal     *os.File          // the directories pent created (journalName)
	syncedLog   *os.File          // the real files as pent last left them (syncedName)
	warn        func(format string, args ...any)
	// wrote is set when pent wrote to the host, failed when a pass could
	// not copy something.
	wrote, failed bool
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
	s.discarded = opts.Discarded
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
			_ = RemoveTree(dir)
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
		sh, err := newShadow(fd, i, d, warn)
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

// newShadow creates the layers <run>/<i>/{upper,work} of d and the journal
// <run>/<i>/made, and opens d's real directory.
func newShadow(run, i int, d shadowDir, warn func(string, ...any)) (*shadow, error) {
	sh := &shadow{shadowDir: d, real: -1, upper: -1, synced: map[string]*entry{}, warned: map[string]string{}, warn: warn}
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
	for _, j := range []struct {
		name string
		f    **os.File
	}{{journalName, &sh.journal}, {syncedName, &sh.syncedLog}} {
		fd, err := openBeneath(run, layers+"/"+j.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_APPEND, 0o600)
		if err != nil {
			return sh, fmt.Errorf("staging %s: %w", d.Path, err)
		}
		*j.f = os.NewFile(uintptr(fd), j.name)
	}
	return sh, nil
}

// stageFiles copies each writable file that exists into the upper layer,
// with its mode and times, and journals the real file as it was.
func (sh *shadow) stageFiles() error {
	for _, name := range sh.Files {
		src, st, err := openRegular(sh.real, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("staging %s: %w", filepath.Join(sh.Path, name), err)
		}
		real := identity(st)
		up, err := copyInto(sh.upper, name, src, st, create)
		src.Close()
		if err != nil {
			return fmt.Errorf("staging %s: %w", filepath.Join(sh.Path, name), err)
		}
		if err := journalLine(sh.syncedLog, newSyncedFile(name, stampOf(st), up.sum)); err != nil {
			return fmt.Errorf("staging %s: %w", filepath.Join(sh.Path, name), err)
		}
		sh.synced[name] = &entry{real: real, upper: up.stamp, copied: time.Now(), existed: true}
	}
	return nil
}

// syncAll copies what the command made of every writable path of every
// shadowed directory; final is the pass at the end of the run. It reports
// whether every copy succeeded.
func (s *staging) syncAll(final bool) bool {
	ok := true
	for _, sh := range s.shadow {
		sh.failed = false
		root := &hostDir{fd: sh.real}
		for _, name := range sh.Files {
			put(sh.synced, name, sh.syncEntry(root, sh.upper, name, name, sh.synced[name], final))
		}
		ok = ok && !sh.failed
	}
	return ok
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
// ended, flushes them to disk, offers the upper layers to s.discarded, then
// removes the staging directory; the real paths hold every write to a
// writable path by then. When something could not be copied it leaves the
// directory to RecoverStaging instead. It is a no-op on a nil staging.
func (s *staging) finish() {
	if s == nil {
		return
	}
	if s.done != nil {
		close(s.stop)
		<-s.done
	}
	ok := s.syncAll(true)
	for _, sh := range s.shadow {
		if sh.wrote {
			if err := syncFS(sh.real); err != nil {
				ok = false
				s.warn("flushing the writes to %s to disk: %v", sh.Path, err)
			}
		}
	}
	s.close()
	if !ok {
		s.warn("pent kept the sandboxed command's writes in %s; the next pent command tries again to copy them", s.dir)
		return
	}
	if s.discarded != nil {
		for i, sh := range s.shadow {
			s.discarded(filepath.Join(s.dir, strconv.Itoa(i), "upper"), sh.Path, sh.Files)
		}
	}
	if err := RemoveTree(s.dir); err != nil {
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
		for _, j := range []*os.File{sh.journal, sh.syncedLog} {
			if j != nil {
				j.Close()
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
// syncs the writable paths, until finish. (A poll costs one stat per
// staged entry, less than an inotify instance, whose release holds up
// pent's exit for an RCU grace period of 10-20 ms.)
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
				s.syncAll(false)
			}
		}
	}()
}

// RecoverStaging cleans up after pent runs that were killed (SIGKILL, a
// crash, a power cut): for each staging directory below stateDir (pent's
// $XDG_STATE_HOME/pent) whose run is gone, it copies to the real paths the
// writes to writable paths (files and directory trees) the run could not
// copy, then removes the directory. A real file that is no longer exactly
// what the run journaled (inode, size, ctime, content digest) keeps its
// content, and the run's version is saved beside it as NAME.pent-recovered;
// so is a directory tree the run did not create itself. Deletions are not replayed. Runs still going are left alone. It
// returns one message per thing done, for the user; call it when pent
// starts, before any sandbox runs. It costs one lstat when there is
// nothing to do. discarded, when not nil, is offered each upper layer
// before it is removed, as LaunchOptions.Discarded is.
func RecoverStaging(stateDir string, discarded func(upper, dir string, writable []string)) ([]string, error) {
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
		msgs = append(msgs, recoverRun(dir, discarded)...)
		if err := RemoveTree(dir); err != nil {
			return msgs, fmt.Errorf("removing the staging directory of a killed pent run: %w", err)
		}
	}
	return msgs, nil
}

// recoverRun copies the writes of a killed run's staging directory to the
// real paths, flushes them to disk, offers the upper layers to discarded
// (when not nil) and says what it did.
func recoverRun(dir string, discarded func(upper, dir string, writable []string)) []string {
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
		msgs = append(msgs, recoverShadow(run, i, d)...)
	}
	if discarded != nil {
		for i, d := range m.Dirs {
			discarded(filepath.Join(dir, strconv.Itoa(i), "upper"), d.Path, d.Files)
		}
	}
	return msgs
}

// recoverShadow recovers the writable paths of shadowed directory d, whose
// layers are <run>/<i>.
func recoverShadow(run, i int, d shadowDir) []string {
	sh := &shadow{shadowDir: d, real: -1, upper: -1}
	var err error
	if sh.upper, err = openBeneath(run, strconv.Itoa(i)+"/upper", unix.O_PATH|unix.O_DIRECTORY, 0); err == nil {
		sh.real, err = unix.Open(d.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	defer func() {
		for _, fd := range []int{sh.real, sh.upper} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("recovering the writes to %s: %v", d.Path, err)}
	}
	r := &recovery{sh: sh, made: loadJournal(run, strconv.Itoa(i)+"/"+journalName), synced: loadSynced(run, strconv.Itoa(i)+"/"+syncedName)}
	root := &hostDir{fd: sh.real}
	for _, name := range d.Files {
		r.recoverTop(root, name)
	}
	if err := syncFS(sh.real); err != nil {
		r.say("flushing the recovered writes to %s to disk: %v", d.Path, err)
	}
	return r.msgs
}

// loadJournal reads the directories a run created on the host; a line cut
// short by the kill is skipped.
func loadJournal(run int, name string) map[string][2]int64 {
	made := map[string][2]int64{}
	fd, err := openBeneath(run, name, unix.O_RDONLY, 0)
	if err != nil {
		return made
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, _ := io.ReadAll(f)
	for _, line := range strings.Split(string(data), "\n") {
		var d madeDir
		if json.Unmarshal([]byte(line), &d) == nil {
			made[d.Path] = [2]int64{d.Dev, d.Ino}
		}
	}
	return made
}

// loadSynced reads the journal of the real files as the run last left
// them, by path; a line cut short by the kill is skipped.
func loadSynced(run int, name string) map[string]syncedFile {
	synced := map[string]syncedFile{}
	fd, err := openBeneath(run, name, unix.O_RDONLY, 0)
	if err != nil {
		return synced
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, _ := io.ReadAll(f)
	for _, line := range strings.Split(string(data), "\n") {
		var s syncedFile
		if json.Unmarshal([]byte(line), &s) == nil {
			synced[s.Path] = s
		}
	}
	return synced
}

// recovery is the recovery of one shadowed directory's writable paths.
type recovery struct {
	sh     *shadow
	made   map[string][2]int64   // the directories the run created, by path below sh.Path
	synced map[string]syncedFile // the real files as the run last left them, likewise
	files  int                   // files written in place
	msgs   []string
}

func (r *recovery) say(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// recoverTop recovers the writable path name: a file with a message of its
// own, a directory tree with one for the whole tree.
func (r *recovery) recoverTop(root *hostDir, name string) {
	path := r.sh.path(name)
	var st unix.Stat_t
	err := unix.Fstatat(r.sh.upper, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT) || err == nil && whiteout(&st):
	case err != nil:
		r.say("not recovering %s: the staged entry: %v", path, err)
	case st.Mode&unix.S_IFMT == unix.S_IFREG:
		switch target, err := recoverFile(root, r.sh.upper, name, r.recorded(name)); {
		case err != nil:
			r.say("recovering %s: %v", path, err)
		case target == "":
			r.say("%s already holds the run's last write", path)
		case target != name:
			r.say("%s changed after the killed run; its version from the run is in %s", path, r.sh.path(target))
		default:
			r.say("recovered the killed run's last write to %s", path)
		}
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		before := r.files
		if r.recoverTree(root, r.sh.upper, name, name, &st) != name {
			return
		}
		if n := r.files - before; n > 0 {
			r.say("recovered %d file(s) the killed run wrote in %s", n, path)
		} else {
			r.say("%s already holds the killed run's last writes", path)
		}
	default:
		r.say("not recovering %s: the killed run made it something that is not a regular file or a directory", path)
	}
}

// recoverTree copies the staged directory name (below up) and all in it
// into the real one below parent when that is absent or is one the run
// created, else into a new one beside it. It returns the name of the
// directory it copied into, "" when it failed.
func (r *recovery) recoverTree(parent *hostDir, up int, name, rel string, st *unix.Stat_t) string {
	var cur unix.Stat_t
	err := unix.Fstatat(parent.fd, name, &cur, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		if err = parent.writable(); err == nil {
			err = unix.Mkdirat(parent.fd, name, 0o700)
		}
		if err == nil {
			err = unix.Fstatat(parent.fd, name, &cur, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			r.say("recovering %s: %v", r.sh.path(rel), err)
			return ""
		}
	case err == nil && cur.Mode&unix.S_IFMT == unix.S_IFDIR && r.made[rel] == identity(&cur):
	default:
		kept, err := r.keepTreeBeside(parent, up, name, rel)
		if err != nil {
			r.say("recovering %s: %v", r.sh.path(rel), err)
			return ""
		}
		r.say("%s was not the killed run's own; the run's version is in %s", r.sh.path(rel), r.sh.path(kept))
		return filepath.Base(kept)
	}
	r.into(parent, up, name, name, rel, identity(&cur), st)
	return name
}

// keepTreeBeside copies the staged directory name below up (rel below the
// shadowed directory) to a new directory NAME.pent-recovered beside the
// real one and returns the new one below the shadowed directory.
func (r *recovery) keepTreeBeside(parent *hostDir, up int, name, rel string) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(up, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", err
	}
	if err := parent.writable(); err != nil {
		return "", err
	}
	kept, err := besideName(name, func(n string) error { return unix.Mkdirat(parent.fd, n, 0o700) })
	if err != nil {
		return "", err
	}
	var cur unix.Stat_t
	if err := unix.Fstatat(parent.fd, kept, &cur, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", err
	}
	keptRel := filepath.Join(filepath.Dir(rel), kept)
	r.into(parent, up, name, kept, keptRel, identity(&cur), &st)
	return keptRel, nil
}

// into copies what the staged directory name (below up, stat st) holds into
// the real directory target below parent, identified by id, and gives it
// the staged directory's mode; rel is target below the shadowed directory.
func (r *recovery) into(parent *hostDir, up int, name, target, rel string, id [2]int64, st *unix.Stat_t) {
	d, err := openOwnDir(parent.fd, target, id)
	if err != nil {
		r.say("recovering %s: %v", r.sh.path(rel), err)
		return
	}
	defer d.close()
	staged, names, err := readNames(up, name)
	if err != nil {
		r.say("recovering %s: the staged directory: %v", r.sh.path(rel), err)
		return
	}
	defer staged.Close()
	upd := int(staged.Fd())
	for _, n := range names {
		path := r.sh.path(rel + "/" + n)
		var kst unix.Stat_t
		err := unix.Fstatat(upd, n, &kst, unix.AT_SYMLINK_NOFOLLOW)
		switch {
		case err != nil:
			r.say("not recovering %s: the staged entry: %v", path, err)
		case whiteout(&kst):
		case r.sh.never(rel + "/" + n):
			r.say("not recovering %s: pent keeps it read-only in the sandbox (the host runs or trusts it)", path)
		case kst.Mode&unix.S_IFMT == unix.S_IFREG:
			switch target, err := recoverFile(d, upd, n, r.recorded(rel+"/"+n)); {
			case err != nil:
				r.say("recovering %s: %v", path, err)
			case target != "" && target != n:
				r.say("%s changed after the killed run; its version from the run is in %s", path, r.sh.path(rel+"/"+target))
			case target != "":
				r.files++
			}
		case kst.Mode&unix.S_IFMT == unix.S_IFDIR:
			r.recoverTree(d, upd, n, rel+"/"+n, &kst)
		default:
			r.say("not recovering %s: it is not a regular file or a directory", path)
		}
	}
	if err := d.settle(dirMode(st)); err != nil {
		r.say("setting the mode of %s: %v", r.sh.path(rel), err)
	}
}

// recorded is the journaled state of the real file rel, nil when the run
// journaled none.
func (r *recovery) recorded(rel string) *syncedFile {
	if s, ok := r.synced[rel]; ok {
		return &s
	}
	return nil
}

// recoverFile copies the staged file name (below up) to the real one below
// parent when they differ: where none is, or over the real file while it is
// exactly what the run last left there (rec: same inode, size, ctime and
// content). A real file that changed since, that the run never journaled,
// or that is no regular file stays, and the staged file goes beside it.
// Nothing the sandboxed command controls (such as the staged file's times)
// decides. It returns the name written, "" when the real file already
// holds the staged content.
func recoverFile(parent *hostDir, up int, name string, rec *syncedFile) (string, error) {
	src, st, err := openRegular(up, name)
	if err != nil {
		return "", err
	}
	defer src.Close()
	cur, cst, err := openRegular(parent.fd, name)
	switch {
	case err == nil:
		same, err := sameContent(src, cur)
		kept := false
		if err == nil && !same && rec != nil {
			kept, err = rec.unchanged(cur, cst)
		}
		cur.Close()
		if err != nil {
			return "", err
		}
		if same {
			return "", nil
		}
		if !kept {
			return keepFileBeside(parent, up, name)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return keepFileBeside(parent, up, name)
	}
	if err := parent.writable(); err != nil {
		return "", err
	}
	if _, err := copyInto(parent.fd, name, src, st, replace); err != nil {
		return "", err
	}
	return name, nil
}

// sameContent reports whether two files hold the same bytes.
func sameContent(a, b *os.File) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		return false, err
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		return false, err
	}
	if sa.Size != sb.Size {
		return false, nil
	}
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for off := int64(0); off < sa.Size; {
		na, err := a.ReadAt(ba, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if na == 0 {
			return false, nil // cut short meanwhile
		}
		nb, err := io.ReadFull(io.NewSectionReader(b, off, int64(na)), bb[:na])
		if err != nil || string(ba[:na]) != string(bb[:nb]) {
			return false, nil
		}
		off += int64(na)
	}
	return true, nil
}
