#!/usr/bin/env bash
# Install the Debian packages named on the command line that are not installed yet.
#
# Fast when everything is there (one dpkg-query, no apt-get update). Otherwise: one `apt-get update`,
# then `apt-get install --no-install-recommends`, with a policy-rc.d that answers 101 so that no
# package starts its service: a host Prometheus on :9090 or a registry on :5000 would take the
# ports the tests publish. Services that an earlier install did start are stopped afterwards.
#
# Usage: scripts/apt-ensure.sh PACKAGE...
set -euo pipefail

[[ $# -gt 0 ]] || exit 0

missing=()
for package in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "apt-ensure: missing Debian packages: ${missing[*]}" >&2
    echo "apt-ensure: run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "apt-ensure: installing ${missing[*]}" >&2
policy=/usr/sbin/policy-rc.d
saved=""
if [[ -e "$policy" ]]; then
    saved=$(mktemp)
    cp -p "$policy" "$saved"
fi
restore_policy() {
    if [[ -n "$saved" ]]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# installed by stackgen scripts/apt-ensure.sh: start no service during install\nexit 101\n' >"$policy"
chmod 0755 "$policy"

export DEBIAN_FRONTEND=noninteractive
export NEEDRESTART_SUSPEND=1  # needrestart's hook would otherwise offer to restart services
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"

# Belt and braces for a policy-rc.d that was not consulted (a postinst calling start-stop-daemon
# directly): stop a service that a package installed just now started (init script and package share
# the name for every server package the tests use). Services that ran before are left alone.
for service in "${missing[@]}"; do
    [[ "$service" == docker.io ]] && continue   # ensure-dockerd.sh decides about dockerd
    if [[ -x /etc/init.d/$service ]] && /etc/init.d/$service status >/dev/null 2>&1; then
        echo "apt-ensure: stopping the $service service the package started" >&2
        /etc/init.d/$service stop >/dev/null 2>&1 || true
    fi
done
