package proxy

import (
	"bytes"
	"encoding/base64"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/sandbox"
)

const testToken = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestCheckBasicAuth(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"valid", basic("pent:" + testToken), true},
		{"scheme in lower case, extra spaces", "  basic   " + base64.StdEncoding.EncodeToString([]byte("pent:"+testToken)) + " ", true},
		{"empty", "", false},
		{"no credentials", "Basic", false},
		{"other scheme", "Bearer " + testToken, false},
		{"wrong user", basic("root:" + testToken), false},
		{"wrong token", basic("pent:" + strings.Repeat("0", 64)), false},
		{"token prefix", basic("pent:" + testToken[:63]), false},
		{"token with a suffix", basic("pent:" + testToken + "0"), false},
		{"no password", basic("pent"), false},
		{"token as user", basic(testToken + ":"), false},
		{"not base64", "Basic pent:" + testToken, false},
		{"unpadded base64", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("pent:"+testToken+"x")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBasicAuth(tc.value, []byte(testToken))
			if (err == nil) != tc.ok {
				t.Fatalf("checkBasicAuth(%q) = %v, want ok=%v", tc.value, err, tc.ok)
			}
		})
	}
}

// userPass is an RFC 1929 request.
func userPass(user, pass string) string {
	return "\x01" + string([]byte{byte(len(user))}) + user + string([]byte{byte(len(pass))}) + pass
}

func TestSOCKSAuthentication(t *testing.T) {
	request := "\x05\x01\x00\x03\x08www.test\x01\xbb"
	tests := []struct {
		name, in, reply string
		ok              bool
	}{
		{"user/password", "\x05\x01\x02" + userPass("pent", testToken) + request, "\x05\x02\x01\x00", true},
		{"both methods offered", "\x05\x02\x00\x02" + userPass("pent", testToken) + request, "\x05\x02\x01\x00", true},
		{"no authentication only", "\x05\x01\x00" + request, "\x05\xff", false},
		{"wrong password", "\x05\x01\x02" + userPass("pent", strings.Repeat("f", 64)) + request, "\x05\x02\x01\x01", false},
		{"wrong user", "\x05\x01\x02" + userPass("root", testToken) + request, "\x05\x02\x01\x01", false},
		{"empty credentials", "\x05\x01\x02\x01\x00\x00" + request, "\x05\x02\x01\x01", false},
		{"bad sub-negotiation version", "\x05\x01\x02\x05" + userPass("pent", testToken)[1:] + request, "\x05\x02\x01\x01", false},
		{"truncated password", "\x05\x01\x02\x01\x04pent\x40abc", "\x05\x02\x01\x01", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := readSOCKS5(strings.NewReader(tc.in), &out, []byte(testToken))
			if (err == nil) != tc.ok {
				t.Fatalf("readSOCKS5 = %+v, %v; want ok=%v", got, err, tc.ok)
			}
			if !strings.HasPrefix(out.String(), tc.reply) {
				t.Fatalf("replies %q, want them to start with %q", out.String(), tc.reply)
			}
			if tc.ok && (got.name != "www.test" || got.port != 443) {
				t.Fatalf("target %+v, want www.test:443", got)
			}
		})
	}
}

func TestProxyEnvAuth(t *testing.T) {
	got := strings.Join(sandbox.ProxyEnvAuth(4321, SessionUser, testToken, "/opt/pent/bin/pent"), "\n")
	for _, want := range []string{
		"HTTP_PROXY=http://pent:" + testToken + "@127.0.0.1:4321\n",
		"https_proxy=http://pent:" + testToken + "@127.0.0.1:4321\n",
		"ALL_PROXY=socks5h://pent:" + testToken + "@127.0.0.1:4321\n",
		"all_proxy=socks5h://pent:" + testToken + "@127.0.0.1:4321\n",
		"NO_PROXY=\n", "no_proxy=\n",
		// gRPC refuses socks5h: it gets the http:// URL.
		"GRPC_PROXY=http://pent:" + testToken + "@127.0.0.1:4321\n",
		"grpc_proxy=http://pent:" + testToken + "@127.0.0.1:4321\n",
		"NODE_USE_ENV_PROXY=1\n",
		"JAVA_TOOL_OPTIONS=-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=4321 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=4321 " +
			"-Dhttp.proxyUser=pent -Dhttp.proxyPassword=" + testToken + " -Dhttps.proxyUser=pent -Dhttps.proxyPassword=" + testToken +
			" -Djdk.http.auth.tunneling.disabledSchemes= -Djdk.http.auth.proxying.disabledSchemes=\n",
		"GIT_SSH_COMMAND=ssh -o 'ProxyCommand='\\''/opt/pent/bin/pent'\\'' proxy connect %h %p'\n",
	} {
		if !strings.Contains(got+"\n", want) {
			t.Errorf("ProxyEnvAuth lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(strings.Join(sandbox.ProxyEnvAuth(4321, SessionUser, testToken, ""), "\n"), "GIT_SSH_COMMAND") {
		t.Error("GIT_SSH_COMMAND set without a connector")
	}
	// The sandbox's own listener (Linux) needs neither: capture covers
	// every client.
	for _, kv := range sandbox.ProxyEnv(4321) {
		if strings.Contains(kv, "@") || strings.HasPrefix(kv, "JAVA_TOOL_OPTIONS=") || strings.HasPrefix(kv, "GIT_SSH_COMMAND=") {
			t.Errorf("ProxyEnv sets %s", kv)
		}
	}
}

func TestNewToken(t *testing.T) {
	a, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	if !validToken(a) || !validToken(b) || a == b {
		t.Fatalf("tokens %q and %q: want two different 64-digit hex strings", a, b)
	}
	for _, bad := range []string{"", testToken[:62], testToken + "00", strings.Repeat("g", 64)} {
		if validToken(bad) {
			t.Errorf("validToken(%q) = true", bad)
		}
	}
}

// FuzzProxyAuth checks that only the exact credentials pass, in a
// Proxy-Authorization value and in a SOCKS5 greeting with RFC 1929
// authentication, and that nothing panics.
func FuzzProxyAuth(f *testing.F) {
	f.Add(basic("pent:"+testToken), []byte("\x05\x01\x02"+userPass("pent", testToken)))
	f.Add("Basic cGVudDo=", []byte("\x05\x02\x00\x02\x01\x04pent\x00"))
	f.Add("basic "+base64.StdEncoding.EncodeToString([]byte("pent:"+testToken[:32])), []byte("\x05\x01\x02\x01\xffpent"))
	f.Add("Digest username=pent", []byte("\x05\x01\x00\x05\x01\x00\x03\x08www.test\x01\xbb"))
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte("pent:"+testToken)), []byte("\x05\x01\x02"+userPass("pent", testToken)+"\x05\x01\x00\x03\x08www.test\x01\xbb"))
	f.Add("Basic !!!", []byte("\x05\x01\x02\x02\x04pent\x40"+testToken))
	f.Fuzz(func(t *testing.T, header string, greeting []byte) {
		if checkBasicAuth(header, []byte(testToken)) == nil {
			scheme, encoded, _ := strings.Cut(strings.TrimSpace(header), " ")
			got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
			if !strings.EqualFold(scheme, "basic") || err != nil || string(got) != "pent:"+testToken {
				t.Fatalf("accepted %q", header)
			}
		}
		got, err := readSOCKS5(bytes.NewReader(greeting), io.Discard, []byte(testToken))
		if err == nil {
			n := 2 + int(greeting[1])
			if !slices.Contains(greeting[2:n], socksUserPass) || !bytes.HasPrefix(greeting[n:], []byte(userPass("pent", testToken))) {
				t.Fatalf("authenticated %q", greeting)
			}
			if got.port < 1 || (got.name == "") == !got.addr.IsValid() {
				t.Fatalf("accepted a bad target %+v", got)
			}
		}
	})
}
