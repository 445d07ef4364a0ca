"""docker-stack.yml: the stack as Docker Swarm services, a file `docker stack deploy` accepts.

Converted from the same service definitions as docker-compose.yml (compose.compose_services), the way
docker/cli's convert package turns a compose file into service specs: what Swarm cannot run is left
out, what it needs is added.

- node-exporter and cAdvisor run `mode: global`, one task per node, with the node's hostname
  (`{{.Node.Hostname}}`, a template Swarm fills in) so that what they report names the node.
- Every other service has one task, pinned to a node by a label apply puts on that node
  (`node.labels.io.stackgen.<project>.<service> == true`): its named volume is node-local and stays
  with it, and so does the config directory it reads and reloads from. HA replicas are separate
  services, pinned to different nodes.
- `endpoint_mode: dnsrr` and host-mode ports: the routing mesh needs IPVS, absent on some kernels
  (VIP answers "No route to host" there). A service name then resolves to its task's address.
  Host mode binds every address of the node: a port that compose keeps on loopback because its
  service asks for no password (cAdvisor, Jaeger, the OpenTelemetry Collector, ... on a stack with
  web.users on another address) is not published at all.
- Config stackgen hot-reloads is bind-mounted as DIRECTORIES from the output dir, as on one host:
  POST /-/reload serves a change in a fraction of a second in the same task, with its TSDB. Config a
  service reads only when it starts (the OpenTelemetry Collector's) is a Swarm config named after its
  content hash: a change is a new config and a rolling update, which that service needs anyway.
- Prometheus runs on a manager with the docker socket read-only, to discover the per-node exporters
  through the swarm API (dockerswarm_sd_configs).
"""

from __future__ import annotations

import hashlib
from typing import Any

from stackgen import __version__
from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.compose import compose_services, named_volumes
from stackgen.render.dump import yaml_bytes
from stackgen.render.topology import ALERTMANAGER_CLUSTER_PORT, by_role
from stackgen.roles import ROLE_LABEL

STACK_FILE = "docker-stack.yml"
GLOBAL_ROLES = ("node-exporter", "cadvisor")
DOCKER_SOCKET = "/var/run/docker.sock"
# Set by apply when it runs `docker stack deploy` (the gid of the managers' docker socket).
DOCKER_GID_VARIABLE = "STACKGEN_DOCKER_GID"
# Compose keys that Swarm services do not have (stack deploy would ignore them with a warning).
_NOT_IN_SWARM = ("restart", "depends_on", "extra_hosts", "privileged", "devices", "pid", "build", "group_add")
# Files a service reads only at start, delivered as Swarm configs: output path -> target in the task.
_START_ONLY_CONFIGS = {"otel-collector": {"otel-collector/config.yml": "/etc/otelcol/config.yml"}}


def pin_label(project: str, service: str) -> str:
    """The node label that pins one service of a stack to its node."""
    return f"io.stackgen.{project}.{service}"


def render_swarm(stack: Stack) -> dict[str, RenderedFile]:
    """docker-stack.yml (services, overlay network, volumes, configs)."""
    from stackgen.render.tracing import render_tracing

    compose_configs = compose_services(stack)
    start_only = render_tracing(stack)  # the only start-only files; pure, rendered again here for their hash
    configs: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for name, compose in compose_configs.items():
        role = compose["labels"][ROLE_LABEL]
        service = _swarm_service(stack, name, role, compose)
        for path, target in _START_ONLY_CONFIGS.get(role, {}).items():
            if path in start_only:
                config_name = swarm_config_name(path, start_only[path].content)
                configs[config_name] = {"file": f"./{path}"}
                service.setdefault("configs", []).append(
                    {"source": config_name, "target": target, "mode": 0o444}
                )
                service["volumes"] = [
                    v for v in service.get("volumes", []) if not v.startswith(f"./{path.split('/')[0]}:")
                ]
                if not service["volumes"]:
                    del service["volumes"]
        services[name] = service
    document: dict[str, Any] = {
        "version": "3.8",
        "x-stackgen": {
            "project": stack.name,
            "generated_by": f"stackgen {__version__}",
            "shared_output": stack.deploy.shared_output,
            "max_replicas_per_node": stack.deploy.max_replicas_per_node,
        },
        "services": services,
        # attachable: `docker run --network <project>_default` reaches the stack (debugging, tests)
        "networks": {"default": {"driver": "overlay", "attachable": True}},
    }
    volumes = named_volumes(compose_configs)
    if volumes:
        document["volumes"] = volumes
    if configs:
        document["configs"] = configs
    return {STACK_FILE: RenderedFile(yaml_bytes(document))}


def swarm_config_name(path: str, content: bytes) -> str:
    """A Swarm config's name: its file and content hash (configs are immutable: new content, new name)."""
    stem = path.replace("/", "-").rsplit(".", 1)[0]
    return f"{stem}-{hashlib.sha256(content).hexdigest()[:12]}"


def _swarm_service(stack: Stack, name: str, role: str, compose: dict[str, Any]) -> dict[str, Any]:
    service = {key: value for key, value in compose.items() if key not in _NOT_IN_SWARM and key != "ports"}
    ports = [_host_mode_port(port) for port in compose.get("ports", []) if _kept_by_swarm(stack, port)]
    if ports:
        service["ports"] = ports
    constraints = list(stack.deploy.placement.get(role, ()))
    deploy: dict[str, Any] = {"endpoint_mode": "dnsrr", "labels": {ROLE_LABEL: role}}
    if role in GLOBAL_ROLES:
        deploy["mode"] = "global"
        service["hostname"] = "{{.Node.Hostname}}"
    else:
        deploy["mode"] = "replicated"
        deploy["replicas"] = 1
        constraints.append(f"node.labels.{pin_label(stack.name, name)} == true")
    if role == "prometheus":
        # the swarm API (dockerswarm_sd_configs) answers on managers only
        constraints.insert(0, "node.role == manager")
        gid = stack.deploy.docker_gid
        service["user"] = f"65534:{gid if gid is not None else '${' + DOCKER_GID_VARIABLE + '}'}"
        socket = f"{DOCKER_SOCKET}:{DOCKER_SOCKET}:ro"  # compose has it too with discovery.docker
        service["volumes"] = [*[volume for volume in service["volumes"] if volume != socket], socket]
    if role == "alertmanager" and any(
        arg.startswith("--cluster.peer=") for arg in service.get("command", [])
    ):
        # Alertmanager advertises the address of its default-route interface, which in a swarm task
        # is docker_gwbridge, node-local: members on other nodes would join but never gossip (each
        # would notify). The task's own overlay address is what /etc/hosts gives its hostname. `$$`
        # is how the stack file escapes `$` from docker stack deploy's interpolation.
        service["entrypoint"] = [
            "/bin/sh",
            "-c",
            f'exec /bin/alertmanager "$$@" '
            f"--cluster.advertise-address=$$(hostname -i):{ALERTMANAGER_CLUSTER_PORT}",
            "alertmanager",
        ]
    if constraints:
        deploy["placement"] = {"constraints": constraints}
    # Pinned with host-mode ports and node-local volumes: the old task stops before the new one
    # starts, and a new task that never gets healthy is rolled back to the old definition.
    deploy["update_config"] = {
        "parallelism": 1,
        "order": "stop-first",
        "failure_action": "rollback",
        "monitor": "10s",
    }
    deploy["rollback_config"] = {"parallelism": 1, "order": "stop-first"}
    deploy["restart_policy"] = {"condition": "any", "delay": "5s"}
    service["deploy"] = deploy
    return service


def _kept_by_swarm(stack: Stack, port: str) -> bool:
    """False for a port compose keeps on loopback although the stack listens beyond it (a service that
    asks for no password: render/web.py published_address): Swarm would bind it on every address of
    the node, so it is not published at all."""
    from stackgen.spec.meaning_web import is_loopback

    address = port.rsplit(":", 2)[0].strip("[]")
    return not is_loopback(address) or is_loopback(stack.listen)


def _host_mode_port(port: str) -> dict[str, Any]:
    """`LISTEN:PUBLISHED:TARGET` -> the long form in host mode (Swarm binds every address of the node)."""
    published, target = port.rsplit(":", 2)[-2:]
    return {"target": int(target), "published": int(published), "protocol": "tcp", "mode": "host"}


def node_discovery(stack: Stack, role: str, port: int) -> dict[str, Any]:
    """How Prometheus finds a global role's tasks: the swarm API of the manager it runs on.

    A task whose node went down is kept (its desired state turns to shutdown while its last known
    state is still running), so the node's target fails instead of vanishing; older shut-down tasks
    are dropped. `instance` is the node's hostname.
    """
    service = by_role(stack, role)[0].name
    return {
        "dockerswarm_sd_configs": [
            {
                "host": f"unix://{DOCKER_SOCKET}",
                "role": "tasks",
                "port": port,
                "refresh_interval": "5s",
                "filters": [{"name": "service", "values": [f"{stack.name}_{service}"]}],
            }
        ],
        "relabel_configs": [
            {
                "source_labels": ["__meta_dockerswarm_network_name"],
                "regex": f"{stack.name}_default",
                "action": "keep",
            },
            {
                "source_labels": [
                    "__meta_dockerswarm_task_desired_state",
                    "__meta_dockerswarm_task_state",
                    "__meta_dockerswarm_node_status",
                ],
                "regex": "running;.*;.*|shutdown;running;down",
                "action": "keep",
            },
            {"source_labels": ["__meta_dockerswarm_node_hostname"], "target_label": "instance"},
        ],
    }
