package sandbox

import (
	"io"
	"os"
)

// LaunchOptions are what Launch needs besides the policy and the streams.
// One type for every OS; each field says which backend uses it.
type LaunchOptions struct {
	// Attach connects a NetProxy sandbox to pent's proxy (Linux); it is
	// required in that mode and unused in the others. Launch calls it once
	// the sandbox's network namespace captures all traffic, with the capture
	// sockets in CaptureFiles.Files order (TCP listener, DNS over UDP,
	// DNS over TCP), and lets the command start only after Attach succeeded:
	// the proxy owns the sockets before the first packet, and a failed Attach
	// means the command never runs. Attach takes the files (it closes them,
	// also on error). Launch closes the returned Closer when every process of
	// the sandbox has ended, ignoring its error (the command has run by then;
	// a Closer with something to report does so itself).
	Attach func(files []*os.File) (io.Closer, error)
	// ProxyPort is the loopback TCP port of pent's proxy session on macOS,
	// which must authenticate each session. It is required in proxy mode
	// there and must be 0 in the others: the profile lets the command
	// connect to this port only, and Launch sets the proxy variables, with
	// the session's credentials (ProxyUser, ProxyToken), in the command's
	// environment, replacing any it had.
	ProxyPort int
	// ProxyUser and ProxyToken are the session's credentials (macOS).
	ProxyUser, ProxyToken string
	// Connector is the real path of the pent binary (macOS, proxy mode): the
	// command may run it as git's ssh ProxyCommand (`pent proxy connect`)
	// and nothing else of pent's.
	Connector string
	// StateDir is pent's state directory ($XDG_STATE_HOME/pent; Linux). A
	// policy with writable files in a hidden directory (~/.claude.json in
	// $HOME) stages them below it (see RecoverStaging) and refuses to start
	// without it; any sandbox that could reach the staging has it masked.
	StateDir string
	// Warn reports what went wrong copying staged writes to the real files
	// (printf-style, one line); nil prints "pent: warning: ..." on
	// stdio.Stderr.
	Warn func(format string, args ...any)
	// Discarded, when set, is offered what a run would otherwise discard
	// with its staging directory (Linux): once per shadowed directory dir,
	// after every process of the sandbox has ended and the writable paths
	// are copied, upper is the directory's upper layer, holding the
	// command's new and changed entries (writable, the names of the
	// writable paths directly in dir, are already copied). Its content is
	// the command's: it may move entries out of upper, and must follow no
	// symbolic link in it. Whatever stays is removed with the staging.
	Discarded func(upper, dir string, writable []string)
	// Observe, when set, traces the command (pent run --trace): it is called,
	// from one goroutine, with every file access of the command that the
	// policy denies. Linux observes each access before the kernel refuses it
	// (observe_linux.go); macOS reads the sandbox's denials from `log stream`
	// (seatbelt.Observer). It allows nothing, and a backend that cannot
	// observe refuses a traced run rather than run it untraced. Launch
	// returns after the last call.
	Observe func(FileDenial)
}
