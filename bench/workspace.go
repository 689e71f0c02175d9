package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// workspace is the throw-away directory a run works in: a private HOME with
// two projects, the binaries, and a copy for the unprivileged user.
type workspace struct {
	dir         string
	bin         string // holds pent and the bench binary itself
	pent        string
	self        string // the bench binary, runnable inside the sandbox
	hello       string // a Go hello-world, the baseline of the commands a user waits on
	home        string
	proj        string // project with a trusted .pent.toml (wrap) and an allowed .envrc
	plain       string // directory with no project file
	runtime     string
	pentVersion string
	unpriv      *unprivUser // nil when no unprivileged user could be set up
	unprivWhy   string      // why unpriv is nil
}

// unprivUser is the unprivileged account and its own copy of the workspace.
type unprivUser struct {
	name     string
	uid, gid uint32
	home     string
	plain    string
	runtime  string
}

// newWorkspace builds pent (unless given), copies the binaries and creates
// the projects, trusting them for pent and direnv.
func newWorkspace(ctx context.Context, o options) (*workspace, error) {
	dir, err := os.MkdirTemp("", "pent-bench.")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	w := &workspace{dir: dir, bin: filepath.Join(dir, "bin"), home: filepath.Join(dir, "home"), runtime: filepath.Join(dir, "run")}
	w.pent = filepath.Join(w.bin, "pent")
	w.self = filepath.Join(w.bin, "bench")
	w.proj = filepath.Join(w.home, "src", "proj")
	w.plain = filepath.Join(w.home, "plain")
	if err := w.setup(ctx, o); err != nil {
		w.remove()
		return nil, err
	}
	return w, nil
}

func (w *workspace) setup(ctx context.Context, o options) error {
	for _, d := range []string{w.bin, w.proj, w.plain} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := os.Mkdir(w.runtime, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", w.runtime, err)
	}
	if o.pent == "" {
		fmt.Fprintln(os.Stderr, "bench: building pent (CGO_ENABLED=0 go build ./cmd/pent)")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", w.pent, "./cmd/pent")
		cmd.Dir, cmd.Stderr = o.repo, os.Stderr
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building pent: %w", err)
		}
	} else if err := copyFile(o.pent, w.pent); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the bench binary: %w", err)
	}
	if err := copyFile(self, w.self); err != nil {
		return err
	}
	if w.hello, err = buildHello(ctx, w.dir); err != nil {
		return err
	}
	out, err := w.output(ctx, w.plain, w.pent, "version")
	if err != nil {
		return fmt.Errorf("pent version: %w", err)
	}
	w.pentVersion = strings.TrimSpace(out) + gitRevision(o.repo)
	files := map[string]string{
		filepath.Join(w.proj, ".pent.toml"): "wrap = [\"cat\"]\n",
		filepath.Join(w.proj, ".envrc"):     "export BENCH_DIRENV=1\n",
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if _, err := w.output(ctx, w.proj, w.pent, "allow", "--yes"); err != nil {
		return fmt.Errorf("pent allow: %w", err)
	}
	if _, err := w.output(ctx, w.proj, "direnv", "allow", w.proj); err != nil {
		return fmt.Errorf("direnv allow: %w", err)
	}
	w.unpriv, w.unprivWhy = w.setupUnpriv(o.user)
	return nil
}

// gitRevision is " (git REV)" for the repository, or "" outside git.
func gitRevision(repo string) string {
	out, err := exec.Command("git", "-C", repo, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return " (git " + strings.TrimSpace(string(out)) + ")"
}

// env is the environment of every measured command: the private HOME, the
// work bin directory first in PATH, nothing of the invoking user's setup.
func (w *workspace) env(extra ...string) []string {
	return append([]string{
		"HOME=" + w.home,
		"PATH=" + w.bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_RUNTIME_DIR=" + w.runtime,
		"LANG=C.UTF-8",
		"TERM=dumb",
		"USER=root",
	}, extra...)
}

// output runs name in dir with the workspace environment and returns stdout;
// the error carries stderr.
func (w *workspace) output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, w.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// setupUnpriv gives the unprivileged user (name, or pent-e2e, or nobody) its
// own HOME, plain directory and runtime directory inside the workspace.
func (w *workspace) setupUnpriv(name string) (*unprivUser, string) {
	if os.Geteuid() != 0 {
		return nil, "the bench does not run as root"
	}
	candidates := []string{name}
	if name == "" {
		candidates = []string{"pent-e2e", "nobody"}
	}
	var u *user.User
	var err error
	for _, c := range candidates {
		if u, err = user.Lookup(c); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Sprintf("no unprivileged user: %v", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	base := filepath.Join(w.dir, "u")
	uu := &unprivUser{name: u.Username, uid: uint32(uid), gid: uint32(gid),
		home: filepath.Join(base, "home"), plain: filepath.Join(base, "home", "plain"), runtime: filepath.Join(base, "run")}
	for _, d := range []string{base, uu.home, uu.plain, uu.runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Sprintf("creating %s: %v", d, err)
		}
		if err := os.Chown(d, int(uid), int(gid)); err != nil {
			return nil, fmt.Sprintf("chown %s: %v", d, err)
		}
	}
	return uu, ""
}

// env is the unprivileged user's environment (the same shape as workspace.env).
func (u *unprivUser) env(bin string) []string {
	return []string{
		"HOME=" + u.home,
		"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin",
		"XDG_RUNTIME_DIR=" + u.runtime,
		"LANG=C.UTF-8",
		"TERM=dumb",
		"USER=" + u.name,
	}
}

// credential makes a command run as the user.
func (u *unprivUser) credential() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}}
}

// remove stops the project proxies the run started and deletes the workspace.
func (w *workspace) remove() {
	for _, dir := range []string{w.proj, filepath.Join(w.home, "src", "proxy")} {
		if _, err := os.Stat(dir); err == nil {
			stop := exec.Command(w.pent, "proxy", "stop")
			stop.Dir, stop.Env = dir, w.env()
			_ = stop.Run()
		}
	}
	if err := os.RemoveAll(w.dir); err != nil {
		fmt.Fprintf(os.Stderr, "bench: removing %s: %v\n", w.dir, err)
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("copying to %s: %w", dst, err)
	}
	return nil
}
