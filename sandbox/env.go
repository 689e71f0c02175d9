package sandbox

import (
	"path/filepath"
	"slices"
	"strings"
)

// passedEnv are the variables a sandboxed command sees from the host (SPEC
// §4.1); LC_* and a TMPDIR that names a private temporary directory too.
var passedEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "TZ",
	"EDITOR", "VISUAL", "PAGER", "COLORTERM", "TERM_PROGRAM"}

// FilterEnv builds the environment of a sandboxed command from the host's
// env: the safe set above, then extra entries in order — "KEY" passes the
// host value through when it is set, "KEY=VALUE" sets it. TMPDIR passes only
// when it is one of the private temporary directories (/tmp, /var/tmp), the
// only places that exist, empty, inside the sandbox. Entries with an empty
// key or a NUL byte are dropped. The result is sorted by key.
func FilterEnv(env map[string]string, extra []string) []string {
	out := map[string]string{}
	for k, v := range env {
		if slices.Contains(passedEnv, k) || strings.HasPrefix(k, "LC_") {
			out[k] = v
		}
	}
	if dir, ok := env["TMPDIR"]; ok && (filepath.Clean(dir) == "/tmp" || filepath.Clean(dir) == "/var/tmp") {
		out["TMPDIR"] = dir
	}
	for _, e := range extra {
		k, v, set := strings.Cut(e, "=")
		if !set {
			v, set = env[k]
		}
		if set {
			out[k] = v
		}
	}
	keys := make([]string, 0, len(out))
	for k, v := range out {
		if k != "" && !strings.ContainsRune(k, 0) && !strings.ContainsRune(v, 0) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	list := make([]string, 0, len(keys))
	for _, k := range keys {
		list = append(list, k+"="+out[k])
	}
	return list
}
