package config

import (
	"reflect"
	"testing"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want *File
		err  string // when set, the error FromEnv must return
	}{
		{name: "nothing", env: map[string]string{"HOME": "/h", "PATH": "/bin"}, want: &File{Path: "environment"}},
		{name: "all", env: map[string]string{
			"PENT_NETWORK":  "proxy_only",
			"PENT_PROFILES": "npm, @gh  cargo,npm",
			"PENT_ALLOW":    "example.com,*.example.org:443 github.com",
			"PENT_READ":     "~/a:/b::docs:",
			"PENT_WRITE":    "/w",
			"PENT_EXECUTE":  "$HOME/bin",
			"PENT_TRAVERSE": "~",
			"PENT_ENV":      "A, B=x y ,C=1",
		}, want: &File{
			Path:            "environment",
			Network:         "proxy",
			Profiles:        []string{"@npm", "@gh", "@cargo"},
			DomainAllowlist: []string{"example.com", "*.example.org:443", "github.com"},
			Paths: Paths{
				Read: []string{"~/a", "/b", "docs"}, ReadWrite: []string{"/w"},
				Execute: []string{"$HOME/bin"}, Traversal: []string{"~"},
			},
			Env: []string{"A", "B=x y", "C=1"},
		}},
		{name: "env entries are split at commas", env: map[string]string{"PENT_ENV": "C=1,2"},
			err: `environment: PENT_ENV: "2" is not KEY or KEY=VALUE with a valid variable name`},
		{name: "empty counts as unset", env: map[string]string{"PENT_NETWORK": "", "PENT_PROFILES": ""},
			want: &File{Path: "environment"}},
		{name: "runtime variables are ignored", env: map[string]string{
			"PENT_STATE": "x", "PENT_EXE": "/usr/bin/pent", "PENT_WATCH": "a:b", "PENT_SOMETHING_ELSE": "1",
		}, want: &File{Path: "environment"}},
		{name: "bad network", env: map[string]string{"PENT_NETWORK": "proxyy"},
			err: `environment: PENT_NETWORK: unknown network mode "proxyy", want one of unrestricted, localhost, proxy, blocked (did you mean "proxy"?)`},
		{name: "bad profile", env: map[string]string{"PENT_PROFILES": "@npm,@Gh"},
			err: `environment: PENT_PROFILES: invalid profile name "@Gh": use lower-case letters, digits, '-' and '_' (did you mean "@gh"?)`},
		{name: "bad domain", env: map[string]string{"PENT_ALLOW": "1.2.3.4"},
			err: `environment: PENT_ALLOW: "1.2.3.4" is an IP address; the allowlist takes names (address ranges go in [proxy] destinations)`},
		{name: "bad path", env: map[string]string{"PENT_WRITE": "$TMPDIR/x"},
			err: `environment: PENT_WRITE: only ~ and $HOME expand in paths: "$TMPDIR/x"`},
		{name: "typo of a config variable", env: map[string]string{"PENT_NETWROK": "blocked"},
			err: `environment: PENT_NETWROK: not a pent variable (did you mean "PENT_NETWORK"?)`},
		{name: "typo of a short one", env: map[string]string{"PENT_ALOW": "a.example"},
			err: `environment: PENT_ALOW: not a pent variable (did you mean "PENT_ALLOW"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := FromEnv(tt.env)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got  %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", f, tt.want)
			}
		})
	}
}
