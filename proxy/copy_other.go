//go:build !linux

package proxy

import (
	"io"
	"net"
)

// copyConn copies src to dst until src ends.
func copyConn(dst, src net.Conn) (int64, error) { return io.Copy(dst, src) }
