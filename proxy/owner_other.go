//go:build !linux

package proxy

import (
	"errors"
	"net"
	"os"
)

// socketNetns: only Linux has capture sessions in a network namespace of
// their own.
func socketNetns(*os.File) (uint64, error) {
	return 0, errors.New("network namespaces are Linux only")
}

// attribution is empty: only Linux attributes refusals to processes.
type attribution struct{}

// attribute leaves a decision as it is: a loopback session's clients are
// the host's processes, which the proxy does not attribute.
func (s *session) attribute(*Decision, net.Addr) {}
