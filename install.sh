#!/bin/sh
# install.sh — build pent from this checkout and install it.
#
#   ./install.sh                    # installs to ~/.local/bin (root: /usr/local/bin)
#   ./install.sh --prefix /opt/pent # installs to /opt/pent/bin
#   ./install.sh --uninstall        # removes what an install put there
#
# Needs Go (https://go.dev/dl/); modules come from the Go module proxy, nothing
# else is downloaded. Safe to run again: it rebuilds and replaces the binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
uninstall=0
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#--prefix=}; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done
bindir="$prefix/bin"
bashcomp="$prefix/share/bash-completion/completions/pent"
zshcomp="$prefix/share/zsh/site-functions/_pent"
fishcomp="$prefix/share/fish/vendor_completions.d/pent.fish"

if [ "$uninstall" -eq 1 ]; then
	rm -f "$bindir/pent" "$bashcomp" "$zshcomp" "$fishcomp"
	echo "pent: removed from $prefix (your config and trust records in ~/.config/pent and ~/.local/share/pent are kept)"
	exit 0
fi

gobin=$(command -v go || true)
[ -n "$gobin" ] || [ ! -x /usr/local/go/bin/go ] || gobin=/usr/local/go/bin/go
if [ -z "$gobin" ]; then
	echo "install.sh: Go is not installed. Install Go 1.26 or newer (https://go.dev/dl/ or your package manager) and run ./install.sh again." >&2
	exit 1
fi

version=$(git -C "$here" describe --tags --always --dirty 2>/dev/null || echo dev)
mkdir -p "$bindir"
tmp="$bindir/.pent.$$"
trap 'rm -f "$tmp"' EXIT
# CGO_ENABLED=0: the sandbox drops privileges in every thread with
# AllThreadsSyscall, which a cgo binary cannot do.
(cd "$here" && CGO_ENABLED=0 "$gobin" build -trimpath -ldflags "-s -w -X main.version=$version" -o "$tmp" ./cmd/pent)
chmod 0755 "$tmp"
mv -f "$tmp" "$bindir/pent"

for f in "$bashcomp" "$zshcomp" "$fishcomp"; do mkdir -p "$(dirname "$f")"; done
"$bindir/pent" completion bash >"$bashcomp"
"$bindir/pent" completion zsh >"$zshcomp"
"$bindir/pent" completion fish >"$fishcomp"

echo "pent: installed $("$bindir/pent" version) to $bindir/pent"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "pent: $bindir is not in your PATH; add it, e.g. export PATH=\"$bindir:\$PATH\"" ;; esac
case "$(basename "${SHELL:-sh}")" in
zsh) echo "pent: to sandbox project commands on cd, add to ~/.zshrc:   eval \"\$(pent hook zsh)\"" ;;
fish) echo "pent: to sandbox project commands on cd, add to ~/.config/fish/config.fish:   pent hook fish | source" ;;
*) echo "pent: to sandbox project commands on cd, add to ~/.bashrc:   eval \"\$(pent hook bash)\"" ;;
esac
echo "pent: check this machine with: pent doctor"
