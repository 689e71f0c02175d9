package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// HostExecuted is a location outside the project whose content the host
// runs, or trusts as configuration, outside any sandbox: a shell's rc file,
// a directory on PATH, an agent's hooks. Nothing written inside the sandbox
// may land there (SPEC §13).
type HostExecuted struct {
	// Path is absolute and clean.
	Path string
	// Why says, in a few words, what on the host runs or trusts it.
	Why string
}

// hostExecutedInHome are the host-executed locations of a home directory,
// relative to it; a "*" element stands for any one name (glob syntax). This
// is the one list: Policy protection, `pent allow`'s summary and
// `pent trace suggest` all read it through HostExecutedLocations.
var hostExecutedInHome = []struct{ rel, why string }{
	{".profile", "login shells source it"},
	{".bash_profile", "bash login shells source it"},
	{".bash_login", "bash login shells source it"},
	{".bash_logout", "bash sources it at logout"},
	{".bashrc", "interactive bash sources it"},
	{".zshenv", "every zsh sources it"},
	{".zprofile", "zsh login shells source it"},
	{".zshrc", "interactive zsh sources it"},
	{".zlogin", "zsh login shells source it"},
	{".zlogout", "zsh sources it at logout"},
	{".config/fish", "fish sources its config and functions"},
	{".pam_environment", "the login session reads it"},
	{".config/environment.d", "the systemd user session reads it"},
	{".xprofile", "the graphical session sources it"},
	{".xsessionrc", "the graphical session sources it"},
	{".xinitrc", "startx runs it"},
	{".config/autostart", "the desktop session starts its entries"},
	{".config/systemd", "the systemd user manager runs its units"},
	{"bin", "a directory on PATH"},
	{".local/bin", "a directory on PATH"},
	{".cargo/bin", "a directory on PATH (rustup)"},
	{".cargo/env", "login shells source it (rustup)"},
	{".cargo/env.fish", "fish sources it (rustup)"},
	{".cargo/config.toml", "host cargo runs the commands it names (runner, rustc-wrapper)"},
	{".cargo/config", "host cargo runs the commands it names (runner, rustc-wrapper)"},
	{"go/bin", "a directory on PATH (go install)"},
	{".gem/ruby/*/bin", "a directory on PATH (gem install --user-install)"},
	{".local/share/gem/ruby/*/bin", "a directory on PATH (gem install --user-install)"},
	{".gitconfig", "host git runs the commands it names (core.fsmonitor, aliases)"},
	{".config/git", "host git runs the commands its config names"},
	{".ssh/config", "host ssh runs the commands it names (ProxyCommand)"},
	{".ssh/rc", "sshd runs it at login"},
	{".ssh/authorized_keys", "sshd trusts the keys it lists"},
	{".npmrc", "host npm runs the programs it names (script-shell, git)"},
	{".yarnrc", "host yarn runs the programs it names"},
	{".yarnrc.yml", "host yarn runs the programs it names"},
	{".config/gh/config.yml", "host gh runs its shell aliases"},
	{".claude/settings.json", "host Claude Code runs its hooks and commands"},
	{".claude/settings.local.json", "host Claude Code runs its hooks and commands"},
	{".claude/hooks", "host Claude Code runs them"},
	{".claude/commands", "host Claude Code trusts them as instructions"},
	{".claude/agents", "host Claude Code trusts them as instructions"},
	{".claude/skills", "host Claude Code trusts them as instructions"},
	{".claude/plugins", "host Claude Code runs their hooks"},
	{".claude/CLAUDE.md", "host Claude Code trusts it as instructions"},
	{".codex/config.toml", "host Codex runs the commands it names (MCP servers, notify)"},
	{".codex/AGENTS.md", "host Codex trusts it as instructions"},
	{".codex/prompts", "host Codex trusts them as instructions"},
	{".gemini/settings.json", "host Gemini CLI runs the commands it names (MCP servers)"},
	{".gemini/GEMINI.md", "host Gemini CLI trusts it as instructions"},
	{".gemini/commands", "host Gemini CLI trusts them as instructions"},
	{".gemini/extensions", "host Gemini CLI runs their commands"},
	{".config/pent", "pent's own global configuration"},
	{".local/share/pent", "pent's trust store"},
	{".local/state/pent", "pent's quarantine and run records, which the next pent acts on"},
	{".npm/_npx", "host npx runs the packages installed there"},
	{".config/direnv", "host direnv runs its configuration"},
	{".local/share/direnv", "host direnv's allow list"},
	{".vimrc", "host vim runs it"},
	{".vim", "host vim runs its plugins"},
	{".config/nvim", "host neovim runs it"},
	{".emacs", "host emacs runs it"},
	{".emacs.d", "host emacs runs it"},
}

// HostExecutedLocations lists the host-executed locations of a user with
// home directory home and the PATH directories path, skipping the PATH
// directories inside projectRoot (project content, which the user reviews;
// SPEC §13). Globs are expanded against the file system.
func HostExecutedLocations(home string, path []string, projectRoot string) []HostExecuted {
	n := len(hostExecutedInHome) + len(path)
	out := make([]HostExecuted, 0, n)
	seen := make(map[string]bool, n)
	add := func(p, why string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, HostExecuted{Path: p, Why: why})
		}
	}
	if home = cleanAbs(home); home != "" && home != "/" {
		for _, h := range hostExecutedInHome {
			matches := []string{filepath.Join(home, h.rel)}
			if strings.Contains(h.rel, "*") {
				matches, _ = filepath.Glob(matches[0]) // the patterns are well-formed
			}
			for _, m := range matches {
				add(m, h.why)
			}
		}
	}
	root := cleanAbs(projectRoot)
	for _, dir := range path {
		dir = cleanAbs(dir)
		if dir == "" || dir == "/" || dir == home || root != "" && within(dir, root) {
			continue
		}
		add(dir, "a directory on PATH")
	}
	return out
}

// HostExecutedIn returns the first location in locs that a grant of path
// would let the sandbox write: path is that location or lies inside it. A
// location strictly beneath path is not returned: ProtectHostExecuted keeps
// those read-only.
func HostExecutedIn(path string, locs []HostExecuted) (HostExecuted, bool) {
	for _, l := range locs {
		if within(path, l.Path) {
			return l, true
		}
	}
	return HostExecuted{}, false
}

// HostExecutedBeneath lists the locations in locs strictly beneath dir.
// Those that exist ProtectHostExecuted keeps read-only; one that does not
// exist yet can be created by a command allowed to write its parent.
func HostExecutedBeneath(dir string, locs []HostExecuted) []HostExecuted {
	var out []HostExecuted
	for _, l := range locs {
		if l.Path != dir && within(l.Path, dir) {
			out = append(out, l)
		}
	}
	return out
}

// ProtectHostExecuted adds to p.Protected every location of locs strictly
// beneath one of p's writable paths, so that a grant of ~/.cargo keeps
// ~/.cargo/bin and ~/.cargo/env read-only. A writable path that is itself a
// location, or lies inside one, was granted by name and stays writable (the
// `pent allow` summary shows it as a widening).
func ProtectHostExecuted(p *Policy, locs []HostExecuted) {
	for _, w := range p.Write {
		for _, l := range HostExecutedBeneath(w, locs) {
			if !slices.Contains(p.Protected, l.Path) {
				p.Protected = append(p.Protected, l.Path)
			}
		}
	}
}

// GuardMissing adds to g, for every location of locs strictly beneath a
// directory of grants that does not exist yet, a guard of the deepest
// directory on its way that exists: what the command creates there at the
// location's name (~/.cargo/config.toml, ~/.claude/hooks, ~/.npm/_npx) is
// moved aside like a protected name in a project, a symlink included.
func (g *Guard) GuardMissing(grants []string, locs []HostExecuted) error {
	for _, w := range grants {
		if !isDir(w) {
			continue // nothing there to write in (or a file grant)
		}
		for _, l := range HostExecutedBeneath(w, locs) {
			if _, err := os.Lstat(l.Path); !errors.Is(err, fs.ErrNotExist) {
				continue // exists: Policy.Protected keeps it read-only
			}
			dir, first := deepestDir(w, l.Path[len(w)+1:])
			if err := g.forbid(w, dir, first); err != nil {
				return err
			}
		}
	}
	return nil
}

// forbid adds name to the denylist of dir in g, guarding dir for root if
// it is not guarded yet (one watch per directory).
func (g *Guard) forbid(root, dir, name string) error {
	for i, d := range g.Dirs {
		if d.Dir != dir {
			continue
		}
		if !d.Allow && !slices.Contains(d.Names, name) {
			g.Dirs[i].Names = append(g.Dirs[i].Names, name)
		}
		return nil // an allowlist forbids it already
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s to guard it: %w", dir, err)
	}
	d := GuardDir{Root: root, Dir: dir, Names: []string{name}}
	for _, e := range entries {
		d.Existing = append(d.Existing, e.Name())
	}
	g.Dirs = append(g.Dirs, d)
	return nil
}
