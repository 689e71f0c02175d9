package sandbox

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pent-sandbox/pent/scope"
)

// Host is what Defaults needs to know about the invoking user and command.
// The caller fills it from its environment; Defaults reads no variables.
type Host struct {
	// Home is the user's home directory.
	Home string
	// Cwd is the working directory pent was started in.
	Cwd string
	// ProjectRoot is the directory holding the project file, or empty.
	ProjectRoot string
	// RuntimeDir is $XDG_RUNTIME_DIR, or empty.
	RuntimeDir string
	// Path is $PATH, split.
	Path []string
	// Command is the resolved absolute path of argv[0].
	Command string
	// WindowsDrives are the mount points of Windows file systems (WSL,
	// WindowsDrives): no PATH directory or install tree on them is granted.
	WindowsDrives []string
}

// systemExec are the system trees a command may read and execute.
var systemExec = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"}

// systemMasked are host directories hidden by default: they hold other users'
// data, mounted media and daemon sockets (/run: D-Bus, docker, containerd;
// /var: sockets under /var/lib and /var/snap, which Landlock below ABI 9
// cannot stop a process from connecting to).
var systemMasked = []string{"/run", "/var/run", "/home", "/root", "/mnt", "/media", "/srv", "/var"}

// privateTmp are the scratch directories every sandbox gets fresh.
var privateTmp = []string{"/tmp", "/var/tmp", "/dev/shm"}

// gitProtected are the entries of a .git directory that git reads as
// configuration, hooks or indirection, named for the platforms that protect
// paths by name (Seatbelt); on Linux, Guard protects a .git directory by
// the allowlist of what git writes.
var gitProtected = []string{
	"hooks", "config", "config.worktree", "commondir", "modules", "worktrees",
	"info/exclude", "info/attributes", "info/sparse-checkout", "info/grafts",
	"objects/info/alternates", "objects/info/http-alternates",
}

// ProtectedUnder lists the protected paths of a project rooted at root,
// whether or not they exist: the protected names, with the entries of
// gitProtected in place of .git itself (a .git created where none existed
// is the Guard's to move).
func ProtectedUnder(root string) []string {
	var out []string
	for _, name := range protectedNames {
		if name != ".git" {
			out = append(out, filepath.Join(root, name))
		}
	}
	for _, g := range gitProtected {
		out = append(out, filepath.Join(root, ".git", g))
	}
	return out
}

// Defaults is the policy of SPEC §4 for host h: system trees readable and
// executable, /etc readable, the PATH directories and the command's install
// tree executable, the project root (or the working directory) writable with
// its protected entries read-only, $HOME and daemon directories masked, and
// private temporary directories. The network is blocked.
//
// A writable root of $HOME or / is withheld: $HOME becomes Traverse, / becomes
// Read, and Policy.Withheld names it so the caller can warn.
func Defaults(h Host) Policy {
	p := Policy{Network: scope.NetBlocked, PrivateTmp: slices.Clone(privateTmp)}
	home := cleanAbs(h.Home)

	p.Execute = existing(systemExec)
	p.Read = existing([]string{"/etc"})
	var pathDirs []string
	for _, dir := range h.Path {
		dir = cleanAbs(dir)
		if dir == "" || dir == "/" || dir == home {
			continue
		}
		pathDirs = append(pathDirs, dir)
	}
	p.Execute = append(p.Execute, pathDirs...)
	p.Execute = append(p.Execute, installTrees(h.Command, home)...)
	// A PATH directory in the project is the sandbox's to write: where its
	// links point must not widen the next run.
	project := cmp.Or(cleanAbs(h.ProjectRoot), cleanAbs(h.Cwd))
	pathDirs = slices.DeleteFunc(pathDirs, func(d string) bool { return project != "" && within(d, project) })
	p.Execute = append(p.Execute, linkedTrees(pathDirs, p.Execute, home)...)
	p.Execute = existing(dedupe(p.Execute))
	// WSL puts the Windows PATH (/mnt/c/Windows/system32, …) after the
	// Linux one; a program there would run as a Windows process, outside
	// the sandbox.
	p.Execute = slices.DeleteFunc(p.Execute, func(dir string) bool { return underAny(dir, h.WindowsDrives) })

	root := cleanAbs(h.ProjectRoot)
	if root == "" {
		root = cleanAbs(h.Cwd)
	}
	switch {
	case root == "":
	case root == home:
		p.Withheld = root
		p.Traverse = append(p.Traverse, root)
	case root == "/":
		p.Withheld = root
		p.Read = append(p.Read, root)
	default:
		p.Write = append(p.Write, root)
	}
	if root != "" && root != "/" {
		p.Protected = ProtectedUnder(root)
	}

	// A directory to hide that does not answer in time is hidden all the
	// same: a slow mount must not uncover it.
	masked := slices.DeleteFunc(dedupe(append([]string{home, cleanAbs(h.RuntimeDir)}, systemMasked...)), func(m string) bool { return m == "/" })
	for i, r := range statAll(os.Lstat, masked, probeTimeout) {
		if errors.Is(r.err, errProbeTimeout) || (r.err == nil && r.info.IsDir()) {
			p.Masked = append(p.Masked, masked[i])
		}
	}
	if conf, err := EvalSymlinks("/etc/resolv.conf"); err == nil && underAny(conf, p.Masked) {
		// DNS for the unrestricted mode: only the file, not its directory,
		// which may hold a resolver socket (systemd-resolved's varlink).
		p.Read = append(p.Read, conf)
	}
	return p
}

// installTrees is where the command is installed: its directory and, for a
// bin directory, the tree around it, both for the path as given and with
// symlinks resolved (npm → ../lib/node_modules/npm/bin/npm-cli.js). A file
// inside an npm package (node_modules/NAME or node_modules/@SCOPE/NAME)
// gets the whole package, whose package.json and dependencies it reads
// (gemini's bundle/gemini.js). A bin directory directly in $HOME or one
// level below it (~/bin, ~/.local/bin, ~/.cargo/bin) is not climbed out
// of: its parent holds unrelated data and credentials.
func installTrees(command, home string) []string {
	command = cleanAbs(command)
	if command == "" {
		return nil
	}
	candidates := []string{command}
	if resolved, err := EvalSymlinks(command); err == nil && resolved != command {
		candidates = append(candidates, resolved)
	}
	var out []string
	for _, c := range candidates {
		if dir := installTree(c, home); dir != "/" && dir != home {
			out = append(out, dir)
		}
	}
	return out
}

// installTree is the tree the program file p is installed in: its npm
// package, the tree around its bin directory (not climbing out of a bin
// directory in or just below home), or its directory.
func installTree(p, home string) string {
	if pkg := npmPackage(p); pkg != "" {
		return pkg
	}
	dir := filepath.Dir(p)
	parent := filepath.Dir(dir)
	if filepath.Base(dir) == "bin" && parent != "/" && parent != home && (home == "" || filepath.Dir(parent) != home) {
		return parent
	}
	return dir
}

// npmPackage is the npm package directory holding p (the innermost
// node_modules/NAME or node_modules/@SCOPE/NAME above it), or "".
func npmPackage(p string) string {
	parts := strings.Split(p, "/")
	for i := len(parts) - 2; i > 0; i-- {
		if parts[i] != "node_modules" {
			continue
		}
		end := i + 2
		if strings.HasPrefix(parts[i+1], "@") {
			end++
		}
		if end >= len(parts) { // p is the package directory or its scope
			return ""
		}
		return strings.Join(parts[:end], "/")
	}
	return ""
}

// maxLinks is how many entries of one PATH directory linkedTrees reads.
const maxLinks = 1000

// linkedTrees are the install trees of the programs that the PATH
// directories in dirs, outside the system trees, link to, beyond the
// granted trees: an npm prefix's
// bin/claude → ../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe,
// a pipx venv. A command calls other tools by name (`sh -c '… claude …'`),
// and a tool needs its tree to run. Only npm packages and trees around a
// bin directory are granted, never one that is home, holds it, lies
// directly in it (a link into ~/.ssh grants nothing) or holds a secret
// (scope.SecretIn); links that point into
// a tree already granted add nothing. A directory that does not answer
// within probeTimeout, and entries past maxLinks, are left out.
func linkedTrees(dirs, granted []string, home string) []string {
	var out []string
	for _, dir := range dirs {
		if underAny(dir, systemExec) {
			continue
		}
		entries, err := answerWithin(probeTimeout, func() ([]os.DirEntry, error) { return os.ReadDir(dir) })
		if err != nil {
			continue
		}
		for _, e := range entries[:min(len(entries), maxLinks)] {
			if e.Type()&os.ModeSymlink == 0 {
				continue
			}
			target, err := EvalSymlinks(filepath.Join(dir, e.Name()))
			if err != nil || underAny(target, granted) || underAny(target, out) {
				continue
			}
			tree := npmPackage(target)
			if tree == "" && filepath.Base(filepath.Dir(target)) == "bin" {
				tree = filepath.Dir(filepath.Dir(target))
			}
			if _, secret := scope.SecretIn(tree, home); secret || tree == "" || tree == "/" || within(home, tree) || filepath.Dir(tree) == home {
				continue
			}
			out = append(out, tree)
		}
	}
	return out
}

// cleanAbs returns the cleaned path, or "" when p is not absolute.
func cleanAbs(p string) string { return scope.CleanAbs(p) }

// existing keeps the paths that exist on this host; one whose stat does
// not answer within probeTimeout is left out (never granted).
func existing(paths []string) []string {
	var out []string
	for i, r := range statAll(os.Stat, paths, probeTimeout) {
		if r.err == nil {
			out = append(out, paths[i])
		}
	}
	return out
}

// dedupe drops empty and repeated entries, keeping the first occurrence.
func dedupe(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// within reports whether p is dir or lies beneath it (both clean, absolute).
func within(p, dir string) bool { return scope.Within(p, dir) }

// underAny reports whether p lies at or beneath one of dirs.
func underAny(p string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return within(p, d) })
}
