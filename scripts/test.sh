#!/usr/bin/env bash
# The project's test command: `bash scripts/test.sh [PYTEST-ARGS...]`.
#
# Works on a fresh Debian 12 machine as root with only PyPI and Debian's archive reachable (that is
# how CI runs it, through .ci/run), and is quick where everything is there already:
#   1. stackgen and its test and fleet extras at the versions of constraints/test.txt
#      (STACKGEN_UNPINNED=1: the newest releases): `pip install -e '.[test,fleet]'` into the current
#      Python, or into .venv when that Python is Debian's externally managed one;
#   2. the static checks (scripts/lint.sh: ruff check, ruff format --check, mypy --strict): seconds,
#      and a failure stops the run before the minutes below;
#   3. the Debian packages the tests use (Debian 12's promtool, amtool, docker-compose 1.29, dockerd)
#      and the ones the local images are made from: one `apt-get update` + install, only if one is
#      missing;
#   4. today's upstream binaries (scripts/fetch-upstream.sh: Prometheus 3.5, Alertmanager 0.33, ...
#      from Debian unstable through a private apt directory, cached; Compose v2 as `docker compose`);
#   5. a Docker engine (scripts/ensure-dockerd.sh starts dockerd if `docker info` fails);
#   6. the local images of both sets (scripts/build-local-images.sh; skips those that are up to date),
#      the fleet tests' Debian 12 host image (scripts/build-fleet-host-image.sh, cached the same way)
#      and the swarm tests' node image (scripts/build-swarm-node-image.sh: debootstrap + docker.io);
#   7. `python -m pytest "$@"` on the current image set; then, when no arguments were given (as in
#      CI), the compatibility lane: `pytest -m compat` on Debian 12's Prometheus 2.42 / Alertmanager
#      0.25 (STACKGEN_IMAGE_SET=debian12). The exit code is the first failing run's. "No tests
#      collected" (5) stays a failure: a run that tested nothing must not pass.
# PYTHON chooses the interpreter (default: python3 on PATH). PYTEST_TIMEOUT (default 900 s) is
# pytest-timeout's per-test limit, so that one hung test cannot eat CI's 90 minutes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step_started=$EPOCHREALTIME
step() {  # NAME: print how long the previous step took, then announce the next
    local now=$EPOCHREALTIME
    [[ -n "${current_step:-}" ]] \
        && echo "test.sh: $current_step took $(awk "BEGIN { printf \"%.1f\", $now - $step_started }") s" >&2
    current_step=$1
    step_started=$now
    [[ -n "$1" ]] && echo "test.sh: $1" >&2
    return 0
}

step "Python environment"
python=${PYTHON:-python3}
if ! "$python" - <<'PY'
import os, sys, sysconfig
in_venv = sys.prefix != sys.base_prefix
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if in_venv or not managed else 1)
PY
then
    # Debian's own python3 refuses pip installs (PEP 668): use a virtual environment beside the code
    if [[ ! -x .venv/bin/python ]]; then
        bash scripts/apt-ensure.sh python3-venv
        "$python" -m venv .venv
    fi
    python=.venv/bin/python
fi
constraints=(-c constraints/test.txt)
[[ "${STACKGEN_UNPINNED:-}" == 1 ]] && constraints=()
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${constraints[@]}" \
    -e '.[test,fleet]'

step "lint"
# seconds, and a failure stops the run before minutes of images and integration tests
PYTHON=$python bash scripts/lint.sh

step "Debian packages"
# shellcheck disable=SC2207  # the list is space-separated package names
image_packages=($(bash scripts/build-local-images.sh --packages))
bash scripts/apt-ensure.sh prometheus prometheus-alertmanager docker-compose docker.io python3 "${image_packages[@]}" \
    debootstrap openssh-client

step "upstream binaries"
bash scripts/fetch-upstream.sh

step "Docker engine"
bash scripts/ensure-dockerd.sh

step "local images"
bash scripts/build-local-images.sh

step "fleet host image"
bash scripts/build-fleet-host-image.sh

step "swarm node image"
# the Docker-in-Docker node image the swarm tests make a 3-node swarm from (debootstrap once, cached)
bash scripts/build-swarm-node-image.sh

step "pytest"
export PYTEST_TIMEOUT=${PYTEST_TIMEOUT:-900}
extra=()
[[ "${CI:-}" == true ]] && extra+=(--durations=15)
status=0
"$python" -m pytest "${extra[@]}" "$@" || status=$?
if [[ $# -eq 0 ]]; then
    step "pytest, compatibility lane (Debian 12's Prometheus 2.42, Alertmanager 0.25)"
    compat=0
    STACKGEN_IMAGE_SET=debian12 "$python" -m pytest "${extra[@]}" -m compat || compat=$?
    [[ $status -ne 0 ]] || status=$compat
fi
step ""
exit $status
