package main

import "github.com/pent-sandbox/pent/sandbox"

// useProxy wires a proxy-mode run to its proxy. On macOS there is no
// network namespace to capture traffic in: the run gets an authenticated
// session on the host's loopback, the profile lets the command connect to
// its port alone, and the proxy variables carry its credentials. The caller
// releases the session once the command has ended.
func (o *RunOptions) useProxy(l *loaded, tr *traceRun, policy *sandbox.Policy, opts *sandbox.LaunchOptions) (release func(), err error) {
	lp, err := o.proxyLoopback(l, tr)
	if err != nil {
		return nil, err
	}
	useLoopback(policy, opts, lp)
	return func() {
		if err := lp.Close(); err != nil {
			o.IO.Warn("ending the proxy session: %v", err)
		}
	}, nil
}
