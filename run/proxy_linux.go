package run

import "github.com/pent-sandbox/pent/sandbox"

// useProxy wires a proxy-mode run to its proxy. On Linux the sandbox hands
// its capture sockets to the proxy once its network namespace exists
// (LaunchOptions.Attach) and Launch ends the session; nothing is left for
// the caller to release.
func (x *runner) useProxy(tr *traceRun, opts *sandbox.LaunchOptions) (release func(), err error) {
	if opts.Attach, err = x.proxyAttach(tr); err != nil {
		return nil, err
	}
	return func() {}, nil
}
