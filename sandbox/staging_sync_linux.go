package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Copying a run's staged writes to the real paths (see staging_linux.go for
// the run's life). A writable path of a shadowed directory may hold, in the
// upper layer, a regular file or a directory tree: a writable path that did
// not exist when the run started becomes whatever the command makes of it.
//
// Rules, for every entry:
//   - Only regular files and directories are copied. A symbolic link, a
//     fifo, a socket or a device node is reported and skipped; nothing on
//     the host is ever followed or created as a link.
//   - Every entry is reached with openat2(RESOLVE_BENEATH|NO_SYMLINKS|
//     NO_MAGICLINKS|NO_XDEV) below directory descriptors opened from the
//     real shadowed directory and the upper layer.
//   - A file is written to a temporary file and renamed into place (the
//     writable file itself is edited in place when the command edited it
//     in place, so that its inode stays); its permission bits are kept,
//     without setuid, setgid and sticky.
//   - pent writes into a directory only while the real one is absent (it
//     creates it then) or is the one it created in this run, and creates a
//     file only where none is or over one it wrote itself. Anything else
//     there was made outside the sandbox during the run: pent leaves it as
//     it is and, when the run ends, keeps the staged version beside it as
//     NAME.pent-recovered.
//   - A deletion deletes only what pent itself put there, and only while it
//     is still what pent put there.
//
// The directories pent creates are journaled in the run's staging
// directory, so that recovery after a SIGKILL knows which real directories
// are the run's own; so is every real file as pent last left it (syncedFile),
// so that recovery overwrites a real file only while it is still exactly
// that, whatever times the sandboxed command gave the staged one.

// journalName is, in a run's <i> directory, the journal of the directories
// pent created on the host for shadowed directory i: one JSON madeDir per
// line.
const journalName = "made"

// syncedName is, in a run's <i> directory, the journal of the real files
// of shadowed directory i as pent last left them: one JSON syncedFile per
// line, the last line for a path wins.
const syncedName = "synced"

// syncedFile is one line of the synced journal: a real file as pent found
// it when the run started or last wrote it. Nothing in it comes from the
// sandbox: identity, size and ctime are the host's, the hash is of the
// bytes pent read or wrote.
type syncedFile struct {
	// Path is the file, relative to the shadowed directory.
	Path string `json:"path"`
	Dev  int64  `json:"dev"`
	Ino  int64  `json:"ino"`
	Size int64  `json:"size"`
	// Ctime is the status change time in nanoseconds, which no process
	// can set.
	Ctime int64 `json:"ctime"`
	// SHA256 is the hex digest of the content.
	SHA256 string `json:"sha256"`
}

// newSyncedFile records the real file rel with stamp st and content digest sum.
func newSyncedFile(rel string, st stamp, sum []byte) syncedFile {
	return syncedFile{Path: rel, Dev: st.dev, Ino: st.ino, Size: st.size, Ctime: unix.TimespecToNsec(st.ctime), SHA256: hex.EncodeToString(sum)}
}

// unchanged reports whether the real file f, with status st, is still the
// one recorded: same inode, size and ctime, and the same content.
func (rec syncedFile) unchanged(f *os.File, st *unix.Stat_t) (bool, error) {
	if rec.Dev != int64(st.Dev) || rec.Ino != int64(st.Ino) || rec.Size != st.Size || rec.Ctime != unix.TimespecToNsec(st.Ctim) {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size+1)); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == rec.SHA256, nil
}

// journalLine appends v as one JSON line to journal; a nil journal (in
// recovery) records nothing.
func journalLine(journal *os.File, v any) error {
	if journal == nil {
		return nil
	}
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = journal.Write(append(line, '\n'))
	return err
}

// madeDir is one line of the journal.
type madeDir struct {
	// Path is the directory, relative to the shadowed directory.
	Path string `json:"path"`
	// Dev and Ino identify what pent created.
	Dev int64 `json:"dev"`
	Ino int64 `json:"ino"`
}

// entry is what pent put on the host at a writable path or below one.
type entry struct {
	// real are the device and inode of what pent created or last wrote
	// there (for a writable file that existed when the run started, that
	// file).
	real [2]int64
	// upper and copied are, for a file, the staged version last copied
	// and when.
	upper  stamp
	copied time.Time
	// kids are, for a directory, what pent put in it by name; nil for a
	// file.
	kids map[string]*entry
	// existed marks a writable file that was there when the run started:
	// the user's own data, which a deletion inside removes only once the
	// command has ended (so a file removed and then replaced by something
	// pent does not copy stays as it was).
	existed bool
}

// put stores e as m[name], or deletes m[name] when e is nil.
func put(m map[string]*entry, name string, e *entry) {
	if e == nil {
		delete(m, name)
	} else {
		m[name] = e
	}
}

// identity is the device and inode of st.
func identity(st *unix.Stat_t) [2]int64 { return [2]int64{int64(st.Dev), int64(st.Ino)} }

// whiteout reports whether st is an overlayfs whiteout: inside, the entry
// is deleted.
func whiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// hostDir is a real directory pent writes into: the shadowed directory,
// whose mode pent never changes, or one pent created.
type hostDir struct {
	fd   int
	mode uint32 // permission bits now
	own  bool   // pent created it and may change its mode
}

// openOwnDir opens the directory name below parent that pent created, and
// refuses it unless it is still the one identified by want.
func openOwnDir(parent int, name string, want [2]int64) (*hostDir, error) {
	fd, err := openBeneath(parent, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if identity(&st) != want {
		unix.Close(fd)
		return nil, errors.New("replaced outside the sandbox")
	}
	return &hostDir{fd: fd, mode: st.Mode & 0o7777, own: true}, nil
}

// writable lets pent create and delete entries in d, whose mode (copied
// from the sandbox) may not; settle sets the final mode.
func (d *hostDir) writable() error {
	if !d.own || d.mode&0o300 == 0o300 {
		return nil
	}
	if err := unix.Fchmod(d.fd, d.mode|0o300); err != nil {
		return err
	}
	d.mode |= 0o300
	return nil
}

// settle gives a directory pent created the permission bits want.
func (d *hostDir) settle(want uint32) error {
	if !d.own || d.mode == want {
		return nil
	}
	if err := unix.Fchmod(d.fd, want); err != nil {
		return err
	}
	d.mode = want
	return nil
}

func (d *hostDir) close() {
	if d.own {
		unix.Close(d.fd)
	}
}

// dirMode are the permission bits pent gives a copy of a directory: its
// own without setuid and setgid.
func dirMode(st *unix.Stat_t) uint32 { return st.Mode & (0o777 | unix.S_ISVTX) }

// readNames lists the directory name below dir and returns it open.
func readNames(dir int, name string) (*os.File, []string, error) {
	fd, err := openBeneath(dir, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	names, err := f.Readdirnames(-1)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, names, nil
}

// path is the real path of rel, a path below the shadowed directory.
func (sh *shadow) path(rel string) string { return filepath.Join(sh.Path, rel) }

// warnOnce reports msg unless it is the last one reported for rel.
func (sh *shadow) warnOnce(rel, msg string) {
	if sh.warned[rel] == msg {
		return
	}
	sh.warned[rel] = msg
	sh.warn("%s", msg)
}

// fail reports a write pent could not make (once) and remembers that the
// pass failed.
func (sh *shadow) fail(rel, format string, args ...any) {
	sh.failed = true
	sh.warnOnce(rel, fmt.Sprintf(format, args...))
}

// syncEntry brings the host up to date with the staged version of rel,
// which is name below parent on the host and below up in the upper layer;
// last is what pent put there so far. It returns what pent has there now.
// final is the pass at the end of the run.
func (sh *shadow) syncEntry(parent *hostDir, up int, name, rel string, last *entry, final bool) *entry {
	if sh.never(rel) {
		var st unix.Stat_t
		if unix.Fstatat(up, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && !whiteout(&st) {
			sh.warnOnce(rel, "the sandboxed command made "+sh.path(rel)+", where pent lets nothing through (the host runs or trusts what is there); pent did not copy it")
		}
		return last
	}
	var st unix.Stat_t
	err := unix.Fstatat(up, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case (errors.Is(err, unix.ENOENT) || err == nil && whiteout(&st)) && !final && last != nil && last.existed:
		return last // the user's file: removed at the end if it stays deleted
	case errors.Is(err, unix.ENOENT) || err == nil && whiteout(&st):
		return sh.remove(parent, name, rel, last)
	case err != nil:
		sh.fail(rel, "reading %s in the sandbox: %v", sh.path(rel), err)
		return last
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if last != nil && last.kids != nil {
			if last = sh.remove(parent, name, rel, last); last != nil {
				return last
			}
		}
		return sh.syncFile(parent, up, name, rel, last, &st, final)
	case unix.S_IFDIR:
		if last != nil && last.kids == nil {
			if last = sh.remove(parent, name, rel, last); last != nil {
				return last
			}
		}
		return sh.syncDir(parent, up, name, rel, last, &st, final)
	}
	sh.warnOnce(rel, "the sandboxed command made "+sh.path(rel)+" something that is not a regular file or a directory (a symbolic link?); pent did not copy it and left the real path as it was")
	return last
}

// syncFile copies a staged regular file when it changed since the last
// copy. The writable file itself, edited in place, is edited in place.
func (sh *shadow) syncFile(parent *hostDir, up int, name, rel string, last *entry, st *unix.Stat_t, final bool) *entry {
	if last != nil && last.upper == stampOf(st) && last.copied.Sub(time.Unix(0, st.Ctim.Nano())) > settled {
		return last
	}
	how := create
	var cur unix.Stat_t
	switch err := unix.Fstatat(parent.fd, name, &cur, unix.AT_SYMLINK_NOFOLLOW); {
	case errors.Is(err, unix.ENOENT):
	case err != nil:
		sh.fail(rel, "copying %s from the sandbox: %v", sh.path(rel), err)
		return last
	case last == nil || cur.Mode&unix.S_IFMT != unix.S_IFREG:
		sh.conflict(parent, up, name, rel, final)
		return last
	case rel == name && identity(&cur) == last.real && last.upper.dev == int64(st.Dev) && last.upper.ino == int64(st.Ino):
		how = inPlace
	default:
		how = replace
	}
	src, sst, err := openRegular(up, name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular) {
		return last // changed since the stat: the next pass sees it
	}
	if err != nil {
		sh.fail(rel, "copying %s from the sandbox: %v", sh.path(rel), err)
		return last
	}
	defer src.Close()
	copied := time.Now()
	if err := parent.writable(); err != nil {
		sh.fail(rel, "copying %s from the sandbox: %v", sh.path(rel), err)
		return last
	}
	written, err := copyInto(parent.fd, name, src, sst, how)
	if errors.Is(err, unix.EEXIST) {
		return last // created outside just now: the next pass sees it
	}
	if err != nil {
		sh.fail(rel, "copying %s from the sandbox: %v", sh.path(rel), err)
		return last
	}
	delete(sh.warned, rel)
	sh.wrote = true
	if err := journalLine(sh.syncedLog, newSyncedFile(rel, written.stamp, written.sum)); err != nil {
		sh.warnOnce(rel, fmt.Sprintf("journaling %s (a crash now would keep the run's version beside it): %v", sh.path(rel), err))
	}
	return &entry{real: [2]int64{written.dev, written.ino}, upper: stampOf(sst), copied: copied, existed: last != nil && last.existed}
}

// syncDir creates the real directory if it is absent, syncs every entry of
// the staged one into it and deletes what pent put there that the command
// deleted. Unchanged files cost one stat each.
func (sh *shadow) syncDir(parent *hostDir, up int, name, rel string, last *entry, st *unix.Stat_t, final bool) *entry {
	var cur unix.Stat_t
	switch err := unix.Fstatat(parent.fd, name, &cur, unix.AT_SYMLINK_NOFOLLOW); {
	case errors.Is(err, unix.ENOENT):
		if last = sh.makeDir(parent, name, rel); last == nil {
			return nil
		}
	case err != nil:
		sh.fail(rel, "copying %s from the sandbox: %v", sh.path(rel), err)
		return last
	case last == nil || identity(&cur) != last.real:
		sh.conflict(parent, up, name, rel, final)
		return last
	}
	d, err := openOwnDir(parent.fd, name, last.real)
	if err != nil {
		sh.fail(rel, "copying %s from the sandbox: %v", sh.path(rel), err)
		return last
	}
	defer d.close()
	staged, names, err := readNames(up, name)
	if err != nil {
		sh.fail(rel, "reading %s in the sandbox: %v", sh.path(rel), err)
		return last
	}
	defer staged.Close()
	upd := int(staged.Fd())
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		seen[n] = true
		put(last.kids, n, sh.syncEntry(d, upd, n, rel+"/"+n, last.kids[n], final))
	}
	for n, kid := range last.kids {
		if !seen[n] {
			put(last.kids, n, sh.remove(d, n, rel+"/"+n, kid))
		}
	}
	if err := d.settle(dirMode(st)); err != nil {
		sh.fail(rel, "setting the mode of %s: %v", sh.path(rel), err)
	}
	return last
}

// makeDir creates the real directory rel (name below parent), private
// until syncDir gives it its mode, and journals it. It returns nil when
// something else got there first (the next pass sees it) or on failure.
func (sh *shadow) makeDir(parent *hostDir, name, rel string) *entry {
	err := parent.writable()
	if err == nil {
		err = unix.Mkdirat(parent.fd, name, 0o700)
	}
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	var st unix.Stat_t
	if err == nil {
		var fd int
		if fd, err = openBeneath(parent.fd, name, unix.O_PATH|unix.O_DIRECTORY, 0); err == nil {
			err = unix.Fstat(fd, &st)
			unix.Close(fd)
		}
	}
	if err != nil {
		sh.fail(rel, "creating %s as the sandboxed command did: %v", sh.path(rel), err)
		return nil
	}
	sh.wrote = true
	if err := journalLine(sh.journal, madeDir{Path: rel, Dev: int64(st.Dev), Ino: int64(st.Ino)}); err != nil {
		sh.warnOnce(rel, fmt.Sprintf("journaling %s (a crash now would keep its content beside it): %v", sh.path(rel), err))
	}
	return &entry{real: identity(&st), kids: map[string]*entry{}}
}

// remove deletes what pent put at rel, as the sandboxed command deleted it:
// a file pent wrote, a directory pent created once pent's entries in it are
// gone. What changed outside the sandbox meanwhile, and all that pent did
// not put there, stays. It returns what is left there of pent's.
func (sh *shadow) remove(parent *hostDir, name, rel string, last *entry) *entry {
	if last == nil {
		return nil
	}
	var cur unix.Stat_t
	if err := unix.Fstatat(parent.fd, name, &cur, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil // gone already
	}
	if identity(&cur) != last.real {
		sh.warnOnce(rel, "the sandboxed command deleted "+sh.path(rel)+", which changed outside the sandbox meanwhile; pent kept it")
		return nil
	}
	flags := 0
	if last.kids != nil {
		d, err := openOwnDir(parent.fd, name, last.real)
		if err != nil {
			sh.fail(rel, "deleting %s as the sandboxed command did: %v", sh.path(rel), err)
			return last
		}
		for n, kid := range last.kids {
			put(last.kids, n, sh.remove(d, n, rel+"/"+n, kid))
		}
		d.close()
		if len(last.kids) > 0 {
			return last
		}
		flags = unix.AT_REMOVEDIR
	}
	err := parent.writable()
	if err == nil {
		err = unix.Unlinkat(parent.fd, name, flags)
	}
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.EEXIST):
		sh.warnOnce(rel, "the sandboxed command deleted "+sh.path(rel)+"; pent kept it, for it holds files made outside the sandbox")
		return nil
	}
	sh.fail(rel, "deleting %s as the sandboxed command did: %v", sh.path(rel), err)
	return last
}

// conflict handles a staged entry whose real path holds something made
// outside the sandbox during the run: pent neither mixes the sandbox's
// writes into it nor replaces it. During the run it says so; at the end it
// keeps the staged version beside it.
func (sh *shadow) conflict(parent *hostDir, up int, name, rel string, final bool) {
	path := sh.path(rel)
	if !final {
		sh.warnOnce(rel, path+" was created outside the sandbox while the sandboxed command wrote to it; pent leaves it as it is and will keep the command's version beside it as "+path+recoveredSuffix+" when the run ends")
		return
	}
	r := &recovery{sh: sh}
	var st unix.Stat_t
	err := unix.Fstatat(up, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	kept := ""
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		kept, err = r.keepTreeBeside(parent, up, name, rel)
	} else if err == nil {
		kept, err = keepFileBeside(parent, up, name)
		kept = filepath.Join(filepath.Dir(rel), kept)
	}
	for _, m := range r.msgs {
		sh.warn("%s", m)
	}
	if err != nil {
		sh.fail(rel, "keeping the sandboxed command's version of %s: %v", path, err)
		return
	}
	sh.warnOnce(rel, path+" was created outside the sandbox during the run; pent left it as it is and kept the sandboxed command's version in "+sh.path(kept))
}

// recoveredSuffix names the copy of a staged entry that pent keeps beside a
// real one it must not overwrite.
const recoveredSuffix = ".pent-recovered"

// besideName creates, with mk, the first free name of NAME.pent-recovered,
// NAME.pent-recovered-2, ... below dir and returns it.
func besideName(name string, mk func(string) error) (string, error) {
	for i := 1; i <= 100; i++ {
		n := name + recoveredSuffix
		if i > 1 {
			n = fmt.Sprintf("%s-%d", n, i)
		}
		err := mk(n)
		if !errors.Is(err, unix.EEXIST) {
			return n, err
		}
	}
	return "", fmt.Errorf("%s%s-1 to -100 all exist", name, recoveredSuffix)
}

// keepFileBeside copies the staged file name below up to a new file
// NAME.pent-recovered beside the real one and returns its name.
func keepFileBeside(parent *hostDir, up int, name string) (string, error) {
	src, st, err := openRegular(up, name)
	if err != nil {
		return "", err
	}
	defer src.Close()
	if err := parent.writable(); err != nil {
		return "", err
	}
	return besideName(name, func(n string) error {
		_, err := copyInto(parent.fd, n, src, st, create)
		return err
	})
}

// tempSeq makes the names of copyInto's temporary files unique.
var tempSeq atomic.Uint64

// placement is how copyInto puts a file in place.
type placement int

const (
	create  placement = iota // a new file renamed into place; EEXIST when something is there
	replace                  // a new file renamed over whatever file is there
	inPlace                  // the existing file rewritten (its inode stays)
)

// beneath resolves one entry below a directory descriptor, never through a
// symbolic link, a magic link or a mount point.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openBeneath opens name below dir without following any link.
func openBeneath(dir int, name string, flags uint64, mode uint64) (int, error) {
	return unix.Openat2(dir, name, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC | unix.O_NOFOLLOW, Mode: mode, Resolve: beneath})
}

// errNotRegular is an entry that is something else than the regular file
// expected (a symbolic link, a directory, a device node).
var errNotRegular = errors.New("not a regular file")

// openRegular opens the regular file name below dir for reading; it returns
// fs.ErrNotExist when there is none and errNotRegular for anything else,
// which it never opens.
func openRegular(dir int, name string) (*os.File, *unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, errNotRegular
	}
	fd, err := openBeneath(dir, name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENXIO), errors.Is(err, unix.EXDEV):
		return nil, nil, errNotRegular
	case err != nil:
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), name)
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

// copied is a file copyInto wrote: its stamp once in place, and the
// SHA-256 digest of the content.
type copied struct {
	stamp
	sum []byte
}

// copyInto makes name below dir hold src's content, permission bits and
// times, placed as how says; a new file is written beside name and renamed
// over it, so that readers see the old or the new content, never a
// mixture. It returns the file written.
func copyInto(dir int, name string, src *os.File, st *unix.Stat_t, how placement) (copied, error) {
	target, flags, mode := name, uint64(unix.O_WRONLY), uint64(0)
	if how != inPlace {
		target = fmt.Sprintf(".pent-%d-%d", time.Now().UnixNano(), tempSeq.Add(1))
		flags, mode = flags|unix.O_CREAT|unix.O_EXCL, 0o600
	}
	fd, err := openBeneath(dir, target, flags, mode)
	if err != nil {
		return copied{}, err
	}
	dst := os.NewFile(uintptr(fd), target)
	defer dst.Close()
	sum, err := writeContent(dst, src, st)
	if err == nil && how != inPlace {
		rename := uint(0)
		if how == create {
			rename = unix.RENAME_NOREPLACE
		}
		err = unix.Renameat2(dir, target, dir, name, rename)
	}
	if err != nil {
		if how != inPlace {
			_ = unix.Unlinkat(dir, target, 0)
		}
		return copied{}, err
	}
	// After the rename, which changes the ctime.
	var out unix.Stat_t
	if err := unix.Fstat(fd, &out); err != nil {
		return copied{}, err
	}
	return copied{stampOf(&out), sum}, nil
}

// writeContent copies src (from its start) into dst, cuts dst to the same
// size and sets the permission bits (without setuid, setgid and sticky)
// and times of st. It returns the SHA-256 digest of what it wrote.
// Durability comes from one syncfs before the staged copy is removed, not
// from a fsync per file.
func writeContent(dst, src *os.File, st *unix.Stat_t) ([]byte, error) {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if err != nil {
		return nil, err
	}
	fd := int(dst.Fd())
	if err := unix.Ftruncate(fd, n); err != nil {
		return nil, err
	}
	if err := unix.Fchmod(fd, st.Mode&0o777); err != nil {
		return nil, err
	}
	ts := []unix.Timeval{unix.NsecToTimeval(unix.TimespecToNsec(st.Atim)), unix.NsecToTimeval(unix.TimespecToNsec(st.Mtim))}
	if err := unix.Futimes(fd, ts); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// syncFS flushes the filesystem of the directory dir (a descriptor of any
// kind) to disk.
func syncFS(dir int) error {
	fd, err := openBeneath(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}
