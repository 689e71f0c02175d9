package sandbox

import "github.com/pent-sandbox/pent/scope"

// The trace's vocabulary lives in scope, where the macOS observer (package
// seatbelt, which cannot import sandbox) reports it too; these names keep
// it part of sandbox's API.

// FileOp is the kind of file access a FileDenial reports.
type FileOp = scope.FileOp

// The file accesses --trace reports.
const (
	OpRead   = scope.OpRead
	OpWrite  = scope.OpWrite
	OpCreate = scope.OpCreate
	OpDelete = scope.OpDelete
	OpExec   = scope.OpExec
	OpProbe  = scope.OpProbe
)

// Grant is the Policy list whose entry would allow a denied access.
type Grant = scope.Grant

// The grants a FileDenial can ask for.
const (
	GrantRead    = scope.GrantRead
	GrantExecute = scope.GrantExecute
	GrantWrite   = scope.GrantWrite
	GrantNone    = scope.GrantNone
)

// FileDenial is one file access of a traced command that the policy
// denies; see scope.FileDenial.
type FileDenial = scope.FileDenial
