//go:build !linux

package sandbox

// RecoverStaging cleans up after killed pent runs. Only the Linux sandbox
// stages writes (macOS shows allowed files in place), so here there is
// never anything to recover.
func RecoverStaging(stateDir string, discarded func(upper, dir string, writable []string)) ([]string, error) {
	return nil, nil
}
