#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`.
#
# - installs Debian's docker.io when dockerd is missing;
# - when `docker info` fails: removes stale pid files (a pid file whose process is gone makes dockerd
#   or its managed containerd refuse to start), starts dockerd in the background (log:
#   /var/log/stackgen-dockerd.log) and waits for it with a deadline (DOCKERD_START_TIMEOUT, 60 s);
# - with CI=true (or STACKGEN_REMOVE_LEFTOVERS=1 / --remove-leftovers): removes the containers and
#   networks that earlier runs left behind, i.e. everything labelled com.docker.compose.project.
#   Containers with a restart policy come back with the daemon and would hold the ports the tests
#   publish. Outside CI they are only listed: on a developer's machine they may be a live stack or
#   another test run that is going on right now.
#
# The docker CLI negotiates the API version with the daemon (a 28.x client talks to Debian's 20.10
# dockerd at API 1.41), and so does the Python SDK `docker` 7.x; nothing to pin.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout=${DOCKERD_START_TIMEOUT:-60}
dockerd_log=/var/log/stackgen-dockerd.log
remove_leftovers=${STACKGEN_REMOVE_LEFTOVERS:-0}
[[ "${CI:-}" == true ]] && remove_leftovers=1
for argument in "$@"; do
    case "$argument" in
        --remove-leftovers) remove_leftovers=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "ensure-dockerd: unknown argument $argument" >&2; exit 2 ;;
    esac
done

log() { echo "ensure-dockerd: $*" >&2; }

alive() {  # PIDFILE NAME: true when the pid file names a running process called NAME
    local pid
    pid=$(cat "$1" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == "$2" ]]
}

remove_if_stale() {  # PIDFILE NAME
    if [[ -e "$1" ]] && ! alive "$1" "$2"; then
        log "removing stale $1"
        rm -f "$1"
    fi
}

answers() {  # SOCKET: true when something accepts connections on the unix socket
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    bash "$here/apt-ensure.sh" docker.io
fi

if docker info >/dev/null 2>&1; then
    log "the Docker engine answers"
else
    [[ $(id -u) -eq 0 ]] || { log "the Docker engine does not answer and starting dockerd needs root"; exit 1; }
    if alive /var/run/docker.pid dockerd; then
        dockerd_pid=$(cat /var/run/docker.pid)
        log "dockerd (pid $dockerd_pid) runs but does not answer yet; waiting for it"
    else
        remove_if_stale /var/run/docker.pid dockerd
        remove_if_stale /var/run/docker/containerd/containerd.pid containerd
        # dockerd 20.10 uses a system containerd whenever its socket file exists, even a dead one's
        if [[ -S /run/containerd/containerd.sock ]] && ! answers /run/containerd/containerd.sock; then
            log "removing the stale /run/containerd/containerd.sock"
            rm -f /run/containerd/containerd.sock
        fi
        log "starting dockerd (log: $dockerd_log)"
        # its own session: it must outlive this script and the test run that started it
        setsid dockerd >>"$dockerd_log" 2>&1 </dev/null &
        dockerd_pid=$!
    fi
    deadline=$((SECONDS + timeout))
    until docker info >/dev/null 2>&1; do
        if ! kill -0 "$dockerd_pid" 2>/dev/null; then
            log "dockerd exited; the end of its log:"
            tail -n 30 "$dockerd_log" >&2 || true
            exit 1
        fi
        if [[ $SECONDS -ge $deadline ]]; then
            log "dockerd did not answer within ${timeout} s; the end of its log:"
            tail -n 30 "$dockerd_log" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
    log "dockerd answers ($(docker version -f '{{.Server.Version}}, API {{.Server.APIVersion}}'))"
fi

label=com.docker.compose.project
mapfile -t leftovers < <(docker ps -aq --filter "label=$label")
if [[ ${#leftovers[@]} -gt 0 ]]; then
    if [[ "$remove_leftovers" == 1 ]]; then
        log "removing ${#leftovers[@]} container(s) left by earlier runs (label $label)"
        docker rm -f "${leftovers[@]}" >/dev/null
    else
        projects=$(docker ps -a --filter "label=$label" --format "{{.Label \"$label\"}}" | sort -u | tr '\n' ' ')
        log "note: ${#leftovers[@]} container(s) of compose projects exist ($projects); left alone outside CI" \
            "(remove them with --remove-leftovers)"
    fi
fi
if [[ "$remove_leftovers" == 1 ]]; then
    mapfile -t networks < <(docker network ls -q --filter "label=$label")
    if [[ ${#networks[@]} -gt 0 ]]; then
        log "removing ${#networks[@]} network(s) left by earlier runs"
        docker network rm "${networks[@]}" >/dev/null || true
    fi
fi
