package run

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
)

// ServeProxy runs the proxy daemon of the project at root (`pent proxy
// serve`) until it is idle or stopped. It listens on the project's socket
// in runtimeDir and loads its allowlist from src, again whenever the global
// file, the project file or an allow record changes; what it has to say
// goes to errs.
func ServeProxy(src Sources, root, runtimeDir string, errs io.Writer) error {
	global, err := src.GlobalConfig()
	if err != nil {
		return err
	}
	resolvers, err := HostResolvers()
	if err != nil {
		return err
	}
	return proxy.RunDaemon(proxy.DaemonConfig{
		SocketPath:    proxy.SocketPath(runtimeDir, root),
		HostResolvers: resolvers,
		Watch:         []string{global, filepath.Join(root, ".pent.toml"), filepath.Join(root, ".pent", "pent.toml"), allowDir(src)},
		Reload: func() (proxy.Settings, error) {
			l, err := Load(src, LoadRequest{ProjectDir: root, Flags: &config.File{Path: "command line"}})
			if err != nil {
				return proxy.Settings{}, err // a broken file: the daemon keeps its last good policy
			}
			if l.Root() != root {
				// The project file is gone, moved, or no longer allowed:
				// this project's proxy lets nothing through.
				fmt.Fprintf(errs, "pent proxy: %s has no allowed .pent.toml any more: every name is denied until it has\n", config.Escape(root))
				return proxy.Settings{}, nil
			}
			return ProxySettings(l.Effective), nil
		},
		Errors: errs,
	})
}

// allowDir is the directory of allow records, "" when the trust store
// cannot be opened: a new record must reload the daemon, since it changes
// whether the project file counts.
func allowDir(src Sources) string {
	store, err := src.Trust()
	if err != nil {
		return ""
	}
	return store.AllowDir()
}
