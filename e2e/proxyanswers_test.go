//go:build linux

package e2e

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestProxy_ExplicitProxyAnswers: a client of the explicit HTTP proxy
// inside the sandbox tells a refusal from an upstream failure — 403 with a
// `pent:` body naming `pent run --allow NAME` and the config key for a name
// off the allowlist, 502 with a `pent:` body saying what failed for an
// allowed name that does not resolve or whose port refuses the connection.
func TestProxy_ExplicitProxyAnswers(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n := startLocalNet(t, r)
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		h := strconv.Itoa(n.httpPort)
		script := ""
		for _, u := range []string{"http://" + deniedName + ":" + h + "/", "http://gone.example/", "http://" + allowedName + ":" + closed + "/"} {
			script += `curl -sS --max-time 20 -x "$HTTP_PROXY" -w 'code=%{http_code}\n' ` + u + "\n"
		}
		script += `curl -sS --max-time 20 -p -x "$HTTP_PROXY" https://` + deniedName + `/ 2>&1; echo` + "\n"
		res := r.sandboxSh(script+"echo DONE\n", "--allow", allowedName, "--allow", "gone.example")
		if !strings.Contains(res.stdout, "DONE") {
			t.Fatalf("the script did not run to its end:\n%s", res)
		}
		for _, want := range []string{
			"pent: " + deniedName + " is not allowed — allow it with `pent run --allow " + deniedName + "` or add \"" + deniedName + "\" to [proxy] domain_allowlist\ncode=403\n",
			"pent: upstream gone.example:80 failed: gone.example does not resolve (NXDOMAIN from the upstream DNS server)\ncode=502\n",
			"pent: upstream " + allowedName + ":" + closed + " failed: ",
			"connection refused\ncode=502\n",
			"CONNECT tunnel failed, response 403",
		} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("the answers lack %q:\n%s", want, res)
			}
		}
	})
}
