//go:build !linux

package sandbox

// GuardWatch moves forbidden entries out of a project's guarded directories.
// Here Seatbelt already denies creating the protected names (Policy.Protected),
// so the watch only sweeps once the command has ended, for the entries of
// the git allowlist that the profile does not name.
type GuardWatch struct {
	guard Guard
	move  func(root, path string) error
}

// WatchGuard starts watching g's directories; move is called with the path
// of each forbidden entry that appears.
func WatchGuard(g Guard, move func(root, path string) error) (*GuardWatch, error) {
	return &GuardWatch{guard: g, move: move}, nil
}

// Stop sweeps the guarded directories and returns the first error met.
func (w *GuardWatch) Stop() error {
	return w.guard.FinalSweep(w.move)
}

// Replaced lists the protected entries the command tried to replace through
// a NAME.lock sibling; Seatbelt denies that write with EPERM and the watch
// does not observe it, so the list is empty here.
func (w *GuardWatch) Replaced() []string { return nil }
