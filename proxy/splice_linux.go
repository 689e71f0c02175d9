package proxy

import (
	"errors"
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// spliceChunk is the most one splice(2) moves, and the pipe's capacity.
const spliceChunk = 1 << 20

// copyConn copies src to dst until src ends. Between two TCP connections it
// moves the data with splice(2) through a pipe of its own, closed when the
// copy ends. io.Copy splices too, but through pipes from a process-wide pool
// that only the garbage collector empties: a proxy that had relayed 1,000
// connections at once kept about 4,000 pipe descriptors long after they
// closed.
func copyConn(dst, src net.Conn) (int64, error) {
	d, dok := dst.(*net.TCPConn)
	s, sok := src.(*net.TCPConn)
	if !dok || !sok {
		return io.Copy(dst, src)
	}
	return spliceTCP(d, s)
}

// spliceTCP copies src to dst through a fresh pipe: each round fills the
// empty pipe from src, then drains it into dst, so that EAGAIN always means
// the socket is not ready (the poller waits for it), never the pipe.
func spliceTCP(dst, src *net.TCPConn) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return 0, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	// Best effort, as in Go's own splice: a small pipe only costs more calls.
	_, _ = unix.FcntlInt(uintptr(p[0]), unix.F_SETPIPE_SZ, spliceChunk)
	var total int64
	for {
		var n int64
		var serr error
		err := rc.Read(func(fd uintptr) bool {
			n, serr = spliceRetry(int(fd), p[1], spliceChunk)
			return !errors.Is(serr, unix.EAGAIN)
		})
		if err == nil {
			err = serr
		}
		if err != nil || n == 0 {
			return total, err // n == 0: src ended
		}
		for n > 0 {
			var m int64
			var werr error
			err := wc.Write(func(fd uintptr) bool {
				m, werr = spliceRetry(p[0], int(fd), int(n))
				return !errors.Is(werr, unix.EAGAIN)
			})
			if err == nil {
				err = werr
			}
			if err != nil {
				return total, err
			}
			n -= m
			total += m
		}
	}
}

// spliceRetry moves up to n bytes from in to out without blocking, again
// when a signal interrupts it.
func spliceRetry(in, out, n int) (int64, error) {
	for {
		m, err := unix.Splice(in, nil, out, nil, n, unix.SPLICE_F_NONBLOCK)
		if !errors.Is(err, unix.EINTR) {
			return m, err
		}
	}
}
