package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The control protocol: a client connects to the daemon's UNIX socket and
// sends one JSON request line (for "session", with the sandbox's three
// capture sockets attached as SCM_RIGHTS); the daemon answers with one JSON
// line. A session connection then stays open for the life of the session.
// "session-loopback" asks for an authenticated loopback listener instead
// (macOS); the answer carries its port and token.

// Control operations.
const (
	opStatus  = "status"
	opStop    = "stop"
	opLogs    = "logs"
	opSession = "session"
	// opSessionLoopback asks for an authenticated loopback listener.
	opSessionLoopback = "session-loopback"
)

const (
	maxRequestSize = 4096
	maxPassedFiles = 8
)

type request struct {
	Op    string `json:"op"`
	Lines int    `json:"lines,omitempty"`
}

type response struct {
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	Status  *Status `json:"status,omitempty"`
	Logs    string  `json:"logs,omitempty"`
	Session string  `json:"session,omitempty"`
	Port    int     `json:"port,omitempty"`
	Token   string  `json:"token,omitempty"`
}

// Status is the daemon's answer to `pent proxy status`.
type Status struct {
	PID           int     `json:"pid"`
	Sessions      int64   `json:"sessions"`
	Connections   int64   `json:"connections"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	Policy        string  `json:"policy"`
}

// sendRequest writes req as one message, with files attached.
func sendRequest(c *net.UnixConn, req request, files []*os.File) error {
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("proxy: encode request: %w", err)
	}
	line = append(line, '\n')
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix(line, oob, nil); err != nil {
		return fmt.Errorf("proxy: send %s request: %w", req.Op, err)
	}
	return nil
}

// readRequest reads one request line and the files passed with it. The
// caller owns (and must close) the returned files, also on error.
func readRequest(c *net.UnixConn) (request, []*os.File, error) {
	var req request
	buf := make([]byte, maxRequestSize)
	oob := make([]byte, unix.CmsgSpace(maxPassedFiles*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return req, nil, fmt.Errorf("proxy: read request: %w", err)
	}
	files, ferr := parseRights(oob[:oobn])
	if ferr == nil && flags&unix.MSG_CTRUNC != 0 {
		ferr = fmt.Errorf("proxy: more than %d files passed", maxPassedFiles)
	}
	if ferr != nil {
		return req, files, ferr
	}
	line := buf[:n]
	for !bytes.HasSuffix(line, []byte("\n")) {
		if len(line) >= maxRequestSize {
			return req, files, fmt.Errorf("proxy: request longer than %d bytes", maxRequestSize)
		}
		m, err := c.Read(buf[len(line):])
		if err != nil {
			return req, files, fmt.Errorf("proxy: read request: %w", err)
		}
		line = buf[:len(line)+m]
	}
	if err := json.Unmarshal(line, &req); err != nil {
		return req, files, fmt.Errorf("proxy: bad request: %w", err)
	}
	return req, files, nil
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("proxy: control message: %w", err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue // not SCM_RIGHTS
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "passed-socket"))
		}
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func writeResponse(c net.Conn, r response) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("proxy: encode response: %w", err)
	}
	_, err = c.Write(append(line, '\n'))
	return err
}

func readResponse(c net.Conn) (response, error) {
	var r response
	dec := json.NewDecoder(c)
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("proxy: read daemon response: %w", err)
	}
	if !r.OK {
		return r, fmt.Errorf("proxy daemon: %s", r.Error)
	}
	return r, nil
}
