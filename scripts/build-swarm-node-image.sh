#!/usr/bin/env bash
# Build the Docker-in-Docker node image that the swarm tests make a 3-node Docker Swarm from.
#
# No registry is reachable where the tests run, so the image is a Debian bookworm made here with
# `debootstrap --variant=minbase` (docker.io, iptables, ca-certificates, procps, iproute2), imported
# with `docker import`, and an entrypoint that prepares what dockerd needs in a container that cannot
# be --privileged on this engine: /sys and each /sys/fs/cgroup/* remounted read-write, / made rshared
# (bind mounts with propagation), then dockerd with --dns 127.0.0.1 (no egress: a name lookup fails
# at once instead of timing out).
#
# Idempotent: the image carries a label with a hash of this script and is rebuilt only when missing,
# when the recipe changed, or with --force. The debootstrap tree is cached as a tarball in
# SGSWARM_CACHE (default /var/cache/stackgen), so a rebuild after an entrypoint change takes seconds.
#
# Usage: scripts/build-swarm-node-image.sh [--force] [--tag]
#   --tag   print the image tag and exit
set -euo pipefail

TAG=sgswarm/node:bookworm
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
cache=${SGSWARM_CACHE:-/var/cache/stackgen}
force=false
for argument in "$@"; do
    case $argument in
        --force) force=true ;;
        --tag) echo "$TAG"; exit 0 ;;
        *) echo "build-swarm-node-image: unknown argument $argument" >&2; exit 2 ;;
    esac
done

current=$(docker image inspect -f '{{ index .Config.Labels "io.stackgen.recipe" }}' "$TAG" 2>/dev/null || true)
if [[ "$current" == "$recipe" && $force == false ]]; then
    exit 0
fi
previous=$(docker image inspect -f '{{ .Id }}' "$TAG" 2>/dev/null || true)

tarball="$cache/sgswarm-node-bookworm-rootfs.tar"  # the debootstrap tree, made once
if [[ ! -s "$tarball" ]]; then
    bash "$here/apt-ensure.sh" debootstrap
    mkdir -p "$cache"
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    root=$(mktemp -d /tmp/sgswarm-rootfs.XXXXXX)
    echo "build-swarm-node-image: debootstrap bookworm from $mirror (once, ~1 min)" >&2
    debootstrap --variant=minbase --include=docker.io,iptables,ca-certificates,procps,iproute2 \
        bookworm "$root" "$mirror" >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
fi

work=$(mktemp -d /tmp/sgswarm-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/usr/local/bin"
cat >"$work/usr/local/bin/sgswarm-entrypoint" <<'SH'
#!/bin/sh
# Prepare a non-privileged container for dockerd, then run it (arguments are passed on).
set -e
# Docker mounts them read-only binds: `remount,bind,rw` is what lifts that (a plain remount is refused)
mount -o remount,bind,rw /sys
for controller in /sys/fs/cgroup/*; do
    [ -L "$controller" ] || mount -o remount,bind,rw "$controller"
done
mount --make-rshared /
# /run is not a tmpfs here: a restarted node still holds the last run's state, and dockerd would take
# the stale containerd.pid (a PID now reused in the new namespace) for a running containerd and time out
rm -rf /run/docker /run/docker.pid /run/containerd
exec dockerd --host=unix:///var/run/docker.sock --dns 127.0.0.1 "$@"
SH
chmod 0755 "$work/usr/local/bin/sgswarm-entrypoint"
cp "$tarball" "$work/rootfs.tar"
tar -C "$work" -rf "$work/rootfs.tar" ./usr/local/bin/sgswarm-entrypoint
docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/sgswarm-entrypoint"]' \
    --change 'ENV DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1' \
    --change "LABEL io.stackgen.recipe=$recipe" \
    "$work/rootfs.tar" "$TAG" >/dev/null
if [[ -n "$previous" ]]; then
    docker rmi "$previous" >/dev/null 2>&1 || true  # the old recipe's image, unless a node still runs it
fi
echo "build-swarm-node-image: built $TAG" >&2
