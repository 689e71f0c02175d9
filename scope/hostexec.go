package scope

import (
	"path/filepath"
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
	{".local/state/pent", "pent's quarantine, trace logs and run records, which the next pent acts on"},
	{".npm/_npx", "host npx runs the packages installed there"},
	{".config/direnv", "host direnv runs its configuration"},
	{".local/share/direnv", "host direnv's allow list"},
	{".bash_aliases", "interactive bash sources it from the default ~/.bashrc"},
	{".bash_completion", "bash-completion sources it"},
	{".bashrc.d", "interactive bash sources its files (the default ~/.bashrc on some systems)"},
	{".local/share/bash-completion", "bash-completion sources its completions"},
	{".inputrc", "readline reads it (bind -x runs commands)"},
	{".oh-my-zsh", "interactive zsh sources it (oh-my-zsh)"},
	{".nvm/nvm.sh", "shells source it (nvm)"},
	{".sdkman", "shells source its init script (SDKMAN!)"},
	{".xsession", "the graphical session runs it"},
	{".local/share/applications", "the desktop runs the commands its entries name"},
	{".local/share/systemd", "the systemd user manager runs its units"},
	{".local/share/dbus-1", "the session bus starts the services it names"},
	{".config/plasma-workspace", "KDE Plasma sources its env and startup scripts"},
	{".config/mimeapps.list", "the desktop opens files with the programs it names"},
	{".mailcap", "mail and web clients run the commands it names"},
	{".vimrc", "host vim runs it"},
	{".vim", "host vim runs its plugins"},
	{".exrc", "host vi runs it"},
	{".config/vim", "host vim runs it"},
	{".config/nvim", "host neovim runs it"},
	{".local/share/nvim", "host neovim runs its plugins"},
	{".emacs", "host emacs runs it"},
	{".emacs.d", "host emacs runs it"},
	{".config/emacs", "host emacs runs it"},
	{".config/Code/User", "host VS Code runs the commands its settings and tasks name"},
	{".vscode/extensions", "host VS Code runs its extensions"},
	{".tmux.conf", "host tmux runs the commands it names"},
	{".config/tmux", "host tmux runs the commands its config names"},
	{".screenrc", "host screen runs the commands it names"},
	{".gdbinit", "host gdb runs its commands"},
	{".hgrc", "host Mercurial runs its hooks and aliases"},
	{".ipython", "host IPython runs its startup files"},
	{".Rprofile", "host R runs it at startup"},
	{".irbrc", "host irb runs it"},
	{".psqlrc", "host psql runs its commands"},
	{".sqliterc", "host sqlite3 runs its commands"},
	{".config/pip", "host pip trusts the indexes it names"},
	{".config/uv", "host uv trusts the indexes it names"},
	{".condarc", "host conda trusts the channels it names"},
	{".bunfig.toml", "host bun runs the preload scripts it names"},
	{".m2/settings.xml", "host Maven trusts the repositories it names"},
	{".gradle/init.d", "host Gradle runs its init scripts"},
	{".gradle/init.gradle", "host Gradle runs it"},
	{".local/lib/*/site-packages", "host Python runs its .pth files at every start"},
	{".config/go/env", "host go runs the programs it names, as GOFLAGS=-toolexec"},
	{".curlrc", "host curl trusts the options it sets"},
	{".wgetrc", "host wget trusts the options it sets"},
	{".pki", "host browsers and tools trust its NSS certificates"},
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
	if home = CleanAbs(home); home != "" && home != "/" {
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
	root := CleanAbs(projectRoot)
	for _, dir := range path {
		dir = CleanAbs(dir)
		if dir == "" || dir == "/" || dir == home || root != "" && Within(dir, root) {
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
		if Within(path, l.Path) {
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
		if l.Path != dir && Within(l.Path, dir) {
			out = append(out, l)
		}
	}
	return out
}

// CleanAbs returns the cleaned path, or "" when p is not absolute.
func CleanAbs(p string) string {
	if !filepath.IsAbs(p) {
		return ""
	}
	return filepath.Clean(p)
}

// Within reports whether p is dir or lies beneath it (both clean, absolute).
func Within(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
