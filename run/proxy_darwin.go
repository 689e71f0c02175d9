package run

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pent-sandbox/pent/sandbox"
)

// useProxy wires a proxy-mode run to its proxy. On macOS there is no
// network namespace to capture traffic in: the run gets an authenticated
// session on the host's loopback, the profile lets the command connect to
// its port alone, and the proxy variables carry its credentials; git's ssh
// goes through this binary (`pent proxy connect`). The caller
// releases the session once the command has ended.
func (x *runner) useProxy(tr *traceRun, _ *sandbox.Policy, opts *sandbox.LaunchOptions) (release func(), err error) {
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		return nil, fmt.Errorf("finding pent's own binary, which proxy mode runs as git's ssh connector: %w", err)
	}
	lp, err := x.proxyLoopback(tr)
	if err != nil {
		return nil, err
	}
	useLoopback(opts, lp, self)
	return func() {
		if err := lp.Close(); err != nil {
			x.h.Out.Warn("ending the proxy session: %v", err)
		}
	}, nil
}
