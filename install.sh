#!/bin/sh
# install.sh — build pent from this checkout and install it.
#
#   ./install.sh                    # installs into ~/.local (root: /usr/local)
#   ./install.sh --prefix /opt/pent # installs into /opt/pent
#   ./install.sh --uninstall        # removes what an install put there (same --prefix)
#
# Installs PREFIX/bin/pent, its man pages (PREFIX/share/man/man1), completions
# for bash, zsh and fish, and a fish snippet that turns the hook on in
# interactive fish (PREFIX/share/fish/vendor_conf.d/pent.fish). Needs Go 1.21+
# (https://go.dev/dl/, or /usr/local/go); Go fetches the modules, and the
# newer toolchain go.mod asks for, from the Go module proxy, nothing else is
# downloaded. Safe to run again: the result is the same. Edits no rc file: it
# prints the hook line to add.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
uninstall=0
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#--prefix=}; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done
case "$prefix" in
/*) prefix=${prefix%/} ;;
*) echo "install.sh: --prefix must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
bindir="$prefix/bin"
mandir="$prefix/share/man/man1"
bashcomp="$prefix/share/bash-completion/completions/pent"
zshcomp="$prefix/share/zsh/site-functions/_pent"
fishcomp="$prefix/share/fish/vendor_completions.d/pent.fish"
fishconf="$prefix/share/fish/vendor_conf.d/pent.fish"

# remove_man deletes the man pages an earlier install left in $mandir.
remove_man() {
	[ -d "$mandir" ] || return 0
	for page in "$mandir"/pent.1 "$mandir"/pent-*.1 "$mandir"/pent.1.gz "$mandir"/pent-*.1.gz; do
		[ ! -e "$page" ] || rm -f "$page"
	done
}

if [ "$uninstall" -eq 1 ]; then
	rm -f "$bindir/pent" "$bashcomp" "$zshcomp" "$fishcomp" "$fishconf"
	remove_man
	echo "pent: removed from $prefix (your config and trust records in ~/.config/pent and ~/.local/share/pent are kept)"
	echo "pent: remove the pent hook line from your shell's rc file if you added one"
	exit 0
fi

gobin=$(command -v go || true)
[ -n "$gobin" ] || [ ! -x /usr/local/go/bin/go ] || gobin=/usr/local/go/bin/go
if [ -z "$gobin" ]; then
	echo "install.sh: Go is not installed. Install Go 1.21 or newer (https://go.dev/dl/ or your package manager) and run ./install.sh again." >&2
	exit 1
fi
gover=$("$gobin" env GOVERSION)
case "$gover" in
go1.[0-9] | go1.[0-9].* | go1.[0-9][!0-9]* | go1.1[0-9] | go1.1[0-9].* | go1.1[0-9][!0-9]* | go1.20 | go1.20.* | go1.20[!0-9]*)
	echo "install.sh: $gobin is $gover; pent needs Go 1.21 or newer (https://go.dev/dl/)" >&2
	exit 1 ;;
esac

version=$("$here/packaging/version")
# The man pages' date is the last commit's, so that installing the same
# checkout again gives the same files.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$("$here/packaging/version" --epoch)}
export SOURCE_DATE_EPOCH
stage=$(mktemp -d "${TMPDIR:-/tmp}/pent-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# CGO_ENABLED=0: a static binary that needs no libc at run time (and works
# in the sandbox's minimal view of the system). -buildvcs=false: the
# version comes from packaging/version, and go would otherwise run git in a
# clone another user owns (sudo ./install.sh) and fail.
echo "pent: building $version with $gover"
(cd "$here" && CGO_ENABLED=0 "$gobin" build -trimpath -buildvcs=false \
	-ldflags "-s -w -X main.version=$version" -o "$stage/pent" ./cmd/pent)
# The man page generator is a separate build (-tags mangen) so that the
# installed binary does not carry a markdown renderer it never uses.
(cd "$here" && CGO_ENABLED=0 "$gobin" build -trimpath -buildvcs=false -tags mangen \
	-ldflags "-X main.version=$version" -o "$stage/pent-mangen" ./cmd/pent)
"$stage/pent-mangen" man "$stage/man"
"$stage/pent" completion bash >"$stage/bash"
"$stage/pent" completion zsh >"$stage/zsh"
"$stage/pent" completion fish >"$stage/fish"

# put SRC DEST MODE installs one file by renaming a copy next to DEST, so a
# running pent or a shell reading a completion never sees half a file.
put() {
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.new.$$"
	chmod "$3" "$2.new.$$"
	mv -f "$2.new.$$" "$2"
}
put "$stage/pent" "$bindir/pent" 0755
remove_man
for page in "$stage"/man/*.1; do put "$page" "$mandir/${page##*/}" 0644; done
put "$stage/bash" "$bashcomp" 0644
put "$stage/zsh" "$zshcomp" 0644
put "$stage/fish" "$fishcomp" 0644
put "$here/packaging/fish/pent.fish" "$fishconf" 0644
echo "pent: installed $("$bindir/pent" version) as $bindir/pent, with man pages and completions"

# The hook line names pent by its path (quoted for sh, bash, zsh and fish)
# unless the shell finds this pent first on PATH.
pent=pent
if [ "$(command -v pent 2>/dev/null || true)" != "$bindir/pent" ]; then
	case "$bindir" in
	*[!A-Za-z0-9/._+-]*) pent="'$(printf '%s' "$bindir/pent" | sed "s/'/'\\\\''/g")'" ;;
	*) pent="$bindir/pent" ;;
	esac
	case ":$PATH:" in
	*":$bindir:"*) echo "pent: another pent comes first on your PATH: $(command -v pent)" ;;
	*) echo "pent: $bindir is not on your PATH; to type just \"pent\", add to your shell's rc file: export PATH=\"$bindir:\$PATH\"" ;;
	esac
fi
case "$(basename "${SHELL:-sh}")" in
zsh)
	if command -v zsh >/dev/null 2>&1 && ! zsh -fc '(( ${fpath[(Ie)$1]} ))' zsh "${zshcomp%/*}"; then
		echo "pent: for completions, add to ~/.zshrc before compinit:"
		echo "    fpath=(${zshcomp%/*} \$fpath)"
	fi
	echo "pent: to sandbox project commands on cd, add this line to ~/.zshrc:"
	echo "    eval \"\$($pent hook zsh)\""
	;;
fish)
	if [ "$pent" = pent ] && command -v fish >/dev/null 2>&1 &&
		fish -c 'contains -- $argv[1] $__fish_vendor_confdirs' "${fishconf%/*}" 2>/dev/null; then
		echo "pent: the hook is on in new interactive fish shells ($fishconf); nothing to add"
	else
		echo "pent: to sandbox project commands on cd, add this line to ~/.config/fish/config.fish:"
		echo "    $pent hook fish | source"
	fi
	;;
*)
	echo "pent: to sandbox project commands on cd, add this line to ~/.bashrc:"
	echo "    eval \"\$($pent hook bash)\""
	;;
esac
# A host that lacks what pent needs gets doctor's findings and fixes now:
# on Ubuntu 23.10 and later that is the AppArmor profile for this pent's
# path, which the .deb installs for /usr/bin/pent but nothing does for a
# pent in ~/.local/bin.
if "$bindir/pent" doctor >/dev/null 2>&1; then
	echo "pent: check this machine with: $pent doctor"
else
	echo "pent: this machine lacks something pent needs; pent doctor says what and how to fix it:"
	"$bindir/pent" doctor || true
fi
