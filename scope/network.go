// Package scope is the plain-data vocabulary that config, sandbox, seatbelt
// and trace share without importing one another: the network modes a sandbox
// can have, the destinations entries the proxy lets allowed names reach,
// the locations outside a project that the host executes or
// trusts, and the file denials a trace reports. It imports no other pent
// package.
package scope

// Network is the network mode of a sandbox (§4, §6 of the spec).
type Network string

// The network modes, from most to least open.
const (
	// NetUnrestricted shares the host's network stack.
	NetUnrestricted Network = "unrestricted"
	// NetLocalhost gives the sandbox its own, working loopback and nothing else.
	NetLocalhost Network = "localhost"
	// NetProxy sends every TCP connection and DNS query to pent's proxy.
	NetProxy Network = "proxy"
	// NetBlocked gives the sandbox a network namespace with no usable interface.
	NetBlocked Network = "blocked"
)

// Networks lists the valid modes in the order they are documented.
var Networks = []Network{NetUnrestricted, NetLocalhost, NetProxy, NetBlocked}
