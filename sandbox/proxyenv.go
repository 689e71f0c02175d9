package sandbox

import (
	"slices"
	"strconv"
	"strings"
)

// ProxyEnv returns the proxy variables for a sandboxed process whose
// proxy-aware clients should use the in-sandbox listener on 127.0.0.1:port
// (the same listener speaks HTTP proxying, CONNECT and SOCKS5). Loopback
// stays direct: it is the sandbox's own.
func ProxyEnv(port int) []string {
	return proxyVars(proxyEndpoint{port: port}, "localhost,127.0.0.1,::1")
}

// ProxyEnvAuth returns the proxy variables for a sandboxed process that
// reaches pent's proxy on the host's loopback (a Loopback session): the
// URLs carry the session's credentials (user and token), SOCKS clients
// are told to leave name resolution to the proxy (socks5h), and NO_PROXY is
// empty, since the host's loopback is not the sandbox's own and is decided
// like any other destination. Nothing captures a client that ignores these variables
// (macOS), so they also switch on the proxy support of runtimes that leave
// it off by default: Node's built-in fetch and http (NODE_USE_ENV_PROXY,
// Node 22.21/24.5 and later) and the JVM (JAVA_TOOL_OPTIONS, javaOptions);
// and when connector (the absolute path of the pent binary) is not empty,
// git runs ssh through it: GIT_SSH_COMMAND names `pent proxy connect` as
// ssh's ProxyCommand, which speaks the session's token (ProxyConnect).
func ProxyEnvAuth(port int, user, token, connector string) []string {
	e := proxyEndpoint{port: port, user: user, token: token}
	env := append(proxyVars(e, ""), "NODE_USE_ENV_PROXY=1", "JAVA_TOOL_OPTIONS="+e.javaOptions())
	if connector != "" {
		env = append(env, "GIT_SSH_COMMAND="+GitSSHCommand(connector))
	}
	return env
}

// proxyEndpoint is pent's proxy listener as its clients name it.
type proxyEndpoint struct {
	port int
	// user and token are the session's credentials; token is empty for a
	// listener that needs none.
	user, token string
}

// hostPort is "127.0.0.1:PORT".
func (e proxyEndpoint) hostPort() string { return "127.0.0.1:" + strconv.Itoa(e.port) }

// url is the listener as a proxy URL of scheme, with the credentials as
// user info when there is a token.
func (e proxyEndpoint) url(scheme string) string {
	if e.token == "" {
		return scheme + "://" + e.hostPort()
	}
	return scheme + "://" + e.user + ":" + e.token + "@" + e.hostPort()
}

// javaOptions are the JVM system properties that point java.net at an
// authenticated listener (the JVM ignores HTTP(S)_PROXY): the proxy's
// address; http(s).proxyUser and proxyPassword, which Gradle, Maven's
// wagon transport and other Apache HttpClient based tools read; and Basic
// authentication allowed again for CONNECT tunnels and plain proxying,
// which the JDK turns off by default (jdk.http.auth.*.disabledSchemes).
// Plain java.net.HttpURLConnection and java.net.http.HttpClient send no
// credentials without an Authenticator the program installs: they get 407.
// The JVM prints the variable on stderr when it starts ("Picked up
// JAVA_TOOL_OPTIONS"), token included; the token is valid only while the
// run lasts and only on this host's loopback, where the sandboxed command
// holds it anyway.
func (e proxyEndpoint) javaOptions() string {
	port := strconv.Itoa(e.port)
	return strings.Join([]string{
		"-Dhttp.proxyHost=127.0.0.1", "-Dhttp.proxyPort=" + port,
		"-Dhttps.proxyHost=127.0.0.1", "-Dhttps.proxyPort=" + port,
		"-Dhttp.proxyUser=" + e.user, "-Dhttp.proxyPassword=" + e.token,
		"-Dhttps.proxyUser=" + e.user, "-Dhttps.proxyPassword=" + e.token,
		"-Djdk.http.auth.tunneling.disabledSchemes=", "-Djdk.http.auth.proxying.disabledSchemes=",
	}, " ")
}

// proxyVars sets each proxy URL variable in upper and lower case: clients
// differ in which they read. gRPC's C core reads GRPC_PROXY before the
// others and refuses a socks5h:// URL, so it gets the http:// one.
func proxyVars(e proxyEndpoint, noProxy string) []string {
	httpURL := e.url("http")
	vars := []struct{ key, val string }{
		{"HTTP_PROXY", httpURL},
		{"HTTPS_PROXY", httpURL},
		{"ALL_PROXY", e.url("socks5h")},
		{"NO_PROXY", noProxy},
		{"GRPC_PROXY", httpURL},
	}
	var env []string
	for _, v := range vars {
		env = append(env, v.key+"="+v.val, strings.ToLower(v.key)+"="+v.val)
	}
	return env
}

// GitSSHCommand is the GIT_SSH_COMMAND that makes git's ssh reach the
// server through pent's proxy, with pent (the binary at connector) as
// ssh's ProxyCommand. git runs the value with sh, and ssh runs the
// ProxyCommand with the user's shell after expanding %h and %p, so the
// path is quoted for both, and a % in it is doubled for ssh.
func GitSSHCommand(connector string) string {
	proxyCommand := shellQuote(strings.ReplaceAll(connector, "%", "%%")) + " proxy connect %h %p"
	return "ssh -o " + shellQuote("ProxyCommand="+proxyCommand)
}

// shellQuote is s as one POSIX shell word: in single quotes, where each
// single quote of s closes the quoting, is escaped with a backslash and
// reopens it.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// withProxyEnv returns env with the proxy variables vars, replacing any of
// the same names the caller passed.
func withProxyEnv(env, vars []string) []string {
	keys := make([]string, len(vars))
	for i, kv := range vars {
		keys[i], _, _ = strings.Cut(kv, "=")
	}
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(keys, k)
	})
	return append(env, vars...)
}

// withLoopbackProxy points a proxy-mode policy at its authenticated session
// on the host's loopback (macOS, opts.ProxyPort): the proxy variables, which
// carry the session's credentials, replace any p had, and the command may
// run opts.Connector (`pent proxy connect`, git's ssh ProxyCommand) and
// nothing else of pent's.
func withLoopbackProxy(p Policy, opts LaunchOptions) Policy {
	p.Execute = append(slices.Clone(p.Execute), opts.Connector)
	p.Env = withProxyEnv(p.Env, ProxyEnvAuth(opts.ProxyPort, opts.ProxyUser, opts.ProxyToken, opts.Connector))
	return p
}

// ResolvConf is the resolv.conf the sandbox should see (bind-mounted over
// /etc/resolv.conf): every query goes to the sandbox's loopback, where the
// capture rules hand it to pent's DNS server.
const ResolvConf = "nameserver 127.0.0.1\noptions edns0\n"
