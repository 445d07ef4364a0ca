#!/usr/bin/env bash
# Build stackgen's local test images from the binaries of Debian packages, with `docker import`.
#
# No registry is reachable where the tests run, so no Dockerfile can start FROM a remote image.
# Each image is a small root file system made here: the binary, the libraries `ldd` names, ld.so,
# /etc/passwd and /etc/group with nobody (65534), /tmp (1777), CA certificates, Debian's static
# busybox as /bin/busybox with its applets (sh, wget, ... for upstream-style healthchecks), and
# what the program reads at run time (Alertmanager's templates, zoneinfo, web assets). It is
# streamed into `docker import` with the entrypoint, command, user and workdir of the upstream image.
#
# Two sets of the Prometheus programs, beside each other:
#   current   today's upstream (Prometheus 3.5, Alertmanager 0.33, node-exporter 1.11, ...), from the
#             Debian unstable binaries that scripts/fetch-upstream.sh unpacks (never installed);
#   debian12  what Debian 12 ships (Prometheus 2.42, Alertmanager 0.25, ...), from this host's packages.
# The integration suite runs on `current`; the compatibility lane on `debian12` (tests/conftest.py).
# registry and python are one image, in both sets.
#
# Idempotent and fast: an image is rebuilt only when missing, when its recipe changed (a label holds
# a hash of the functions that make it and the package versions), or with --force.
#
# Usage: scripts/build-local-images.sh [--force] [--check] [--set SET] [--list | --packages] [ROLE...]
#   ROLE     a role that --list prints (default: all of the set)
#   --set    current, debian12 or all: what to build (default all) or list (default: STACKGEN_IMAGE_SET,
#            else current)
#   --force  rebuild even when an up-to-date image exists
#   --check  then start each image, wait for its health endpoint (busybox wget inside), remove it
#   --list   print "role tag" lines of one set and exit
#   --packages  print the Debian packages the images are made from, and exit
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# image key -> tag; a key is ROLE (current set, and the shared registry/python) or ROLE@debian12.
# The tags are a contract: tests/conftest.py (local_images) and other tests use them.
declare -A TAGS=(
    [prometheus]=stackgen-local/prometheus:3.5.3
    [alertmanager]=stackgen-local/alertmanager:0.33.1
    [node-exporter]=stackgen-local/node-exporter:1.11.1
    [blackbox-exporter]=stackgen-local/blackbox-exporter:0.28.0
    [pushgateway]=stackgen-local/pushgateway:1.11.2
    [victoria-metrics]=stackgen-local/victoria-metrics:1.145.0
    [prometheus@debian12]=stackgen-local/prometheus:2.42.0
    [alertmanager@debian12]=stackgen-local/alertmanager:0.25.0
    [node-exporter@debian12]=stackgen-local/node-exporter:1.5.0
    [blackbox-exporter@debian12]=stackgen-local/blackbox-exporter:0.23.0
    [pushgateway@debian12]=stackgen-local/pushgateway:1.5.1
    [victoria-metrics@debian12]=stackgen-local/victoria-metrics:1.79.5
    [registry]=stackgen-local/registry:2.8.2
    [python]=stackgen-local/python:3.11
)
ROLES=(prometheus alertmanager node-exporter blackbox-exporter pushgateway victoria-metrics registry python)
VERSIONED_ROLES=(prometheus alertmanager node-exporter blackbox-exporter pushgateway victoria-metrics)
# role -> the packages whose files go into it (their versions are part of the recipe): Debian 12's
# installed packages for the debian12 set, the same names from scripts/fetch-upstream.sh for current
declare -A SOURCES=(
    [prometheus]="prometheus promtool"
    [alertmanager]=prometheus-alertmanager
    [node-exporter]=prometheus-node-exporter
    [blackbox-exporter]=prometheus-blackbox-exporter
    [pushgateway]=prometheus-pushgateway
    [victoria-metrics]=victoria-metrics
    [registry]=docker-registry
    # python3-decorator: Debian's prometheus_client imports it
    [python]="python3.11-minimal libpython3.11-stdlib python3-jinja2 python3-markupsafe python3-prometheus-client python3-decorator python3-yaml"
)
# role -> "port path" of the health endpoint (used by --check; the smoke test has its own table)
declare -A HEALTH=(
    [prometheus]="9090 /-/healthy"
    [alertmanager]="9093 /-/healthy"
    [node-exporter]="9100 /metrics"
    [blackbox-exporter]="9115 /-/healthy"
    [pushgateway]="9091 /-/healthy"
    [victoria-metrics]="8428 /health"
    [registry]="5000 /v2/"
)
PACKAGES=(busybox-static ca-certificates tzdata prometheus prometheus-alertmanager prometheus-node-exporter
    prometheus-blackbox-exporter prometheus-pushgateway victoria-metrics docker-registry
    python3 python3-jinja2 python3-markupsafe python3-prometheus-client python3-decorator python3-yaml)
RECIPE_LABEL=io.stackgen.local-image.recipe
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

force=0
check=0
list=0
set_name=""
wanted=()
arguments=("$@")
for ((i = 0; i < ${#arguments[@]}; i++)); do
    argument=${arguments[$i]}
    case "$argument" in
        --force) force=1 ;;
        --check) check=1 ;;
        --list) list=1 ;;
        --set) i=$((i + 1)); set_name=${arguments[$i]:-} ;;
        --set=*) set_name=${argument#--set=} ;;
        --packages) echo "${PACKAGES[*]}"; exit 0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "build-local-images: unknown option $argument" >&2; exit 2 ;;
        *)
            [[ " ${ROLES[*]} " == *" $argument "* ]] || { echo "build-local-images: unknown role $argument (roles: ${ROLES[*]})" >&2; exit 2; }
            wanted+=("$argument") ;;
    esac
done

key_of() {  # SET ROLE: the image key of ROLE in SET
    if [[ $1 == debian12 && " ${VERSIONED_ROLES[*]} " == *" $2 "* ]]; then echo "$2@debian12"; else echo "$2"; fi
}

if [[ $list -eq 1 ]]; then
    set_name=${set_name:-${STACKGEN_IMAGE_SET:-current}}
    [[ $set_name == current || $set_name == debian12 ]] || { echo "build-local-images: --list takes --set current or debian12" >&2; exit 2; }
    for role in "${ROLES[@]}"; do echo "$role ${TAGS[$(key_of "$set_name" "$role")]}"; done
    exit 0
fi
set_name=${set_name:-all}
case "$set_name" in
    current|debian12) sets=("$set_name") ;;
    all) sets=(current debian12) ;;
    *) echo "build-local-images: unknown set $set_name (current, debian12, all)" >&2; exit 2 ;;
esac
[[ ${#wanted[@]} -gt 0 ]] || wanted=("${ROLES[@]}")
keys=()
for set in "${sets[@]}"; do
    for role in "${wanted[@]}"; do
        key=$(key_of "$set" "$role")
        [[ " ${keys[*]:-} " == *" $key "* ]] || keys+=("$key")
    done
done

log() { echo "build-local-images: $*" >&2; }

# --- what is there already -------------------------------------------------------------------

upstream_key() {  # KEY: true when the image is made from scripts/fetch-upstream.sh's binaries
    [[ " ${VERSIONED_ROLES[*]} " == *" $1 "* ]]
}

recipe_of() {  # the hash that says whether an existing image is up to date
    local key=$1 role=${1%@*} versions package
    # shellcheck disable=SC2086  # SOURCES holds a word list on purpose
    versions=$(dpkg-query -W -f='${Package}=${Version} ' busybox-static)
    if upstream_key "$key"; then
        for package in ${SOURCES[$role]}; do versions+=" $(grep "^$package=" <<<"$UPSTREAM_VERSIONS")"; done
    else
        versions+=$(dpkg-query -W -f=' ${Package}=${Version}' ${SOURCES[$role]})
    fi
    # the code that makes this image (not the whole script: adding a role elsewhere rebuilds nothing)
    printf '%s\n%s\n' "$(declare -f base_root canonical add_file add_tree add_package_tree add_libraries \
        add_zoneinfo own "stage_$role")" "$versions" | sha256sum | cut -c1-16
}

current_recipe() {  # the recipe label of the existing image, or nothing
    docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true
}

# --- building a root file system ---------------------------------------------------------------

canonical() {  # the path inside the image for a host path: Debian 12 has merged /usr, so do the images
    local directory
    directory=$(readlink -f "$(dirname "$1")")
    echo "$directory/$(basename "$1")"
}

add_file() {  # ROOT SRC [DEST]: copy SRC's content (symlinks followed) to DEST inside ROOT
    local root=$1 src=$2 dest=${3:-}
    [[ -n "$dest" ]] || dest=$(canonical "$src")
    mkdir -p "$root$(dirname "$dest")"
    cp -L --preserve=mode,timestamps "$src" "$root$dest"
}

add_tree() {  # ROOT SRC [DEST [TAR-OPTION...]]: copy a directory tree, symlinks followed
    local root=$1 src=$2 dest=${3:-$2}
    shift $(($# < 3 ? $# : 3))
    mkdir -p "$root$dest"
    tar -C "$src" -chf - "$@" . | tar -C "$root$dest" -xf -
}

add_libraries() {  # ROOT FILE...: the shared libraries that the ELF files need, and ld.so
    local root=$1 library missing
    shift
    missing=$(ldd "$@" 2>/dev/null | grep 'not found' || true)
    [[ -z "$missing" ]] || log "warning: libraries not found on this host: $(echo "$missing" | tr -s ' \t\n' ' ')"
    # ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the loader
    while read -r library; do
        [[ -e "$root$library" || -L "$root$library" ]] && continue
        mkdir -p "$root$(dirname "$library")"
        # keep the loader's own name (the path in the ELF header), on a merged-/usr layout
        cp -L --preserve=mode,timestamps "$library" "$root$(canonical "$library")"
    done < <(ldd "$@" 2>/dev/null | grep -v 'not a dynamic executable' \
        | sed -n 's/^[[:space:]]*\([^[:space:]]* => \)\{0,1\}\(\/[^[:space:]]*\) (0x[0-9a-f]*)$/\2/p' | sort -u)
}

base_root() {  # ROOT: the files every image has
    local root=$1 applet
    # merged /usr like Debian 12: binaries' interpreters and library paths resolve the same way
    mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,tmp,var/tmp,root,home,proc,sys,dev,run}
    ln -s usr/bin "$root/bin"
    ln -s usr/sbin "$root/sbin"
    ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 0700 "$root/root"
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
    # Go's resolver and glibc both read this; Docker writes /etc/hosts and /etc/resolv.conf
    echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
    if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
        add_file "$root" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
    fi
    # busybox-static: no libraries needed; every applet in /bin or /sbin (as Debian's own layout)
    add_file "$root" /bin/busybox /usr/bin/busybox
    while read -r applet; do
        applet=${applet#usr/}
        [[ -e "$root/usr/$applet" || -L "$root/usr/$applet" ]] && continue
        ln -s /bin/busybox "$root/usr/$applet"
    done < <(/bin/busybox --list-full)
}

add_zoneinfo() {  # Go's time.LoadLocation and Python's zoneinfo read /usr/share/zoneinfo
    add_tree "$1" /usr/share/zoneinfo
    rm -rf "$1/usr/share/zoneinfo/right" "$1/usr/share/zoneinfo/posix"  # duplicates of the rest
    ln -s . "$1/usr/share/zoneinfo/posix"
}

own() {  # ROOT PATH...: owned by nobody (65534), so that a named volume mounted there is writable
    local root=$1
    shift
    for path in "$@"; do
        mkdir -p "$root$path"
        chown -R 65534:65534 "$root$path"
    done
}

# --- the images --------------------------------------------------------------------------------
# Each stage_<role> fills ROOT and sets CHANGES (Dockerfile instructions for `docker import -c`).

# SRC is where the versioned programs come from: "" (this host's Debian 12 packages) or
# scripts/fetch-upstream.sh's unpacked tree (the current set).

add_package_tree() {  # ROOT PATH [TAR-OPTION...]: copy SRC's PATH tree to PATH inside ROOT
    local root=$1 path=$2 link target
    shift 2
    if [[ -z "$SRC" ]]; then add_tree "$root" "$path" "$path" "$@"; return; fi
    mkdir -p "$root$path"
    tar -C "$SRC$path" -cf - "$@" . | tar -C "$root$path" -xf -
    # an unpacked package's links into other packages (../../javascript/jquery) point at nothing
    # here: take what they name from this host's copy of those packages, else drop the link
    while read -r link; do
        target=$(cd "$(dirname "${link#"$root"}")" 2>/dev/null && readlink -f "$(readlink "$link")" || true)
        rm -f "$link"
        if [[ -n "$target" && -d "$target" ]]; then
            add_tree "$root" "$target" "${link#"$root"}"
        elif [[ -n "$target" && -f "$target" ]]; then
            add_file "$root" "$target" "${link#"$root"}"
        fi
    done < <(find "$root$path" -xtype l)
}

stage_prometheus() {
    local root=$1 command
    add_file "$root" "$SRC/usr/bin/prometheus" /usr/bin/prometheus
    add_file "$root" "$SRC/usr/bin/promtool" /usr/bin/promtool
    add_libraries "$root" "$SRC/usr/bin/prometheus" "$SRC/usr/bin/promtool"
    # Debian's build serves its web UI from --web.local-assets (default /usr/share/prometheus/web)
    # (its links into /usr/share/javascript are followed, but for moment-timezone's 214 MB of data)
    add_package_tree "$root" /usr/share/prometheus/web --exclude=./static/moment-timezone
    mkdir -p "$root/etc/prometheus"
    if [[ -d "$SRC/etc/prometheus/consoles" ]]; then  # Prometheus 2 only: 3 has no console templates
        add_tree "$root" "$SRC/etc/prometheus/consoles" /usr/share/prometheus/consoles
        add_tree "$root" "$SRC/etc/prometheus/console_libraries" /usr/share/prometheus/console_libraries
        ln -s /usr/share/prometheus/consoles /usr/share/prometheus/console_libraries "$root/etc/prometheus/"
        command='"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.console.libraries=/usr/share/prometheus/console_libraries", "--web.console.templates=/usr/share/prometheus/consoles"'
    else
        command='"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"'
    fi
    cat >"$root/etc/prometheus/prometheus.yml" <<'EOF'
# stackgen-local/prometheus default config: scrapes itself (the container's own loopback) only
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
EOF
    own "$root" /prometheus /etc/prometheus
    CHANGES=(
        'USER 65534:65534' 'WORKDIR /prometheus' 'EXPOSE 9090'
        'ENTRYPOINT ["/bin/prometheus"]'
        "CMD [$command]"
    )
}

stage_alertmanager() {
    local root=$1
    add_file "$root" "$SRC/usr/bin/prometheus-alertmanager" /usr/bin/alertmanager
    add_file "$root" "$SRC/usr/bin/amtool" /usr/bin/amtool
    ln -s alertmanager "$root/usr/bin/prometheus-alertmanager"
    add_libraries "$root" "$SRC/usr/bin/prometheus-alertmanager" "$SRC/usr/bin/amtool"
    # Debian's binary reads default.tmpl and email.tmpl from here instead of embedding them, and
    # its UI from ui/ (empty in Debian: the UI falls back to no-ui/)
    add_package_tree "$root" /usr/share/prometheus/alertmanager
    add_zoneinfo "$root"  # time_intervals with a location (Asia/Shanghai)
    mkdir -p "$root/etc/alertmanager"
    cat >"$root/etc/alertmanager/alertmanager.yml" <<'EOF'
# stackgen-local/alertmanager default config: one receiver that sends nothing anywhere
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
    own "$root" /alertmanager /etc/alertmanager
    CHANGES=(
        'USER 65534:65534' 'WORKDIR /alertmanager' 'EXPOSE 9093'
        'ENTRYPOINT ["/bin/alertmanager"]'
        'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]'
    )
}

stage_node-exporter() {
    local root=$1
    add_file "$root" "$SRC/usr/bin/prometheus-node-exporter" /usr/bin/node_exporter
    add_libraries "$root" "$SRC/usr/bin/prometheus-node-exporter"
    own "$root" /var/lib/prometheus/node-exporter  # Debian's default textfile directory
    # Debian enables the systemd collector by default; there is no D-Bus in a container. It sits in
    # CMD (not ENTRYPOINT) because kingpin refuses a repeated flag: a command that says it too works.
    CHANGES=(
        'USER 65534:65534' 'EXPOSE 9100'
        'ENTRYPOINT ["/bin/node_exporter"]'
        'CMD ["--no-collector.systemd"]'
    )
}

stage_blackbox-exporter() {
    local root=$1
    add_file "$root" "$SRC/usr/bin/prometheus-blackbox-exporter" /usr/bin/blackbox_exporter
    add_libraries "$root" "$SRC/usr/bin/prometheus-blackbox-exporter"
    add_file "$root" "$SRC/etc/prometheus/blackbox.yml" /etc/blackbox_exporter/config.yml
    # upstream runs as root too: ICMP probes need a raw socket
    CHANGES=(
        'EXPOSE 9115'
        'ENTRYPOINT ["/bin/blackbox_exporter"]'
        'CMD ["--config.file=/etc/blackbox_exporter/config.yml"]'
    )
}

stage_pushgateway() {
    local root=$1
    add_file "$root" "$SRC/usr/bin/prometheus-pushgateway" /usr/bin/pushgateway
    add_libraries "$root" "$SRC/usr/bin/prometheus-pushgateway"
    add_package_tree "$root" /usr/share/prometheus/pushgateway  # --web.local-assets default in Debian
    # Debian defaults --persistence.file to /var/lib/prometheus/pushgateway.data (upstream: none)
    own "$root" /pushgateway /var/lib/prometheus
    CHANGES=(
        'USER 65534:65534' 'WORKDIR /pushgateway' 'EXPOSE 9091'
        'ENTRYPOINT ["/bin/pushgateway"]'
    )
}

stage_victoria-metrics() {
    local root=$1
    add_file "$root" "$SRC/usr/bin/victoria-metrics" /victoria-metrics-prod
    ln -s /victoria-metrics-prod "$root/usr/bin/victoria-metrics"
    add_libraries "$root" "$SRC/usr/bin/victoria-metrics"
    mkdir -p "$root/victoria-metrics-data"  # -storageDataPath default, relative to WORKDIR /
    CHANGES=(
        'WORKDIR /' 'EXPOSE 8428'
        'ENTRYPOINT ["/victoria-metrics-prod"]'
    )
}

stage_registry() {
    local root=$1
    add_file "$root" /usr/bin/docker-registry /usr/bin/registry
    add_libraries "$root" /usr/bin/docker-registry
    mkdir -p "$root/etc/docker/registry" "$root/var/lib/registry"
    # upstream registry:2's config.yml: filesystem storage, :5000
    cat >"$root/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
    # upstream registry:2's entrypoint.sh
    cat >"$root/entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac
exec "$@"
EOF
    chmod 0755 "$root/entrypoint.sh"
    CHANGES=(
        'EXPOSE 5000'
        'ENTRYPOINT ["/entrypoint.sh"]'
        'CMD ["/etc/docker/registry/config.yml"]'
    )
}

stage_python() {
    local root=$1 package entry
    add_file "$root" /usr/bin/python3.11
    ln -s python3.11 "$root/usr/bin/python3"
    ln -s python3.11 "$root/usr/bin/python"
    # the whole standard library, with Debian's compiled __pycache__ (the image's user cannot write them)
    mkdir -p "$root/usr/lib/python3.11"
    tar -C /usr/lib/python3.11 --exclude=./test --exclude=./idlelib --exclude=./turtledemo \
        --exclude=./tkinter --exclude=./lib2to3/tests --exclude=./site-packages --exclude=./dist-packages \
        -chf - . | tar -C "$root/usr/lib/python3.11" -xf -
    rm -f "$root/usr/lib/python3.11/sitecustomize.py"  # Debian's only tries to load apport
    # Debian's packages of the libraries the relay uses (dist-packages is on Debian's sys.path)
    for package in python3-jinja2 python3-markupsafe python3-prometheus-client python3-decorator python3-yaml; do
        while read -r entry; do
            if [[ -d "$entry" ]]; then add_tree "$root" "$entry"; else add_file "$root" "$entry"; fi
        done < <(dpkg -L "$package" | grep -E '^/usr/lib/python3/dist-packages/[^/]+$')
    done
    mkdir -p "$root/etc/ssl"
    [[ -f /etc/ssl/openssl.cnf ]] && add_file "$root" /etc/ssl/openssl.cnf /etc/ssl/openssl.cnf
    mkdir -p "$root/usr/lib/ssl"
    ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
    ln -s /etc/ssl/openssl.cnf "$root/usr/lib/ssl/openssl.cnf"
    ln -s /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
    add_zoneinfo "$root"
    mapfile -t extensions < <(find "$root/usr/lib/python3.11" "$root/usr/lib/python3" -name '*.so' -type f)
    add_libraries "$root" /usr/bin/python3.11 "${extensions[@]}"
    CHANGES=(
        'ENV LANG=C.UTF-8'
        'CMD ["python3"]'
    )
}

# --- build, import, check ------------------------------------------------------------------------

build() {
    local key=$1 role=${1%@*} tag=${TAGS[$1]} recipe root change args started previous from
    recipe=$(recipe_of "$key")
    if [[ $force -eq 0 && "$(current_recipe "$tag")" == "$recipe" ]]; then
        log "$tag is up to date"
        return
    fi
    started=$EPOCHREALTIME
    root="$work/$key"
    mkdir "$root"
    base_root "$root"
    CHANGES=()
    SRC=""
    from="Debian ${SOURCES[$role]%% *} $(dpkg-query -W -f='${Version}' "${SOURCES[$role]%% *}")"
    if upstream_key "$key"; then
        SRC=$UPSTREAM_ROOT
        from="Debian unstable $(grep "^${SOURCES[$role]%% *}=" <<<"$UPSTREAM_VERSIONS")"
    fi
    "stage_$role" "$root"
    args=(--change "ENV PATH=$PATH_ENV"
          --change "LABEL $RECIPE_LABEL=$recipe"
          --change "LABEL io.stackgen.local-image.role=$role"
          --message "stackgen scripts/build-local-images.sh from $from")
    for change in "${CHANGES[@]}"; do args+=(--change "$change"); done
    previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    tar --numeric-owner -C "$root" -cf - . | docker import "${args[@]}" - "$tag" >/dev/null
    # the replaced image is left untagged: remove it, unless a container still uses it
    [[ -z "$previous" ]] || docker rmi "$previous" >/dev/null 2>&1 || true
    log "built $tag ($(du -sh "$root" | cut -f1), $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $started }") s)"
    rm -rf "$root"
}

check_image() {  # start the image, poll its health endpoint from inside with busybox wget, remove it
    local key=$1 role=${1%@*} tag=${TAGS[$1]} port path name deadline
    if [[ $role == python ]]; then
        docker run --rm --user 65534:65534 "$tag" python3 -c \
            'import ssl, json, http.server, zoneinfo, jinja2, markupsafe, prometheus_client, yaml; zoneinfo.ZoneInfo("Asia/Shanghai")' \
            || { log "$tag: python3 cannot import what the relay needs"; return 1; }
        log "$tag: python3 imports ssl, json, http.server, zoneinfo, jinja2, prometheus_client, yaml"
        return
    fi
    read -r port path <<<"${HEALTH[$role]}"
    name="stackgen-local-check-${key/@/-}-$$"
    docker run -d --name "$name" --label io.stackgen.local-image.check=1 "$tag" >/dev/null
    deadline=$((SECONDS + 30))
    until docker exec "$name" wget -q -O /dev/null "http://localhost:$port$path" 2>/dev/null; do
        if [[ $SECONDS -ge $deadline || "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]]; then
            log "$tag did not answer http://localhost:$port$path within 30 s; its log:"
            docker logs --tail 30 "$name" >&2 || true
            docker rm -f "$name" >/dev/null
            return 1
        fi
        sleep 0.2
    done
    docker rm -f "$name" >/dev/null
    log "$tag answers http://localhost:$port$path"
}

command -v docker >/dev/null || { log "docker is not installed: run scripts/ensure-dockerd.sh first"; exit 1; }
docker info >/dev/null 2>&1 || { log "the Docker engine does not answer: run scripts/ensure-dockerd.sh first"; exit 1; }
bash "$here/apt-ensure.sh" "${PACKAGES[@]}"
UPSTREAM_ROOT=""
UPSTREAM_VERSIONS=""
for key in "${keys[@]}"; do
    if upstream_key "$key"; then
        bash "$here/fetch-upstream.sh"
        UPSTREAM_ROOT=$(bash "$here/fetch-upstream.sh" --root)
        UPSTREAM_VERSIONS=$(bash "$here/fetch-upstream.sh" --versions)
        break
    fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/stackgen-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

for key in "${keys[@]}"; do
    build "$key"
done
if [[ $check -eq 1 ]]; then
    failed=0
    for key in "${keys[@]}"; do
        check_image "$key" || failed=1
    done
    exit $failed
fi
