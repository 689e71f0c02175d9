//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pent-sandbox/pent/internal/testutil"
	"github.com/pent-sandbox/pent/proxy"
)

// TestProxy_Connect runs the built `pent proxy connect HOST PORT` (git's
// ssh ProxyCommand in macOS proxy mode) against an authenticated loopback
// session of pent's proxy, the listener a macOS sandbox reaches, with an
// ssh-like server on loopback (it speaks first, then answers a line). An
// allowed name gets the whole conversation; a denied name, a raw IP, a
// missing or wrong token get a one-line refusal and never reach the server.
func TestProxy_Connect(t *testing.T) {
	bothModes(t, func(t *testing.T, r *runner) {
		n := startLocalNet(t, r)
		pol, err := proxy.Compile(proxy.Settings{Allow: []string{allowedName}, UpstreamDNS: []string{n.dnsAddr}, Destinations: []string{"upstream:127.0.0.0/8"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		lb, err := proxy.New(pol, &logs).ServeLoopback(context.Background(), proxy.SessionInfo{ID: "connect"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lb.Close() })
		var hits atomic.Int32
		port := testutil.AcceptLoop(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
			hits.Add(1)
			defer c.Close()
			_, _ = c.Write([]byte("SSH-2.0-e2e-server\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte("got " + line))
		}).(*net.TCPAddr).Port
		endpoint := "127.0.0.1:" + strconv.Itoa(lb.Port)
		withToken := "http://pent:" + lb.Token + "@" + endpoint

		connect := func(proxyURL, host string) result {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			cmd := r.command(ctx, r.project, pentBin, "proxy", "connect", host, strconv.Itoa(port))
			cmd.Env = append(cmd.Env, "HTTPS_PROXY="+proxyURL)
			cmd.Stdin = strings.NewReader("SSH-2.0-e2e-client\n")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			res := result{args: cmd.Args, stdout: stdout.String(), stderr: stderr.String()}
			if err != nil {
				res.code = cmd.ProcessState.ExitCode()
			}
			return res
		}

		res := connect(withToken, allowedName)
		res.wantCode(t, 0)
		if want := "SSH-2.0-e2e-server\r\ngot SSH-2.0-e2e-client\n"; res.stdout != want {
			t.Fatalf("allowed name: stdout %q, want %q\n%s", res.stdout, want, res)
		}
		if hits.Load() != 1 {
			t.Fatalf("the server saw %d connections, want 1", hits.Load())
		}
		for _, tc := range []struct{ name, proxyURL, host, want string }{
			{"denied name", withToken, deniedName, "403 Forbidden"},
			{"raw ip", withToken, "127.0.0.1", "403 Forbidden"},
			{"no token", "http://" + endpoint, allowedName, "407 Proxy Authentication Required"},
			{"wrong token", "http://pent:" + strings.Repeat("0", 64) + "@" + endpoint, allowedName, "407 Proxy Authentication Required"},
		} {
			res := connect(tc.proxyURL, tc.host)
			if res.code == 0 || res.stdout != "" || !strings.HasPrefix(res.stderr, "pent: ") || !strings.Contains(res.stderr, tc.want) ||
				strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("%s: want a one-line refusal naming %q and no output:\n%s", tc.name, tc.want, res)
			}
		}
		if hits.Load() != 1 {
			t.Errorf("refused tunnels reached the server: %d connections, want 1", hits.Load())
		}
		for _, want := range []string{`"action":"allow","kind":"connect","name":"` + allowedName + `"`, deniedName + " is not allowed"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("the proxy's log lacks %s:\n%s", want, logs.String())
			}
		}
	})
}
