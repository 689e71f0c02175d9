package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pent-sandbox/pent/proxy"
)

// attachFunc connects a proxy-mode sandbox's capture sockets to a proxy
// (sandbox.LaunchOptions.Attach).
type attachFunc = func(files []*os.File) (io.Closer, error)

// proxyAttach chooses the proxy a proxy-mode run uses. With an allowed
// project it is the project's shared daemon (started if none runs) — but
// only when the daemon enforces exactly this run's proxy settings: flags,
// --config, --no-config or PENT_* variables that change them get a private
// proxy for this run instead, so that a run is never given a wider (or a
// narrower) allowlist than it asked for. Without a project the run always
// gets a private proxy. Any failure refuses the run. A traced run (tr not
// nil) gets the proxy's denials: a private proxy writes them to tr as well,
// the project's proxy is asked for them after the run.
func (o *RunOptions) proxyAttach(l *loaded, tr *traceRun) (attachFunc, error) {
	f := o.Factory
	var resolvers []string
	if len(l.Effective.UpstreamDNS) == 0 {
		var err error
		if resolvers, err = hostResolvers(); err != nil {
			return nil, err
		}
	}
	pol, err := proxy.Compile(proxySettings(l.Effective), resolvers)
	if err != nil {
		return nil, fmt.Errorf("the [proxy] settings: %w", err)
	}
	if tr != nil {
		tr.hinter.Allow = pol.Allow
	}
	if root := l.Root(); root != "" {
		rt, err := f.RuntimeDir()
		if err != nil {
			return nil, err
		}
		c, err := proxy.Ensure(rt, root, f.startProxyDaemon(rt, root))
		if err != nil {
			return nil, fmt.Errorf("starting the project's proxy: %w (see `pent proxy logs`; run `pent proxy stop` to restart it)", err)
		}
		st, err := c.Status()
		if err != nil {
			return nil, fmt.Errorf("asking the project's proxy for its policy: %w", err)
		}
		if st.Policy == pol.Summary() {
			if tr != nil {
				tr.daemon = c
			}
			return projectAttach(c), nil
		}
	}
	logPath, err := o.privateProxyLog()
	if err != nil {
		return nil, err
	}
	var extra io.Writer
	if tr != nil {
		extra = tr
	}
	return privateAttach(pol, logPath, extra), nil
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
func (o *RunOptions) privateProxyLog() (string, error) {
	dir, err := o.Factory.StateDir()
	if err != nil {
		return "", err
	}
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
		logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			closeFiles(files)
			return nil, fmt.Errorf("opening the proxy log: %w", err)
		}
		var logw io.Writer = logFile
		if extra != nil {
			logw = io.MultiWriter(logFile, extra)
		}
		px := proxy.New(pol, logw)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- px.ServeSession(ctx, proxy.SessionInfo{PID: os.Getpid()}, files...) }()
		if err := waitServing(px, done); err != nil {
			cancel()
			logFile.Close()
			return nil, fmt.Errorf("the run's proxy: %w", err)
		}
		return &privateSession{cancel: cancel, done: done, log: logFile}, nil
	}
}

// waitServing returns once px has opened its session, or the error that
// ended ServeSession before it did.
func waitServing(px *proxy.Proxy, done <-chan error) error {
	for px.Stats().Sessions == 0 {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("the session ended before it served")
			}
			return err
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

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
