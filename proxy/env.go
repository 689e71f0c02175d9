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
	return proxyVars("http://"+url, "socks5h://"+url, "localhost,127.0.0.1,::1")
}

// ProxyEnvAuth returns the proxy variables for a sandboxed process that
// reaches pent's proxy on the host's loopback (a Loopback session): the
// URLs carry the session's credentials, SOCKS clients are told to leave
// name resolution to the proxy (socks5h), and NO_PROXY is empty, since the
// host's loopback is not the sandbox's own and is decided like any other
// destination.
func ProxyEnvAuth(port int, token string) []string {
	url := proxyUser + ":" + token + "@127.0.0.1:" + strconv.Itoa(port)
	return proxyVars("http://"+url, "socks5h://"+url, "")
}

// proxyVars sets each variable in upper and lower case: clients differ in
// which they read.
func proxyVars(httpURL, socksURL, noProxy string) []string {
	vars := []struct{ key, val string }{
		{"HTTP_PROXY", httpURL},
		{"HTTPS_PROXY", httpURL},
		{"ALL_PROXY", socksURL},
		{"NO_PROXY", noProxy},
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
