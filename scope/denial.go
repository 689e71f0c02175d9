package scope

import "time"

// FileOp is the kind of file access a FileDenial reports.
type FileOp string

// The file accesses --trace reports.
const (
	OpRead   FileOp = "read"   // open for reading, list a directory
	OpWrite  FileOp = "write"  // open for writing, truncate
	OpCreate FileOp = "create" // create a file, directory, node or link; the new name of a rename
	OpDelete FileOp = "delete" // unlink, rmdir; the old name of a rename
	OpExec   FileOp = "exec"   // execve
	// OpProbe is a check of a name — stat, access, readlink, open with
	// O_PATH — that the sandbox answers differently from the host: the
	// name is hidden inside, or access asks about a right the sandbox
	// refuses.
	OpProbe FileOp = "probe"
)

// Grant is the policy list whose entry would allow a denied access.
type Grant string

// The grants a FileDenial can ask for.
const (
	GrantRead    Grant = "read"       // Policy.Read
	GrantExecute Grant = "execute"    // Policy.Execute
	GrantWrite   Grant = "read_write" // Policy.Write
	// GrantNone: the path is protected (Policy.Protected); no rule can
	// make it writable from inside the sandbox.
	GrantNone Grant = ""
)

// FileDenial is one file access of a traced command that the policy denies,
// as the command saw it. It is reported before the kernel decides: the
// observer only watches, the kernel's Landlock and mounts still refuse the
// access (see sandbox.LaunchOptions.Observe). The Linux observer (package
// sandbox) and the macOS one (package seatbelt) both report it.
type FileDenial struct {
	// Time is when the access was attempted.
	Time time.Time
	// PID is the process in the sandbox's PID namespace; Command its name.
	PID     int
	Command string
	// Op is what was attempted; Path the file it was attempted on,
	// absolute, symlinks resolved as far as the path exists.
	Op   FileOp
	Path string
	// Rule is the path a Policy entry must name to allow the access: Path
	// itself, or its directory for creations and deletions (Landlock
	// grants those on the directory).
	Rule string
	// Grant says which Policy list Rule belongs in.
	Grant Grant
}
