package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/pent-sandbox/pent/config"
	"github.com/pent-sandbox/pent/proxy"
	"github.com/pent-sandbox/pent/run"
	"github.com/pent-sandbox/pent/termtext"
)

// ProxyOptions are the inputs of the `pent proxy` subcommands.
type ProxyOptions struct {
	IO      *IOStreams
	Factory *Factory
	// Action is the subcommand: status, stop, logs, serve or connect.
	Action  string
	Project string
	// Lines is how many decisions logs prints.
	Lines int
	// Host and Port are connect's destination, as typed.
	Host, Port string
}

// NewCmdProxy builds `pent proxy status|stop|logs|connect` and the hidden
// `serve` that runs a project's proxy daemon. runF replaces the run function
// of every subcommand in tests.
func NewCmdProxy(f *Factory, runF func(*ProxyOptions) error) *cobra.Command {
	opts := &ProxyOptions{IO: f.IO, Factory: f}
	run := func(action string) func(*cobra.Command, []string) error {
		return func(_ *cobra.Command, args []string) error {
			opts.Action = action
			if len(args) == 2 {
				opts.Host, opts.Port = args[0], args[1]
			}
			if runF != nil {
				return runF(opts)
			}
			return proxyRun(opts)
		}
	}
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
	cmd.PersistentFlags().StringVar(&opts.Project, "project", "", "the project `DIR` (default: found from the working directory)")
	status := &cobra.Command{
		Use: "status", Short: "Show whether the project's proxy runs, its sessions and connections", Args: cobra.NoArgs,
		Example: "  pent proxy status",
		RunE:    run("status"),
	}
	stop := &cobra.Command{
		Use: "stop", Short: "Stop the project's proxy (running sandboxes lose their network)", Args: cobra.NoArgs,
		Example: "  pent proxy stop",
		RunE:    run("stop"),
	}
	logs := &cobra.Command{
		Use: "logs", Short: "Print the proxy's recent decisions, one JSON line each", Args: cobra.NoArgs,
		Example: "  pent proxy logs -n 20",
		RunE:    run("logs"),
	}
	logs.Flags().IntVarP(&opts.Lines, "lines", "n", 100, "how many decisions to print")
	serve := &cobra.Command{
		Use: "serve", Short: "Run the project's proxy daemon in the foreground", Hidden: true, Args: cobra.NoArgs,
		RunE: run("serve"),
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
		RunE:    run("connect"),
	}
	cmd.AddCommand(status, stop, logs, serve, connect)
	return cmd
}

// proxyRun runs the subcommand o.Action names.
func proxyRun(o *ProxyOptions) error {
	switch o.Action {
	case "status":
		return o.status()
	case "stop":
		return o.stop()
	case "logs":
		return o.logs()
	case "serve":
		return serveProxy(o.Factory, o.Project)
	case "connect":
		return proxyConnect(o.Factory, o.Host, o.Port)
	}
	return fmt.Errorf("pent proxy: no subcommand %q", o.Action)
}

// client is a client of the daemon of the project o names, and its root.
func (o *ProxyOptions) client() (*proxy.Client, string, error) {
	root, err := o.Factory.projectRoot(o.Project)
	if err != nil {
		return nil, "", err
	}
	rt, err := o.Factory.RuntimeDir()
	if err != nil {
		return nil, "", err
	}
	return proxy.NewClient(proxy.SocketPath(rt, root)), root, nil
}

func (o *ProxyOptions) status() error {
	c, root, err := o.client()
	if err != nil {
		return err
	}
	s, err := c.Status()
	if err != nil {
		fmt.Fprintf(o.IO.Out, "proxy for %s: not running\n", root)
		return nil
	}
	fmt.Fprintf(o.IO.Out, "proxy for %s: running, pid %d, up %s\nsessions: %d\nconnections: %d\npolicy: %s\n",
		root, s.PID, time.Duration(s.UptimeSeconds*float64(time.Second)).Round(time.Second), s.Sessions, s.Connections, s.Policy)
	return nil
}

func (o *ProxyOptions) stop() error {
	c, root, err := o.client()
	if err != nil {
		return err
	}
	if err := c.Stop(); err != nil {
		return fmt.Errorf("no proxy is running for %s", root)
	}
	o.IO.Say("stopped the proxy for %s", root)
	return nil
}

func (o *ProxyOptions) logs() error {
	c, root, err := o.client()
	if err != nil {
		return err
	}
	out, err := c.Logs(o.Lines)
	if err != nil {
		return fmt.Errorf("no proxy is running for %s", root)
	}
	_, err = o.IO.Out.Write(termtext.JSON(out)) // a daemon of an older pent may not have escaped them
	return err
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
	l, err := f.load(run.LoadRequest{ProjectDir: dir, Flags: &config.File{Path: "command line"}})
	if err != nil {
		return "", err
	}
	if l.ProjectRoot == "" {
		return "", fmt.Errorf("no .pent.toml in %s or above: runs without a project use a private proxy of their own", l.Cwd)
	}
	return l.ProjectRoot, nil
}

// serveProxy runs the daemon of the project found from dir (run.ServeProxy)
// until it is idle or stopped.
func serveProxy(f *Factory, dir string) error {
	root, err := f.projectRoot(dir)
	if err != nil {
		return err
	}
	rt, err := f.RuntimeDir()
	if err != nil {
		return err
	}
	src, err := f.sources()
	if err != nil {
		return err
	}
	return run.ServeProxy(src, root, rt, f.IO.ErrOut)
}

// proxyState describes the project's proxy for `pent status`.
func proxyState(f *Factory, l *run.Loaded) string {
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
