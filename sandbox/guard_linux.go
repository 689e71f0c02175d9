package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GuardWatch moves forbidden entries out of a project's guarded directories
// as soon as they appear: an inotify watch on each directory, served by one
// goroutine on the host side of the sandbox. Start it before the command
// and Stop it after: Stop sweeps once more, so an entry the events missed
// (a full queue) is still moved.
type GuardWatch struct {
	guard Guard
	move  func(root, path string) error
	fd    int
	dirs  map[int32]GuardDir // by watch descriptor
	stopR *os.File
	stopW *os.File
	done  chan struct{}

	mu       sync.Mutex
	err      error
	replaced []string // protected entries a NAME.lock appeared beside
}

// WatchGuard starts watching g's directories; move is called with the
// project root and the path of each forbidden entry that appears (it must
// take the entry out of the directory, or fail).
func WatchGuard(g Guard, move func(root, path string) error) (*GuardWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watching the project's protected entries: inotify: %w", err)
	}
	w := &GuardWatch{guard: g, move: move, fd: fd, dirs: map[int32]GuardDir{}, done: make(chan struct{})}
	for _, d := range g.Dirs {
		wd, err := unix.InotifyAddWatch(fd, d.Dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW)
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("watching %s for protected entries: %w", d.Dir, err)
		}
		w.dirs[int32(wd)] = d
	}
	if w.stopR, w.stopW, err = os.Pipe(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watching the project's protected entries: %w", err)
	}
	go w.serve()
	return w, nil
}

// Stop ends the watch, sweeps the guarded directories a last time and
// returns the first error met during the run.
func (w *GuardWatch) Stop() error {
	w.stopW.Close()
	<-w.done
	w.stopR.Close()
	unix.Close(w.fd)
	if err := w.guard.FinalSweep(w.move); err != nil {
		w.fail(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// serve handles events until Stop, on a thread of its own that the kernel
// runs first when an event wakes it (urgent).
func (w *GuardWatch) serve() {
	defer close(w.done)
	// Never unlocked: the thread ends with this goroutine, and its
	// scheduling class with it.
	runtime.LockOSThread()
	urgent()
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}, {Fd: int32(w.stopR.Fd()), Events: unix.POLLIN}}
	buf := make([]byte, 64*1024)
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			w.fail(fmt.Errorf("watching the project's protected entries: %w", err))
			return
		}
		if fds[1].Revents != 0 {
			w.drain(buf)
			return
		}
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			w.fail(fmt.Errorf("watching the project's protected entries: %w", err))
			return
		}
		w.handle(buf[:n])
	}
}

// urgent makes the calling thread run as soon as it wakes: the lowest
// real-time priority (SCHED_FIFO 1), which preempts every ordinary task
// on a loaded machine. Only root may ask for it; anyone else's guard
// stays an ordinary task and asks for the shortest time slice (0.1 ms),
// which lets it preempt the running task of its own scheduling group
// when it wakes (EEVDF, Linux 6.12), and moves every entry all the same,
// only later. The thread's work is bounded by the events the command
// makes, and the kernel's real-time throttling leaves ordinary tasks a
// share; nothing the thread starts inherits the class.
func urgent() {
	if unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Flags: unix.SCHED_FLAG_RESET_ON_FORK, Priority: 1}, 0) != nil {
		_ = unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_NORMAL, Runtime: 100_000}, 0)
	}
}

// drain handles the events queued when Stop was called, so that what the
// command did last is not lost (the final sweep finds forbidden entries,
// not attempts to replace protected ones).
func (w *GuardWatch) drain(buf []byte) {
	for {
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		w.handle(buf[:n])
	}
}

// handle acts on a buffer of inotify events.
func (w *GuardWatch) handle(buf []byte) {
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
		off += unix.SizeofInotifyEvent + int(ev.Len)
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			w.sweep()
			continue
		}
		d, ok := w.dirs[ev.Wd]
		if !ok || ev.Len == 0 {
			continue
		}
		name := unix.ByteSliceToString(nameBytes)
		p := filepath.Join(d.Dir, name)
		if base, ok := strings.CutSuffix(name, ".lock"); ok && slices.Contains(d.Existing, base) && d.Forbidden(base) {
			w.noteReplace(filepath.Join(d.Dir, base))
		}
		if !slices.Contains(d.Existing, name) && d.Forbidden(name) {
			w.take(d.Root, p)
		} else if gd, stray := w.guard.StrayAt(p); stray {
			w.take(gd.Root, p)
		}
	}
}

// sweep moves what appeared without an event being handled, as an
// ordinary task: it walks the guarded directories, which takes long, and
// the command can make the event queue overflow at will.
func (w *GuardWatch) sweep() {
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_NORMAL}, 0)
	defer urgent()
	if err := w.guard.Sweep(w.move); err != nil {
		w.fail(err)
	}
}

// take moves p aside; an entry already gone (moved or removed) is no error.
func (w *GuardWatch) take(root, p string) {
	if err := w.move(root, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.fail(err)
	}
}

// noteReplace records that the command began to replace the protected
// entry p the way git and other lock-file writers do (NAME.lock, then a
// rename over NAME), which fails because the sandbox keeps p read-only.
func (w *GuardWatch) noteReplace(p string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.replaced, p) {
		w.replaced = append(w.replaced, p)
	}
}

// Replaced lists the protected entries that existed when the command
// started and that it tried to replace through a NAME.lock sibling (`git
// config` writing .git/config): the write failed, with an error such as
// "Device or resource busy" that does not say why, so pent says it.
func (w *GuardWatch) Replaced() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.replaced)
}

// fail keeps the first error.
func (w *GuardWatch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}
