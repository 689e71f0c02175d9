package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// DefaultIdleTimeout is how long a daemon with no sessions and no
// connections waits before it exits.
const DefaultIdleTimeout = 10 * time.Minute

// reloadDebounce groups the bursts of events an editor's save produces.
const reloadDebounce = 100 * time.Millisecond

// ErrDaemonRunning is returned by RunDaemon when another daemon already
// serves the socket.
var ErrDaemonRunning = errors.New("proxy: a daemon is already running for this project")

// DaemonConfig configures RunDaemon.
type DaemonConfig struct {
	// SocketPath is where the control socket goes (see SocketPath). Its
	// directory is created 0700 if missing and must be private.
	SocketPath string
	// Reload returns the current proxy settings: called once at start and
	// again whenever a Watch file changes. It should apply trust: an
	// untrusted project file contributes nothing.
	Reload func() (Settings, error)
	// HostResolvers are used when Settings.UpstreamDNS is empty.
	HostResolvers []string
	// Watch lists the config files whose changes trigger Reload.
	Watch []string
	// IdleTimeout: exit after this long without sessions or connections.
	// Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Log receives one JSON line per decision; Errors receives the daemon's
	// own messages (reload failures). Either may be nil.
	Log, Errors io.Writer
}

// SocketPath returns the control socket of projectRoot's daemon:
// runtimeDir/pent/<first 16 hex digits of sha256(projectRoot)>/proxy.sock.
func SocketPath(runtimeDir, projectRoot string) string {
	sum := sha256.Sum256([]byte(projectRoot))
	return filepath.Join(runtimeDir, "pent", hex.EncodeToString(sum[:8]), "proxy.sock")
}

// ensurePrivateDir creates dir and its parent with mode 0700 and checks that
// both belong to us and are not accessible to anyone else.
func ensurePrivateDir(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("proxy: create runtime directory: %w", err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil {
			return fmt.Errorf("proxy: runtime directory: %w", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
			return fmt.Errorf("proxy: runtime directory %s must be a directory owned by uid %d with mode 0700", d, os.Geteuid())
		}
	}
	return nil
}

// lockFile takes an exclusive flock on path; with wait false it fails at once
// when the lock is held.
func lockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("proxy: lock: %w", err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("proxy: lock %s: %w", path, err)
	}
	return f, nil
}

// daemon is a running RunDaemon.
type daemon struct {
	cfg   DaemonConfig
	proxy *Proxy
	ln    *net.UnixListener

	ctx      context.Context
	stop     context.CancelFunc
	sessions sync.WaitGroup
}

// RunDaemon runs a project's proxy daemon until it is stopped (control
// request "stop"), or until it has been idle for cfg.IdleTimeout. It serves
// sandbox sessions passed over its control socket and reloads its policy
// when a watched file changes; on a failed reload the last good policy stays
// in force.
func RunDaemon(cfg DaemonConfig) error {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	dir := filepath.Dir(cfg.SocketPath)
	if err := ensurePrivateDir(dir); err != nil {
		return err
	}
	lock, err := lockFile(filepath.Join(dir, "daemon.lock"), false)
	if err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return ErrDaemonRunning
		}
		return err
	}
	defer lock.Close()
	pol, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	// We hold the daemon lock, so a socket file left here is stale.
	if err := os.Remove(cfg.SocketPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("proxy: remove stale socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.SocketPath, Net: "unix"})
	if err != nil {
		return fmt.Errorf("proxy: listen: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	d := &daemon{cfg: cfg, proxy: New(pol, cfg.Log), ln: ln}
	d.ctx, d.stop = context.WithCancel(context.Background())
	defer d.stop()
	if err := d.watch(); err != nil {
		ln.Close()
		return err
	}
	go d.exitWhenIdle()
	go func() {
		<-d.ctx.Done()
		ln.Close()
	}()
	d.acceptLoop()
	d.sessions.Wait()
	return nil
}

func loadPolicy(cfg DaemonConfig) (*Policy, error) {
	s, err := cfg.Reload()
	if err != nil {
		return nil, fmt.Errorf("proxy: load settings: %w", err)
	}
	return Compile(s, cfg.HostResolvers)
}

func (d *daemon) logf(format string, args ...any) {
	if d.cfg.Errors != nil {
		fmt.Fprintf(d.cfg.Errors, "pent proxy: "+format+"\n", args...)
	}
}

func (d *daemon) acceptLoop() {
	for {
		c, err := d.ln.AcceptUnix()
		if err != nil {
			if d.ctx.Err() == nil {
				d.logf("accept: %v", err)
				d.stop()
			}
			return
		}
		d.proxy.touch()
		go d.serveControl(c)
	}
}

func (d *daemon) exitWhenIdle() {
	t := time.NewTicker(max(d.cfg.IdleTimeout/10, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			st := d.proxy.Stats()
			if st.Sessions == 0 && st.Connections == 0 && st.Idle >= d.cfg.IdleTimeout {
				d.stop()
				return
			}
		}
	}
}

func (d *daemon) serveControl(c *net.UnixConn) {
	defer c.Close()
	pid, uid, err := peerCred(c)
	if err != nil || (uid != os.Geteuid() && uid != 0) {
		_ = writeResponse(c, response{Error: "permission denied"})
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	req, files, err := readRequest(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		closeFiles(files)
		_ = writeResponse(c, response{Error: err.Error()})
		return
	}
	if req.Op != opSession {
		closeFiles(files)
	}
	switch req.Op {
	case opStatus:
		_ = writeResponse(c, response{OK: true, Status: d.status()})
	case opStop:
		_ = writeResponse(c, response{OK: true})
		d.stop()
	case opLogs:
		_ = writeResponse(c, response{OK: true, Logs: string(d.proxy.Logs(max(req.Lines, 1)))})
	case opSession:
		d.serveSession(c, pid, files)
	case opSessionLoopback:
		d.serveLoopback(c, pid)
	default:
		_ = writeResponse(c, response{Error: fmt.Sprintf("unknown request %q", req.Op)})
	}
}

func (d *daemon) status() *Status {
	st := d.proxy.Stats()
	return &Status{
		PID: os.Getpid(), Sessions: st.Sessions, Connections: st.Connections,
		UptimeSeconds: st.Uptime.Seconds(), Policy: d.proxy.Policy().Summary(),
	}
}

// serveSession serves the passed capture sockets until the client closes its
// connection or the daemon stops.
func (d *daemon) serveSession(c *net.UnixConn, pid int, files []*os.File) {
	d.sessions.Add(1)
	defer d.sessions.Done()
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- d.proxy.serveSession(ctx, SessionInfo{PID: pid}, files, func(id string) {
			_ = writeResponse(c, response{OK: true, Session: id})
		})
	}()
	go func() {
		_, _ = io.Copy(io.Discard, c) // returns when the client goes away
		cancel()
	}()
	if err := <-done; err != nil && ctx.Err() == nil {
		_ = writeResponse(c, response{Error: err.Error()})
	}
}

// watch reloads the policy when one of cfg.Watch changes. It watches the
// files' directories (editors replace files by renaming) and ignores
// directories that do not exist; a Watch entry that is a directory is
// watched itself too, so that a file written inside it (an allow record)
// counts as a change.
func (d *daemon) watch() error {
	if len(d.cfg.Watch) == 0 {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("proxy: watch config: %w", err)
	}
	files := map[string]bool{}
	for _, f := range d.cfg.Watch {
		f = filepath.Clean(f)
		files[f] = true
		dirs := []string{filepath.Dir(f)}
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			dirs = append(dirs, f)
		}
		for _, dir := range dirs {
			if err := w.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				w.Close()
				return fmt.Errorf("proxy: watch %s: %w", dir, err)
			}
		}
	}
	go d.reloadOnEvents(w, files)
	return nil
}

func (d *daemon) reloadOnEvents(w *fsnotify.Watcher, files map[string]bool) {
	defer w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if name := filepath.Clean(ev.Name); files[name] || files[filepath.Dir(name)] {
				timer.Reset(reloadDebounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			d.logf("watching config files: %v", err)
		case <-timer.C:
			d.reload()
		}
	}
}

func (d *daemon) reload() {
	pol, err := loadPolicy(d.cfg)
	if err != nil {
		d.logf("reload failed, keeping the previous policy: %v", err)
		return
	}
	d.proxy.SetPolicy(pol)
	d.logf("policy reloaded: %s", pol.Summary())
}
