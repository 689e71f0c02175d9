package proxy

import (
	"strconv"
	"strings"
)

// ProxyEnv returns the proxy variables for a sandboxed process whose
// proxy-aware clients should use the in-sandbox listener on 127.0.0.1:port
// (the same listener speaks HTTP proxying, CONNECT and SOCKS5). Loopback
// stays direct: it is the sandbox's own.
func ProxyEnv(port int) []string {
	url := "127.0.0.1:" + strconv.Itoa(port)
	vars := []struct{ key, val string }{
		{"HTTP_PROXY", "http://" + url},
		{"HTTPS_PROXY", "http://" + url},
		{"ALL_PROXY", "socks5h://" + url},
		{"NO_PROXY", "localhost,127.0.0.1,::1"},
	}
	var env []string
	for _, v := range vars {
		env = append(env, v.key+"="+v.val, strings.ToLower(v.key)+"="+v.val)
	}
	return env
}

// ResolvConf is the resolv.conf the sandbox should see (bind-mounted over
// /etc/resolv.conf): every query goes to the sandbox's loopback, where the
// capture rules hand it to pent's DNS server.
const ResolvConf = "nameserver 127.0.0.1\noptions edns0\n"
