#!/usr/bin/env bash
# Build the image the fleet tests run their "hosts" from: Debian 12 with systemd as PID 1 and a
# key-only sshd, made with debootstrap from Debian's archive and `docker import` (no registry).
#
# A container of it needs `--cap-add SYS_ADMIN --cgroupns=private --tmpfs /run --tmpfs /run/lock
# --tmpfs /tmp --stop-signal SIGRTMIN+3` (docker import takes no STOPSIGNAL; tests/integration/
# fleet_hosts.py starts them so); `--privileged` fails on this engine, and without SYS_ADMIN systemd
# silently skips the sandboxing the node_exporter unit asks for. The authorized key is mounted at
# run time (/etc/ssh/authorized_keys/root): the image carries none, a test makes a throwaway one.
#
# Idempotent: rebuilt only when missing or when this script changed (a label holds its hash), or
# with --force. ~1 min on a fresh machine.
#
# Usage: scripts/build-fleet-host-image.sh [--force] [--tag]   (--tag: print the tag and exit)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAG=${STACKGEN_FLEET_HOST_IMAGE:-sgfleet/host:bookworm}
[[ "${1:-}" == --tag ]] && { echo "$TAG"; exit 0; }
force=false
[[ "${1:-}" == --force ]] && force=true

recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
if ! $force && [[ "$(docker image inspect -f '{{ index .Config.Labels "io.stackgen.recipe" }}' "$TAG" 2>/dev/null)" == "$recipe" ]]; then
    exit 0
fi

bash "$here/apt-ensure.sh" debootstrap
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /tmp/sgfleet-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "build-fleet-host-image: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssh-server,python3,sudo,iproute2,procps,libcap2-bin \
    bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -30 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# sshd: keys only, root by key, authorized keys from a file mounted at run time
cat >"$root/etc/ssh/sshd_config.d/stackgen-test.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AuthorizedKeysFile /etc/ssh/authorized_keys/%u .ssh/authorized_keys
UseDNS no
EOF
mkdir -p "$root/etc/ssh/authorized_keys"
# a container has no consoles, udev or hardware clock: units that would only fail or wait
for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-hwdb-update.service systemd-journald-audit.socket sys-kernel-config.mount \
    systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    fstrim.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"  # a new one per container at boot
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*

tar -C "$root" --numeric-owner -c . | docker import \
    -c 'CMD ["/sbin/init"]' \
    -c "LABEL io.stackgen.recipe=$recipe" -c 'LABEL io.stackgen.test=fleet-host' \
    - "$TAG" >/dev/null
echo "build-fleet-host-image: built $TAG" >&2
