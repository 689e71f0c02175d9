package trust

import (
	"crypto/sha256"
	"encoding/hex"
)

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// allowFile reads file once and allows what it read.
func allowFile(tr Trust, file string) error {
	s, err := ReadProject(file)
	if err != nil {
		return err
	}
	return tr.Allow(s)
}

// checkFile reads file once and checks what it read.
func checkFile(tr Trust, file string) (State, error) {
	s, err := ReadProject(file)
	if err != nil {
		return Unknown, err
	}
	return tr.Check(s)
}

// recordPath is the allow record path of file's current content.
func recordPath(tr Trust, file string) (string, error) {
	s, err := ReadProject(file)
	if err != nil {
		return "", err
	}
	return tr.RecordPath(s), nil
}
