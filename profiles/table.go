package profiles

// builtin is the table of built-in profiles, sorted by name (Lookup relies on
// that; a test checks it). Paths missing on a given host are simply absent in
// the sandbox. Private keys and token stores that other tools own are never
// writable here, nor is anything the host executes (SPEC §13): caches and
// registries are read_write, install prefixes and bin directories execute
// only, and the host-executed locations inside a read_write directory
// (~/.cargo/bin, ~/.claude/settings.json, …; scope.HostExecutedLocations)
// stay read-only in the sandbox. A test checks this table against that list.
var builtin = []Profile{
	{
		Name:      "@base",
		Summary:   "home directory skeleton and harmless shell and terminal settings",
		Traversal: []string{"~", "~/.config", "~/.cache", "~/.local", "~/.local/share", "~/.local/state"},
		Read: []string{
			"~/.terminfo", "~/.inputrc", "~/.editorconfig", "~/.config/fontconfig",
			"~/.local/share/terminfo",
		},
	},
	{
		Name:     "@brew",
		Commands: []string{"brew"},
		Summary:  "Homebrew: formulae API, bottles on ghcr.io, its prefix and caches",
		Requires: []string{"@base"},
		Domains: []string{
			"formulae.brew.sh", "ghcr.io", "pkg-containers.githubusercontent.com", "github.com",
			"objects.githubusercontent.com", "codeload.github.com",
		},
		// The prefix holds the programs the host runs (bin/ links into the
		// Cellar): brew install and upgrade run outside the sandbox.
		ReadWrite: []string{"~/Library/Caches/Homebrew", "~/Library/Logs/Homebrew", "~/.cache/Homebrew"},
		Execute:   []string{"/opt/homebrew", "/home/linuxbrew/.linuxbrew", "~/.linuxbrew"},
		Read:      []string{"~/.homebrew", "~/.config/homebrew"},
		Env:       []string{"HOMEBREW_PREFIX", "HOMEBREW_CELLAR", "HOMEBREW_REPOSITORY", "HOMEBREW_NO_AUTO_UPDATE", "HOMEBREW_NO_ANALYTICS"},
	},
	{
		Name:     "@cargo",
		Commands: []string{"cargo", "rustc", "rustup"},
		Summary:  "Rust: crates.io registry, rustup toolchains, ~/.cargo",
		Requires: []string{"@base"},
		Domains: []string{
			"crates.io", "static.crates.io", "index.crates.io", "static.rust-lang.org",
		},
		ReadWrite: []string{"~/.cargo"},
		Execute:   []string{"~/.rustup"},
		Env:       []string{"CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "RUSTFLAGS", "CARGO_TARGET_DIR"},
	},
	{
		Name:     "@claude",
		Commands: []string{"claude"},
		Summary:  "Claude Code: Anthropic API, login and token refresh, telemetry, ~/.claude and ~/.claude.json",
		Requires: []string{"@node"},
		// The hosts the pinned CLI contacts (e2e/agents_test.go checks that
		// each is in its bundle). Not its browser-only login pages
		// (claude.com/cai/oauth/authorize), documentation links or Bedrock
		// and Vertex endpoints (Notes).
		Domains: []string{
			"api.anthropic.com", "platform.claude.com", "downloads.claude.ai", "mcp-proxy.anthropic.com",
			"http-intake.logs.us5.datadoghq.com",
		},
		Why: map[string]string{
			"api.anthropic.com":                  "the Messages API; the account's profile, roles and API key after login; feature flags, metrics and event logging",
			"platform.claude.com":                "login: exchanges the code of a Claude or Console login for tokens and refreshes them (/v1/oauth/token)",
			"downloads.claude.ai":                "the signed model catalog, the official plugin marketplace and release manifests (self-update cannot install from inside: install locations are read-only)",
			"mcp-proxy.anthropic.com":            "the claude.ai MCP connectors of a subscription account",
			"http-intake.logs.us5.datadoghq.com": "telemetry: operational event logs; DISABLE_TELEMETRY=1 turns it off (add it to [sandbox] env)",
		},
		ReadWrite: []string{"~/.claude", "~/.claude.json", "~/.claude.json.backup", "~/.config/claude"},
		Execute:   []string{"~/.local/share/claude", "~/.local/bin/claude"},
		Env: []string{
			"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL",
			"CLAUDE_CONFIG_DIR",
		},
		Notes: []string{
			"Amazon Bedrock: add your region's endpoint (\"bedrock-runtime.us-east-1.amazonaws.com\") to [proxy] domain_allowlist, \"~/.aws/config\" and \"~/.aws/credentials\" to [sandbox.paths] read, and \"CLAUDE_CODE_USE_BEDROCK\", \"AWS_REGION\", \"AWS_PROFILE\" to [sandbox] env",
			"Google Vertex AI: add \"REGION-aiplatform.googleapis.com\" (or \"aiplatform.googleapis.com\" for the global region) and \"oauth2.googleapis.com\" to [proxy] domain_allowlist, \"~/.config/gcloud/application_default_credentials.json\" to [sandbox.paths] read, and \"CLAUDE_CODE_USE_VERTEX\", \"CLOUD_ML_REGION\", \"ANTHROPIC_VERTEX_PROJECT_ID\" to [sandbox] env",
			"Bedrock and Vertex are not profiles: their endpoints depend on your region and their credentials are secrets pent grants only when you name them",
		},
	},
	{
		Name:     "@codex",
		Commands: []string{"codex"},
		Summary:  "OpenAI Codex CLI: OpenAI API, ChatGPT login and token refresh, ~/.codex",
		Requires: []string{"@node"},
		// The hosts the pinned CLI contacts (e2e/agents_test.go checks that
		// each is in its bundle). Not its update check (Notes).
		Domains: []string{"api.openai.com", "chatgpt.com", "auth.openai.com", "ab.chatgpt.com", "o33249.ingest.us.sentry.io"},
		Why: map[string]string{
			"api.openai.com":             "the Responses API with an API key (OPENAI_API_KEY or `codex login --with-api-key`)",
			"chatgpt.com":                "the Codex backend of a ChatGPT login (/backend-api/codex): models, turns, plugins",
			"auth.openai.com":            "ChatGPT login: exchanges the login code for tokens and refreshes and revokes them (/oauth/token)",
			"ab.chatgpt.com":             "telemetry: OpenTelemetry metrics (/otlp/v1/metrics)",
			"o33249.ingest.us.sentry.io": "`codex /feedback` uploads the report you send",
		},
		ReadWrite: []string{"~/.codex"},
		Env:       []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "CODEX_HOME"},
		Notes: []string{
			"the update check (api.github.com) is not allowed: an npm-installed codex cannot update itself from inside; set check_for_update_on_startup = false in ~/.codex/config.toml to skip it",
		},
	},
	{
		Name:     "@gem",
		Commands: []string{"gem", "bundle", "ruby"},
		Summary:  "Ruby: rubygems.org, gem and bundler directories, rbenv/rvm rubies",
		Requires: []string{"@base"},
		Domains:  []string{"rubygems.org", "index.rubygems.org", "api.rubygems.org"},
		ReadWrite: []string{
			"~/.gem", "~/.bundle", "~/.cache/gem", "~/.local/share/gem",
		},
		Read:    []string{"~/.gemrc"},
		Execute: []string{"~/.rbenv", "~/.rvm", "~/.local/share/mise"},
		Env:     []string{"GEM_HOME", "GEM_PATH", "BUNDLE_PATH", "BUNDLE_GEMFILE", "RBENV_VERSION"},
	},
	{
		Name:     "@gemini",
		Commands: []string{"gemini"},
		Summary:  "Gemini CLI: Gemini API, Google login and token refresh, Code Assist, usage statistics, ~/.gemini",
		Requires: []string{"@node"},
		// The hosts the pinned CLI contacts (e2e/agents_test.go checks that
		// each is in its bundle). Not its browser-only consent page or Vertex
		// AI endpoints (Notes).
		Domains: []string{
			"generativelanguage.googleapis.com", "cloudcode-pa.googleapis.com",
			"oauth2.googleapis.com", "www.googleapis.com", "accounts.google.com", "play.googleapis.com",
			"registry.npmjs.org",
		},
		Why: map[string]string{
			"generativelanguage.googleapis.com": "the Gemini API with GEMINI_API_KEY",
			"cloudcode-pa.googleapis.com":       "the Code Assist API of a \"Login with Google\" account",
			"oauth2.googleapis.com":             "Google login: exchanges the code for tokens, refreshes them, checks them (/token, /tokeninfo)",
			"www.googleapis.com":                "Google login: the account's user info after login (/oauth2/v2/userinfo)",
			"accounts.google.com":               "Google logout: revokes the token (/o/oauth2/revoke)",
			"play.googleapis.com":               "usage statistics (Clearcut); \"privacy\": {\"usageStatisticsEnabled\": false} in ~/.gemini/settings.json turns it off",
			"registry.npmjs.org":                "the update check (self-update cannot install from inside: the npm prefix is read-only)",
		},
		ReadWrite: []string{"~/.gemini"},
		Env:       []string{"GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT"},
		Notes: []string{
			"Vertex AI: add \"REGION-aiplatform.googleapis.com\" to [proxy] domain_allowlist, \"~/.config/gcloud/application_default_credentials.json\" to [sandbox.paths] read, and \"GOOGLE_GENAI_USE_VERTEXAI\", \"GOOGLE_CLOUD_LOCATION\" to [sandbox] env",
		},
	},
	{
		Name:      "@gh",
		Commands:  []string{"gh"},
		Summary:   "GitHub CLI: GitHub API and downloads, ~/.config/gh, GH_TOKEN",
		Requires:  []string{"@git"},
		Domains:   []string{"api.github.com", "uploads.github.com", "objects.githubusercontent.com", "raw.githubusercontent.com", "codeload.github.com"},
		ReadWrite: []string{"~/.config/gh", "~/.local/state/gh", "~/.cache/gh"},
		Env:       []string{"GH_TOKEN", "GITHUB_TOKEN", "GH_HOST", "GH_ENTERPRISE_TOKEN", "GH_PAGER", "GH_NO_UPDATE_NOTIFIER"},
	},
	{
		Name:     "@git",
		Commands: []string{"git"},
		Summary:  "git: user configuration (no credentials) and the big forges",
		Requires: []string{"@base"},
		Domains:  []string{"github.com", "gitlab.com", "bitbucket.org", "codeberg.org"},
		Read:     []string{"~/.gitconfig", "~/.config/git", "~/.gitignore_global", "~/.gitattributes"},
		Env: []string{
			"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
			"GIT_EDITOR", "GIT_PAGER",
		},
	},
	{
		Name:      "@go",
		Commands:  []string{"go"},
		Summary:   "Go: module proxy and checksum database, ~/go and the build cache",
		Requires:  []string{"@base"},
		Domains:   []string{"proxy.golang.org", "sum.golang.org", "go.dev", "golang.org"},
		ReadWrite: []string{"~/go", "~/.cache/go-build"},
		Read:      []string{"~/.config/go"},
		Execute:   []string{"~/sdk"},
		Env: []string{
			"GOPATH", "GOPROXY", "GOFLAGS", "GOPRIVATE", "GONOSUMDB", "GONOPROXY", "GOTOOLCHAIN",
			"GOCACHE", "GOMODCACHE", "CGO_ENABLED",
		},
	},
	{
		Name:      "@keychain",
		Summary:   "OS credential store: macOS Keychain and Secret Service keyrings (needs the session bus)",
		Requires:  []string{"@base"},
		ReadWrite: []string{"~/Library/Keychains", "~/.local/share/keyrings", "~/.local/share/kwalletd"},
		Env:       []string{"DBUS_SESSION_BUS_ADDRESS"},
	},
	{
		Name:     "@node",
		Commands: []string{"node"},
		Summary:  "Node.js runtimes (nvm, volta, fnm) and native-module headers",
		Requires: []string{"@base"},
		Domains:  []string{"nodejs.org"},
		Execute: []string{
			"~/.nvm", "~/.volta", "~/.local/share/fnm", "~/.fnm", "~/.local/share/mise",
		},
		ReadWrite: []string{"~/.cache/node-gyp", "~/.node-gyp", "~/.cache/node"},
		Env:       []string{"NVM_DIR", "VOLTA_HOME", "FNM_DIR", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS"},
	},
	{
		Name:     "@npm",
		Commands: []string{"npm", "npx"},
		Summary:  "npm, yarn and pnpm: the npm registry, caches and ~/.npmrc",
		Requires: []string{"@node"},
		Domains:  []string{"registry.npmjs.org", "registry.yarnpkg.com", "repo.yarnpkg.com"},
		ReadWrite: []string{
			// pnpm's store, not PNPM_HOME above it, where global bins go.
			"~/.npm", "~/.cache/yarn", "~/.yarn/berry", "~/.local/share/pnpm/store", "~/.cache/pnpm",
		},
		Read: []string{"~/.npmrc", "~/.yarnrc", "~/.yarnrc.yml", "~/.config/pnpm"},
		Env:  []string{"NPM_CONFIG_REGISTRY", "NPM_CONFIG_USERCONFIG", "YARN_CACHE_FOLDER", "PNPM_HOME"},
	},
	{
		Name:      "@pip",
		Commands:  []string{"pip", "pip3", "python3"},
		Summary:   "Python packages: PyPI, pip and uv caches, pyenv interpreters",
		Requires:  []string{"@base"},
		Domains:   []string{"pypi.org", "files.pythonhosted.org"},
		ReadWrite: []string{"~/.cache/pip", "~/.cache/uv"},
		Read:      []string{"~/.config/pip", "~/.pip", "~/.config/uv"},
		Execute:   []string{"~/.pyenv", "~/.local/share/uv"},
		Env: []string{
			"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_REQUIRE_VIRTUALENV", "VIRTUAL_ENV",
			"UV_INDEX_URL", "PYENV_VERSION",
		},
	},
	{
		Name:      "@ssh",
		Commands:  []string{"ssh", "scp"},
		Summary:   "ssh: known_hosts and config (never private keys) and the agent via SSH_AUTH_SOCK",
		Requires:  []string{"@base"},
		Traversal: []string{"~/.ssh"},
		Read:      []string{"~/.ssh/known_hosts", "~/.ssh/config", "~/.ssh/config.d"},
		Env:       []string{"SSH_AUTH_SOCK"},
	},
}
