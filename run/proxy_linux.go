package run

import "github.com/pent-sandbox/pent/sandbox"

// useProxy wires a proxy-mode run to its proxy. On Linux the sandbox hands
// its capture sockets to the proxy once its network namespace exists
// (LaunchOptions.Attach) and Launch ends the session; nothing is left for
// the caller to release. The loopback ports the allowlist names for
// localhost go to the proxy as well.
func (x *runner) useProxy(tr *traceRun, policy *sandbox.Policy, opts *sandbox.LaunchOptions) (release func(), err error) {
	if opts.Attach, policy.ProxyLoopbackPorts, err = x.proxyAttach(tr); err != nil {
		return nil, err
	}
	return func() {}, nil
}
