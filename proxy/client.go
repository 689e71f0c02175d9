package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Ensure start-up limits.
const (
	startTimeout = 5 * time.Second
	startPoll    = 10 * time.Millisecond
)

// Client talks to a project's proxy daemon over its control socket.
type Client struct {
	path string
}

// NewClient returns a client for the daemon at socketPath; it does not
// connect until a request is made.
func NewClient(socketPath string) *Client { return &Client{path: socketPath} }

// Ensure returns a client of projectRoot's daemon, calling start (which must
// launch `pent proxy` in the background) if none answers. Concurrent callers
// serialise on a lock file, so only one of them starts a daemon.
func Ensure(runtimeDir, projectRoot string, start func() error) (*Client, error) {
	path := SocketPath(runtimeDir, projectRoot)
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	c := NewClient(path)
	if _, err := c.Status(); err == nil {
		return c, nil
	}
	lock, err := lockFile(filepath.Join(filepath.Dir(path), "ensure.lock"), true)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if _, err := c.Status(); err == nil {
		return c, nil // another caller started it while we waited
	}
	if err := start(); err != nil {
		return nil, fmt.Errorf("proxy: start daemon: %w", err)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		_, err := c.Status()
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("proxy: daemon did not answer within %v: %w", startTimeout, err)
		}
		time.Sleep(startPoll)
	}
}

// dial connects to the daemon and checks that it runs as this user: a
// socket another user serves (one who owns the runtime directory, or swapped
// the socket in it) is refused before any request or file is sent.
func (c *Client) dial() (*net.UnixConn, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: c.path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("proxy: connect to daemon: %w", err)
	}
	_, uid, err := peerCred(conn)
	if err == nil && uid != os.Geteuid() {
		err = fmt.Errorf("it is served by uid %d, not by you (uid %d); remove %q and run pent again", uid, os.Geteuid(), c.path)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxy: daemon socket: %w", err)
	}
	return conn, nil
}

func (c *Client) call(req request) (response, error) {
	conn, err := c.dial()
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := sendRequest(conn, req, nil); err != nil {
		return response{}, err
	}
	return readResponse(conn)
}

// Status asks the daemon for its state.
func (c *Client) Status() (Status, error) {
	r, err := c.call(request{Op: opStatus})
	if err != nil {
		return Status{}, err
	}
	if r.Status == nil {
		return Status{}, errors.New("proxy: daemon sent no status")
	}
	return *r.Status, nil
}

// Stop asks the daemon to exit; its sessions end.
func (c *Client) Stop() error {
	_, err := c.call(request{Op: opStop})
	return err
}

// Logs returns up to n recent decision lines (JSON).
func (c *Client) Logs(n int) ([]byte, error) {
	r, err := c.call(request{Op: opLogs, Lines: n})
	return []byte(r.Logs), err
}

// Session hands the sandbox's capture sockets (CaptureFiles.Files order: TCP
// listener, UDP DNS, TCP DNS) to the daemon, which serves them until the
// returned Closer is closed (or this process exits). The caller may close
// its own copies of files once Session returns.
func (c *Client) Session(files ...*os.File) (io.Closer, error) {
	conn, _, err := c.openSession(request{Op: opSession}, files)
	if err != nil {
		return nil, err
	}
	return sessionCloser{conn}, nil
}

// openSession sends a session request and returns the daemon's answer and
// the connection, which stays open for the life of the session.
func (c *Client) openSession(req request, files []*os.File) (*net.UnixConn, response, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, response{}, err
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := sendRequest(conn, req, files); err != nil {
		conn.Close()
		return nil, response{}, err
	}
	r, err := readResponse(conn)
	if err != nil {
		conn.Close()
		return nil, response{}, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, r, nil
}

// sessionCloser ends a session and waits (briefly) until the daemon has
// closed the session's sockets, which it signals by closing its end.
type sessionCloser struct{ conn *net.UnixConn }

func (s sessionCloser) Close() error {
	defer s.conn.Close()
	if err := s.conn.CloseWrite(); err != nil {
		return fmt.Errorf("proxy: end session: %w", err)
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(startTimeout))
	if _, err := io.Copy(io.Discard, s.conn); err != nil {
		return fmt.Errorf("proxy: end session: %w", err)
	}
	return nil
}
