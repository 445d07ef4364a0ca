#!/usr/bin/env bash
# Fetch the current upstream binaries (Prometheus 3, Alertmanager 0.33, Compose v2, ...) from Debian
# unstable, without touching the machine's own apt sources or installed packages.
#
# Debian unstable carries current builds that run on Debian 12's libc. They are fetched through a
# PRIVATE apt directory (its own sources.list naming `sid main`, its own lists and cache), with
# `apt-get download PKG=VERSION`, and unpacked with `dpkg-deb -x` into one tree, ROOT. Nothing is
# installed with dpkg and the machine's sources never name unstable (that would upgrade the machine).
#
# What uses ROOT:
#   - scripts/build-local-images.sh builds the "current" image set from ROOT/usr/bin/...;
#   - the static checks run ROOT/usr/bin/promtool and amtool beside Debian 12's /usr/bin ones
#     (tests/helpers.py `upstream_tool`); /usr/bin is never replaced;
#   - Compose v2 is installed as the docker CLI plugin (`docker compose`): a copy of
#     ROOT/usr/libexec/docker/cli-plugins/docker-compose in /usr/local/lib/docker/cli-plugins
#     (as root) or ~/.docker/cli-plugins. /usr/bin/docker-compose (Debian 12's 1.29) stays.
#
# Versions are pinned below. sid moves on: when a pinned Debian revision has left the archive, the
# same upstream version with another Debian revision is taken (with a warning); another upstream
# version never is. Cached: the .debs and ROOT stay in STACKGEN_UPSTREAM_DIR, and a second run with
# everything there does no network access at all (well under a second).
#
# Usage: scripts/fetch-upstream.sh [--root | --versions | --check]
#   (none)      fetch and unpack what is missing, install the Compose plugin
#   --root      print ROOT (whether or not it is there yet) and exit
#   --versions  print "package=version" of the pinned packages and exit
#   --check     exit 0 when ROOT holds exactly the pinned versions, 1 otherwise
# STACKGEN_UPSTREAM_DIR: where everything goes (default: /var/cache/stackgen/upstream as root,
# ~/.cache/stackgen/upstream otherwise).
set -euo pipefail

PINNED=(
    prometheus=3.5.3+ds1-6
    promtool=3.5.3+ds1-6
    prometheus-alertmanager=0.33.1-5
    prometheus-node-exporter=1.11.1-3
    prometheus-blackbox-exporter=0.28.0-2
    prometheus-pushgateway=1.11.2-1
    victoria-metrics=1.145.0+ds1-2
    docker-compose=2.40.3-3
)
SUITE="sid main"
MIRROR=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

if [[ $(id -u) -eq 0 ]]; then default_dir=/var/cache/stackgen/upstream; else default_dir=${XDG_CACHE_HOME:-$HOME/.cache}/stackgen/upstream; fi
base=${STACKGEN_UPSTREAM_DIR:-$default_dir}
root=$base/root
stamp=$root/.stackgen-versions

log() { echo "fetch-upstream: $*" >&2; }
pinned_list() { printf '%s\n' "${PINNED[@]}"; }

case "${1:-}" in
    --root) echo "$root"; exit 0 ;;
    --versions) pinned_list; exit 0 ;;
    --check) [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$(pinned_list)" ]]; exit $? ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) log "unknown option $1"; exit 2 ;;
esac

install_compose_plugin() {  # `docker compose`: the docker CLI looks for plugins in these directories
    local plugin=$root/usr/libexec/docker/cli-plugins/docker-compose directory
    if [[ $(id -u) -eq 0 ]]; then directory=/usr/local/lib/docker/cli-plugins; else directory=$HOME/.docker/cli-plugins; fi
    if cmp -s "$plugin" "$directory/docker-compose"; then return; fi
    mkdir -p "$directory"
    install -m 0755 "$plugin" "$directory/.docker-compose.new"
    mv -f "$directory/.docker-compose.new" "$directory/docker-compose"
    log "installed Compose $("$directory/docker-compose" version --short) as $directory/docker-compose (docker compose)"
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$(pinned_list)" ]]; then
    install_compose_plugin
    exit 0
fi

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { log "needs apt-get and dpkg-deb (Debian)"; exit 1; }
[[ -f "$KEYRING" ]] || { log "$KEYRING is missing: apt-get install debian-archive-keyring"; exit 1; }
mkdir -p "$base/apt/lists/partial" "$base/apt/cache/archives/partial" "$base/debs"
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE" >"$base/apt/sources.list"
apt_options=(
    -o "Dir::Etc::sourcelist=$base/apt/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=$base/apt/lists" -o "Dir::Cache=$base/apt/cache"
    -o APT::Sandbox::User=root
)

deb_of() {  # PACKAGE VERSION: the cached .deb, if there
    local name=$1 version=${2//:/%3a}
    compgen -G "$base/debs/${name}_${version}_*.deb" | head -1 || true
}

missing=()
for pin in "${PINNED[@]}"; do
    [[ -n "$(deb_of "${pin%%=*}" "${pin#*=}")" ]] || missing+=("$pin")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    log "fetching ${missing[*]} from Debian $SUITE (private apt directory $base/apt)"
    apt-get -qq "${apt_options[@]}" update
    wanted=()
    for pin in "${missing[@]}"; do
        name=${pin%%=*} version=${pin#*=} upstream=${pin#*=}
        upstream=${upstream%-*}  # the upstream version: without the Debian revision
        available=$(apt-cache "${apt_options[@]}" madison "$name" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
        if ! grep -qxF "$version" <<<"$available"; then
            substitute=$(grep -E "^$(sed 's/[.+]/\\&/g' <<<"$upstream")-[^-]+$" <<<"$available" | head -1 || true)
            [[ -n "$substitute" ]] || { log "$name $version has left $SUITE (it has: $(echo $available)); update PINNED in $0"; exit 1; }
            log "warning: $name $version has left $SUITE; taking $substitute (same upstream version)"
            version=$substitute
        fi
        wanted+=("$name=$version")
    done
    (cd "$base/debs" && apt-get -qq "${apt_options[@]}" download "${wanted[@]}")
fi

# unpack into a fresh tree, then swap it in: an interrupted run leaves the old ROOT (or none)
staging=$(mktemp -d "$base/root.new.XXXXXX")
trap 'rm -rf "$staging"' EXIT
for pin in "${PINNED[@]}"; do
    name=${pin%%=*} upstream=${pin#*=}
    deb=$(deb_of "$name" "${pin#*=}")
    [[ -n "$deb" ]] || deb=$(compgen -G "$base/debs/${name}_${upstream%-*}-*_*.deb" | tail -1)
    dpkg-deb -x "$deb" "$staging"
done
pinned_list >"$staging/.stackgen-versions"
rm -rf "$root.old"
[[ ! -d "$root" ]] || mv "$root" "$root.old"
mv "$staging" "$root"
rm -rf "$root.old"
trap - EXIT
log "unpacked into $root: $("$root/usr/bin/prometheus" --version 2>&1 | head -1 | cut -d' ' -f1-3), $("$root/usr/bin/amtool" --version 2>&1 | head -1 | cut -d' ' -f1-3)"
install_compose_plugin
