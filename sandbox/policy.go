// Package sandbox turns a Policy into a running, contained process.
//
// A Policy is OS-neutral data: which paths a command may read, execute, write
// or merely traverse, which paths must stay hidden or read-only, what network
// it gets and which environment it sees. Launch (per OS) builds the sandbox,
// runs the command and reports how it ended. The Linux backend combines
// Landlock, user/mount/PID/IPC/UTS/network namespaces and, later, seccomp; it
// refuses to start when a kernel feature it relies on is missing.
package sandbox

import "github.com/pent-sandbox/pent/scope"

// Policy is everything a sandboxed command is allowed to do. All paths are
// absolute and clean; nothing here is read from the environment.
type Policy struct {
	// Command is the argv to run; Command[0] is an absolute path.
	Command []string
	// Dir is the working directory of the command.
	Dir string
	// Env is the complete environment of the command, KEY=VALUE.
	Env []string
	// Network is the network mode.
	Network scope.Network
	// ProxyLoopbackPorts are, in proxy mode, TCP ports of the sandbox's
	// 127.0.0.1 whose connections go to the proxy instead, which decides
	// them as the name localhost (the allowlist names localhost with these
	// ports): a client that ignores the proxy variables reaches the host's
	// service on that port only if the proxy lets it.
	ProxyLoopbackPorts []int

	// Read may be read (files) and listed (directories), recursively.
	Read []string
	// Execute may be read and executed, recursively.
	Execute []string
	// Write may be read, written, created, renamed and deleted, recursively.
	Write []string
	// Traverse directories exist in the sandbox and can be listed, but only the
	// entries some other rule allows are visible in them: a Traverse directory
	// that no Read, Execute or Write rule covers is masked (see Masked).
	Traverse []string

	// Protected paths stay read-only even where an ancestor is writable. The
	// ones that exist when the sandbox starts are made read-only mounts and
	// their writable ancestors become mount points, so they can be neither
	// changed nor renamed away and replaced; a protected path that is a
	// symlink refuses the start. Paths that do not exist yet are listed too:
	// Seatbelt denies creating them; on Linux the caller's Guard moves them
	// aside if they appear (SPEC §13).
	Protected []string
	// Guarded directories are watched by the caller during the run (Guard):
	// inside the sandbox each is a mount point, so that it can be neither
	// renamed away nor replaced by a directory the watcher does not see.
	Guarded []string
	// Masked directories are replaced by empty, private directories; the
	// allowed paths at or beneath them are put back. Everything else under
	// them is absent (ENOENT), including UNIX sockets; listing one shows
	// only the way to the allowed paths. An allowed path above
	// a masked directory does not unmask it. /run is always masked: the
	// sandbox keeps its own state there.
	Masked []string
	// PrivateTmp directories (e.g. /tmp) are fresh, empty and writable; the
	// allowed paths beneath them are put back as in Masked.
	PrivateTmp []string

	// Withheld is the working directory ($HOME or /) that Defaults did not
	// grant wholesale (it is Traverse or Read instead of Write); empty when
	// nothing was withheld. The caller warns about it.
	Withheld string
}
