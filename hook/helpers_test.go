package hook

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/pent-sandbox/pent/trust"
)

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// allowFile reads file once and allows what it read.
func allowFile(tr trust.Trust, file string) error {
	s, err := trust.ReadProject(file)
	if err != nil {
		return err
	}
	return tr.Allow(s)
}

// recordPath is the allow record path of file's current content.
func recordPath(tr trust.Trust, file string) (string, error) {
	s, err := trust.ReadProject(file)
	if err != nil {
		return "", err
	}
	return tr.RecordPath(s), nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
