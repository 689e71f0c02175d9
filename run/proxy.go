package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/sandbox"
)

// attachFunc connects a proxy-mode sandbox's capture sockets to a proxy
// (sandbox.LaunchOptions.Attach).
type attachFunc = func(files []*os.File) (io.Closer, error)

// proxyChoice is the proxy a proxy-mode run uses: the project's daemon
// (enforcing pol too), or a private proxy of this pent process enforcing
// pol that appends its decisions to logPath (and writes them to extra, when
// not nil).
type proxyChoice struct {
	daemon  *proxy.Client
	pol     *proxy.Policy
	logPath string
	extra   io.Writer
}

// chooseProxy chooses the proxy a proxy-mode run uses. With an allowed
// project it is the project's shared daemon (started if none runs) — but
// only when the daemon enforces exactly this run's proxy settings: flags,
// --config, --no-config or PENT_* variables that change them get a private
// proxy for this run instead, so that a run is never given a wider (or a
// narrower) allowlist than it asked for. Without a project the run always
// gets a private proxy. Any failure refuses the run. A traced run (tr not
// nil) gets the proxy's denials: a private proxy writes them to tr as well,
// the project's proxy is asked for them after the run.
func (x *runner) chooseProxy(tr *traceRun) (proxyChoice, error) {
	l := x.c
	var resolvers []string
	if len(l.Effective.UpstreamDNS) == 0 {
		var err error
		if resolvers, err = HostResolvers(); err != nil {
			return proxyChoice{}, err
		}
	}
	pol, err := proxy.Compile(ProxySettings(l.Effective), resolvers)
	if err != nil {
		return proxyChoice{}, fmt.Errorf("the [proxy] settings: %w", err)
	}
	if tr != nil {
		tr.hinter.Allow = pol.Allow
	}
	if root := l.Root(); root != "" {
		rt, err := x.h.RuntimeDir()
		if err != nil {
			return proxyChoice{}, err
		}
		c, err := proxy.Ensure(rt, root, startProxyDaemon(rt, root))
		if err != nil {
			return proxyChoice{}, fmt.Errorf("starting the project's proxy: %w (see `pent proxy logs`; run `pent proxy stop` to restart it)", err)
		}
		st, err := c.Status()
		if err != nil {
			return proxyChoice{}, fmt.Errorf("asking the project's proxy for its policy: %w", err)
		}
		if st.Policy == pol.Summary() {
			if tr != nil {
				tr.daemon = c
			}
			return proxyChoice{daemon: c, pol: pol}, nil
		}
	}
	logPath, err := x.privateProxyLog()
	if err != nil {
		return proxyChoice{}, err
	}
	choice := proxyChoice{pol: pol, logPath: logPath}
	if tr != nil {
		choice.extra = tr
		tr.proxyLog = logPath
	}
	return choice, nil
}

// proxyAttach connects the capture sockets of a proxy-mode sandbox (Linux)
// to the proxy chooseProxy chose, and returns the ports of the sandbox's
// loopback that go to the proxy as localhost (Policy.ProxyLoopbackPorts).
func (x *runner) proxyAttach(tr *traceRun) (attachFunc, []int, error) {
	choice, err := x.chooseProxy(tr)
	if err != nil {
		return nil, nil, err
	}
	if choice.daemon != nil {
		return projectAttach(choice.daemon), choice.pol.LocalhostPorts(), nil
	}
	return privateAttach(choice.pol, choice.logPath, choice.extra), choice.pol.LocalhostPorts(), nil
}

// loopbackProxy is a proxy session a sandbox reaches on the host's
// loopback (macOS): its port, its token, and what ends it.
type loopbackProxy struct {
	port  int
	token string
	io.Closer
}

// proxyLoopback opens an authenticated loopback session of the proxy
// chooseProxy chose; it lasts until the returned session is closed.
func (x *runner) proxyLoopback(tr *traceRun) (loopbackProxy, error) {
	choice, err := x.chooseProxy(tr)
	if err != nil {
		return loopbackProxy{}, err
	}
	if choice.daemon != nil {
		lb, err := choice.daemon.SessionLoopback()
		if err != nil {
			return loopbackProxy{}, fmt.Errorf("the project's proxy: %w", err)
		}
		return loopbackProxy{lb.Port, lb.Token, lb}, nil
	}
	return privateLoopback(choice.pol, choice.logPath, choice.extra)
}

// useLoopback points a macOS sandbox at its proxy session lp (the sandbox
// sets the proxy variables with its credentials). connector is the real
// path of this binary, which the command may run as git's ssh
// ProxyCommand.
func useLoopback(opts *sandbox.LaunchOptions, lp loopbackProxy, connector string) {
	opts.ProxyPort, opts.ProxyUser, opts.ProxyToken, opts.Connector = lp.port, proxy.SessionUser, lp.token, connector
}

// projectAttach hands the sockets to the project's daemon for the life of
// the sandbox.
func projectAttach(c *proxy.Client) attachFunc {
	return func(files []*os.File) (io.Closer, error) {
		defer closeFiles(files) // the daemon holds its own copies
		s, err := c.Session(files...)
		if err != nil {
			return nil, fmt.Errorf("the project's proxy: %w", err)
		}
		return s, nil
	}
}

// privateProxyLog is where a private proxy writes its decisions:
// $XDG_STATE_HOME/pent/proxy.log (the directory is created 0700).
func (x *runner) privateProxyLog() (string, error) {
	dir := x.h.StateDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the directory of the proxy log: %w", err)
	}
	return filepath.Join(dir, "proxy.log"), nil
}

// privateAttach serves the sockets with a proxy of this pent process alone,
// appending its decisions to logPath (and writing them to extra, when not
// nil), until the returned Closer is closed.
func privateAttach(pol *proxy.Policy, logPath string, extra io.Writer) attachFunc {
	return func(files []*os.File) (io.Closer, error) {
		logFile, logw, err := openProxyLog(logPath, extra)
		if err != nil {
			closeFiles(files)
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done, err := proxy.New(pol, logw).StartSession(ctx, proxy.SessionInfo{PID: os.Getpid()}, files...)
		if err != nil {
			cancel()
			logFile.Close()
			return nil, fmt.Errorf("the run's proxy: %w", err)
		}
		return &privateSession{cancel: cancel, done: done, log: logFile}, nil
	}
}

// privateLoopback serves an authenticated loopback session with a proxy of
// this pent process alone, logging like privateAttach, until the returned
// session is closed.
func privateLoopback(pol *proxy.Policy, logPath string, extra io.Writer) (loopbackProxy, error) {
	logFile, logw, err := openProxyLog(logPath, extra)
	if err != nil {
		return loopbackProxy{}, err
	}
	lb, err := proxy.New(pol, logw).ServeLoopback(context.Background(), proxy.SessionInfo{PID: os.Getpid()})
	if err != nil {
		logFile.Close()
		return loopbackProxy{}, fmt.Errorf("the run's proxy: %w", err)
	}
	return loopbackProxy{lb.Port, lb.Token, closerFunc(func() error { return errors.Join(lb.Close(), logFile.Close()) })}, nil
}

// openProxyLog opens a private proxy's log for appending and returns it and
// the writer its decisions go to (the log, and extra when not nil).
func openProxyLog(logPath string, extra io.Writer) (*os.File, io.Writer, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the proxy log: %w", err)
	}
	if extra == nil {
		return logFile, logFile, nil
	}
	return logFile, io.MultiWriter(logFile, extra), nil
}

// closerFunc is a function as an io.Closer.
type closerFunc func() error

// Close calls f.
func (f closerFunc) Close() error { return f() }

// privateSession is a running private proxy.
type privateSession struct {
	cancel context.CancelFunc
	done   <-chan error
	log    *os.File
}

// Close stops the proxy, which closes the sockets and every connection, and
// closes the log.
func (s *privateSession) Close() error {
	s.cancel()
	err := <-s.done
	return errors.Join(err, s.log.Close())
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// ProxySettings is the proxy part of a resolved configuration, with the names
// the host resolves itself.
func ProxySettings(e *config.Effective) proxy.Settings {
	return proxy.Settings{Allow: e.Domains, UpstreamDNS: e.UpstreamDNS, Destinations: e.Destinations, HostNames: hostNames()}
}

// hostNames reads the host's hosts file; without one only localhost is
// host-local.
func hostNames() map[string][]netip.Addr {
	f, err := os.Open("/etc/hosts")
	if err != nil {
		return nil
	}
	defer f.Close()
	return proxy.ParseHosts(f)
}

// HostResolvers reads the host's DNS servers.
func HostResolvers() ([]string, error) {
	rc, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("reading the host's DNS servers: %w; set [proxy] upstream_dns", err)
	}
	defer rc.Close()
	return proxy.HostResolvers(rc), nil
}

// startProxyDaemon launches `pent proxy serve` for root in the background,
// in its own session, logging to a file beside its socket.
func startProxyDaemon(rt, root string) func() error {
	return func() error {
		logPath := filepath.Join(filepath.Dir(proxy.SocketPath(rt, root)), "daemon.log")
		logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer logFile.Close()
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.Command(self, "proxy", "serve", "--project", root)
		cmd.Dir = root
		cmd.Env = os.Environ()
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		return cmd.Process.Release()
	}
}
