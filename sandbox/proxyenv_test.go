package sandbox

import (
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

// TestWithLoopbackProxy: a macOS proxy-mode policy may run the connector
// and nothing else of pent's, and its proxy variables, with the session's
// credentials, replace any the policy passed.
func TestWithLoopbackProxy(t *testing.T) {
	token := strings.Repeat("ab", 32)
	policy := Policy{Network: scope.NetProxy, Env: []string{"HOME=/h", "HTTP_PROXY=http://elsewhere:8080", "no_proxy=*", "PATH=/bin"}}
	opts := LaunchOptions{ProxyPort: 4242, ProxyUser: "pent", ProxyToken: token, Connector: "/opt/pent/pent"}
	got := withLoopbackProxy(policy, opts)
	if !slices.Equal(got.Execute, []string{"/opt/pent/pent"}) {
		t.Errorf("Execute %q, want the connector alone", got.Execute)
	}
	want := append([]string{"HOME=/h", "PATH=/bin"}, ProxyEnvAuth(4242, "pent", token, "/opt/pent/pent")...)
	if !slices.Equal(got.Env, want) {
		t.Errorf("Env:\n%q\nwant\n%q", got.Env, want)
	}
	if len(policy.Execute) != 0 || len(policy.Env) != 4 {
		t.Errorf("the caller's policy changed: %+v", policy)
	}
}
