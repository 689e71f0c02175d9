package scope

import (
	"path"
	"path/filepath"
	"strings"
)

// Secret is a location that holds credentials: private keys, tokens,
// password stores, the sockets of agents that sign with them. Nothing
// grants one unless the user names it, or picks the one profile made for
// it.
type Secret struct {
	// Pattern is an absolute path; a "*" element stands for any one name
	// (glob syntax).
	Pattern string
	// Why says in a few words what it holds.
	Why string
	// Profile is the built-in profile that grants it on purpose (@keychain
	// for the keyrings), or "".
	Profile string
}

// secrets are the locations no profile and no suggestion may grant; a
// leading "~/" is the home directory. This is the one list: the profiles'
// tests and `pent trace suggest` read it through SecretIn.
var secrets = []Secret{
	{"~/.ssh/id_*", "SSH private keys", ""},
	{"~/.aws", "AWS credentials", ""},
	{"~/.gnupg", "GnuPG private keys", ""},
	{"~/.git-credentials", "git's stored passwords", ""},
	{"~/.netrc", "stored passwords", ""},
	{"~/.docker", "container registry credentials", ""},
	{"~/.config/gcloud", "Google Cloud credentials", ""},
	{"~/.azure", "Azure credentials", ""},
	{"~/.kube", "Kubernetes credentials", ""},
	{"~/.password-store", "a password store", ""},
	{"~/.local/share/keyrings", "Secret Service keyrings", "@keychain"},
	{"~/.local/share/kwalletd", "KWallet", "@keychain"},
	{"~/Library/Keychains", "the macOS Keychain", "@keychain"},
	{"~/.config/gh/hosts.yml", "the GitHub CLI's tokens", "@gh"},
	{"~/.config/hub", "the hub CLI's tokens", ""},
	{"~/.pgpass", "PostgreSQL passwords", ""},
	{"~/.pypirc", "PyPI upload tokens", ""},
	{"~/.vault-token", "a HashiCorp Vault token", ""},
	{"~/.config/github-copilot", "GitHub Copilot's tokens", ""},
	{"~/.bash_history", "shell history, which holds typed tokens and passwords", ""},
	{"~/.zsh_history", "shell history, which holds typed tokens and passwords", ""},
	{"~/.local/share/fish/fish_history", "shell history, which holds typed tokens and passwords", ""},
	{"~/.mozilla", "Firefox profiles: saved logins and cookies", ""},
	{"~/.config/google-chrome", "Chrome profiles: saved logins and cookies", ""},
	{"~/.config/chromium", "Chromium profiles: saved logins and cookies", ""},
	{"/run/user", "the session's sockets: ssh and gpg agents, D-Bus, keyrings", ""},
	{"/tmp/ssh-*", "ssh-agent sockets, which sign with your keys", ""},
	{"/tmp/.X11-unix", "the X server's sockets, through which a client reads and types keys", ""},
	{"/run/docker.sock", "the Docker daemon's socket, which is root on the host", ""},
	{"/var/run/docker.sock", "the Docker daemon's socket, which is root on the host", ""},
}

// SecretIn returns the secret that a grant of p (absolute, clean) would
// expose: p is a secret location or lies inside one, or holds one (a grant
// of ~/.ssh holds ~/.ssh/id_ed25519). home is the home directory that "~"
// stands for.
func SecretIn(p, home string) (Secret, bool) {
	home = CleanAbs(home)
	for _, s := range secrets {
		pattern := s.Pattern
		if rest, ok := strings.CutPrefix(pattern, "~/"); ok {
			if home == "" || home == "/" {
				continue
			}
			pattern = filepath.Join(home, rest)
		}
		if overlaps(p, pattern) {
			return Secret{Pattern: pattern, Why: s.Why, Profile: s.Profile}, true
		}
	}
	return Secret{}, false
}

// overlaps reports whether p lies within a path that pattern matches, or
// above one: their elements match as far as both go.
func overlaps(p, pattern string) bool {
	a, b := elements(p), elements(pattern)
	for i := range min(len(a), len(b)) {
		if ok, _ := path.Match(b[i], a[i]); !ok {
			return false
		}
	}
	return true
}

// elements splits an absolute path into its names; "/" has none.
func elements(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
