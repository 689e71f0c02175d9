package scope

import "testing"

func TestSecretIn(t *testing.T) {
	const home = "/home/u"
	for _, tc := range []struct {
		path   string
		secret string // the matched pattern, "" for none
	}{
		{"/home/u/.ssh/id_ed25519", "/home/u/.ssh/id_*"},
		{"/home/u/.ssh/id_rsa.pub", "/home/u/.ssh/id_*"},
		{"/home/u/.ssh", "/home/u/.ssh/id_*"}, // holds the keys
		{"/home/u", "/home/u/.ssh/id_*"},
		{"/", "/home/u/.ssh/id_*"},
		{"/home/u/.ssh/known_hosts", ""},
		{"/home/u/.ssh/config", ""},
		{"/home/u/.aws/credentials", "/home/u/.aws"},
		{"/home/u/.aws", "/home/u/.aws"},
		{"/home/u/.awsome", ""},
		{"/home/u/.gnupg/private-keys-v1.d", "/home/u/.gnupg"},
		{"/home/u/.local/share/keyrings/login.keyring", "/home/u/.local/share/keyrings"},
		{"/home/u/.local/share", "/home/u/.local/share/keyrings"},
		{"/home/u/.local/share/fonts", ""},
		{"/home/u/.config/gh/hosts.yml", "/home/u/.config/gh/hosts.yml"},
		{"/home/u/.config/gh/config.yml", ""},
		{"/run/user/1000/bus", "/run/user"},
		{"/run/systemd", ""},
		{"/tmp/ssh-XXXXabcd/agent.123", "/tmp/ssh-*"},
		{"/tmp/.X11-unix/X0", "/tmp/.X11-unix"},
		{"/tmp/build-output", ""},
		{"/home/u/.gitconfig", ""},
		{"/home/u/.npm", ""},
		{"/usr/lib", ""},
	} {
		s, ok := SecretIn(tc.path, home)
		if ok != (tc.secret != "") || s.Pattern != tc.secret || ok && s.Why == "" {
			t.Errorf("SecretIn(%q) = %+v, %v; want %q", tc.path, s, ok, tc.secret)
		}
	}
	if _, ok := SecretIn("/home/u/.aws", ""); ok {
		t.Error("without a home directory, ~ entries matched")
	}
}
