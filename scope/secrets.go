package scope

import "path/filepath"

// secretsInHome are the locations of a home directory, relative to it,
// that hold credentials: private keys, cloud and registry tokens, keyrings.
// Nothing written inside the sandbox is put there by pent (`pent keep`).
var secretsInHome = []string{
	".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".kube", ".docker/config.json",
	".netrc", ".git-credentials", ".config/gh/hosts.yml", ".local/share/keyrings",
	".password-store", ".pgpass", ".pypirc", ".gem/credentials", ".cargo/credentials.toml",
	".cargo/credentials", ".config/hub", ".vault-token",
}

// SecretIn returns the credential location of home that path is or lies
// in, and whether there is one.
func SecretIn(path, home string) (string, bool) {
	if home = CleanAbs(home); home == "" || home == "/" {
		return "", false
	}
	for _, rel := range secretsInHome {
		if loc := filepath.Join(home, rel); Within(path, loc) {
			return loc, true
		}
	}
	return "", false
}
