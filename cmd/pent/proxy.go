package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/termtext"
)

// NewCmdProxy builds `pent proxy status|stop|logs|connect` and the hidden
// `serve` that runs a project's proxy daemon.
func NewCmdProxy(f *Factory) *cobra.Command {
	var project string
	var lines int
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Inspect or stop the current project's network proxy",
		Long: `The first sandboxed run of a project in proxy mode starts a proxy for that
project in the background; later runs share it. It listens only on a UNIX
socket in a private directory, reloads its allowlist when the global or the
(allowed) project file changes, and exits after ten idle minutes.`,
		Example: `  pent proxy status
  pent proxy logs -n 50
  pent proxy stop`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&project, "project", "", "the project `DIR` (default: found from the working directory)")
	client := func() (*proxy.Client, string, error) {
		root, err := f.projectRoot(project)
		if err != nil {
			return nil, "", err
		}
		rt, err := f.RuntimeDir()
		if err != nil {
			return nil, "", err
		}
		return proxy.NewClient(proxy.SocketPath(rt, root)), root, nil
	}
	status := &cobra.Command{
		Use: "status", Short: "Show whether the project's proxy runs, its sessions and connections", Args: cobra.NoArgs,
		Example: "  pent proxy status",
		RunE: func(*cobra.Command, []string) error {
			c, root, err := client()
			if err != nil {
				return err
			}
			s, err := c.Status()
			if err != nil {
				fmt.Fprintf(f.IO.Out, "proxy for %s: not running\n", root)
				return nil
			}
			fmt.Fprintf(f.IO.Out, "proxy for %s: running, pid %d, up %s\nsessions: %d\nconnections: %d\npolicy: %s\n",
				root, s.PID, time.Duration(s.UptimeSeconds*float64(time.Second)).Round(time.Second), s.Sessions, s.Connections, s.Policy)
			return nil
		},
	}
	stop := &cobra.Command{
		Use: "stop", Short: "Stop the project's proxy (running sandboxes lose their network)", Args: cobra.NoArgs,
		Example: "  pent proxy stop",
		RunE: func(*cobra.Command, []string) error {
			c, root, err := client()
			if err != nil {
				return err
			}
			if err := c.Stop(); err != nil {
				return fmt.Errorf("no proxy is running for %s", root)
			}
			f.IO.Say("stopped the proxy for %s", root)
			return nil
		},
	}
	logs := &cobra.Command{
		Use: "logs", Short: "Print the proxy's recent decisions, one JSON line each", Args: cobra.NoArgs,
		Example: "  pent proxy logs -n 20",
		RunE: func(*cobra.Command, []string) error {
			c, root, err := client()
			if err != nil {
				return err
			}
			out, err := c.Logs(lines)
			if err != nil {
				return fmt.Errorf("no proxy is running for %s", root)
			}
			_, err = f.IO.Out.Write(termtext.JSON(out)) // a daemon of an older pent may not have escaped them
			return err
		},
	}
	logs.Flags().IntVarP(&lines, "lines", "n", 100, "how many decisions to print")
	serve := &cobra.Command{
		Use: "serve", Short: "Run the project's proxy daemon in the foreground", Hidden: true, Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return serveProxy(f, project) },
	}
	connect := &cobra.Command{
		Use:   "connect HOST PORT",
		Short: "Connect stdin and stdout to HOST:PORT through the run's proxy (ssh ProxyCommand)",
		Long: `Inside a proxy-mode sandbox on macOS, opens a tunnel to HOST:PORT through
pent's proxy with the run's credentials (from HTTPS_PROXY) and copies stdin
to it and it to stdout, like nc. Proxy mode sets GIT_SSH_COMMAND so that
git over SSH uses it; for ssh itself, pass the same ProxyCommand.`,
		Example: `  ssh -o 'ProxyCommand=pent proxy connect %h %p' git@github.com`,
		Args:    cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			return proxyConnect(f, args[0], args[1])
		},
	}
	cmd.AddCommand(status, stop, logs, serve, connect)
	return cmd
}

// proxyConnect is `pent proxy connect HOST PORT`: the proxy and the run's
// credentials come from HTTPS_PROXY, which proxy mode sets.
func proxyConnect(f *Factory, host, portArg string) error {
	port, err := strconv.Atoi(portArg)
	if err != nil || port < 1 || port > 65535 {
		return fmt.Errorf("port %q is not a number 1-65535", portArg)
	}
	proxyURL := f.Env["HTTPS_PROXY"]
	if proxyURL == "" {
		proxyURL = f.Env["https_proxy"]
	}
	if proxyURL == "" {
		return errors.New("HTTPS_PROXY is not set: `pent proxy connect` runs inside a sandbox in proxy mode")
	}
	return proxy.ProxyConnect(proxyURL, host, port, f.IO.In, f.IO.Out)
}

// projectRoot is the root of the project found from dir (or the working
// directory).
func (f *Factory) projectRoot(dir string) (string, error) {
	l, err := f.load(loadRequest{ProjectDir: dir, Flags: &config.File{Path: "command line"}})
	if err != nil {
		return "", err
	}
	if l.ProjectRoot == "" {
		return "", fmt.Errorf("no .pent.toml in %s or above: runs without a project use a private proxy of their own", l.Cwd)
	}
	return l.ProjectRoot, nil
}

// serveProxy runs the daemon for a project until it is idle or stopped.
func serveProxy(f *Factory, dir string) error {
	root, err := f.projectRoot(dir)
	if err != nil {
		return err
	}
	rt, err := f.RuntimeDir()
	if err != nil {
		return err
	}
	global, err := f.GlobalConfigPath()
	if err != nil {
		return err
	}
	resolvers, err := run.HostResolvers()
	if err != nil {
		return err
	}
	return proxy.RunDaemon(proxy.DaemonConfig{
		SocketPath:    proxy.SocketPath(rt, root),
		HostResolvers: resolvers,
		Watch:         []string{global, filepath.Join(root, ".pent.toml"), filepath.Join(root, ".pent", "pent.toml"), trustDirOf(f)},
		Reload: func() (proxy.Settings, error) {
			l, err := f.load(loadRequest{ProjectDir: root, Flags: &config.File{Path: "command line"}})
			if err != nil {
				return proxy.Settings{}, err // a broken file: the daemon keeps its last good policy
			}
			if l.Root() != root {
				// The project file is gone, moved, or no longer allowed:
				// this project's proxy lets nothing through.
				fmt.Fprintf(os.Stderr, "pent proxy: %s has no allowed .pent.toml any more: every name is denied until it has\n", config.Escape(root))
				return proxy.Settings{}, nil
			}
			return run.ProxySettings(l.Effective), nil
		},
		Errors: os.Stderr,
	})
}

// trustDirOf is the directory of allow records: a new record must reload
// the daemon, since it changes whether the project file counts.
func trustDirOf(f *Factory) string {
	d, err := f.DataDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "allow")
}

// proxyState describes the project's proxy for `pent status`.
func proxyState(f *Factory, l *loaded) string {
	if l.Root() == "" {
		return "none (no allowed project; proxy-mode runs use a private proxy)"
	}
	rt, err := f.RuntimeDir()
	if err != nil {
		return "unknown: " + err.Error()
	}
	s, err := proxy.NewClient(proxy.SocketPath(rt, l.Root())).Status()
	if err != nil {
		return "not running"
	}
	return fmt.Sprintf("running (pid %d, %d session(s), %d connection(s))", s.PID, s.Sessions, s.Connections)
}
