"""The Docker Swarm engine: the same plan records as on one host, translated to `docker stack deploy`.

stack_file.py (the rendered docker-stack.yml as records, pure), placement.py (which node each pinned
service goes to, pure), cluster.py (the only swarm module talking to the engine: the docker SDK for
reads and node labels, the docker CLI's `stack deploy` / `stack rm`), converge.py (plan -> deploy,
wait, reload, prune, roll back), observe.py (status, down), engine.py (SwarmEngine, the adapter
runtime/engines.py hands a swarm render to).
"""

from __future__ import annotations

from pathlib import Path

STACK_FILE = "docker-stack.yml"


def is_swarm_output(out_dir: Path) -> bool:
    """True when the rendered output in `out_dir` is a swarm stack (deploy.engine: swarm)."""
    return (out_dir / STACK_FILE).is_file()
