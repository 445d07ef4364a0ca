"""What the runtime reads of the role registry (stackgen/roles.py): how a role is reached and reloaded.

The reload table of ARCHITECTURE.md is the registry's reload_paths/self_watched_dirs; plan.py decides
from it, reload.py acts on it.
"""

from __future__ import annotations

from stackgen.roles import GRAFANA_ADMIN_PASSWORD_FILE, RoleFacts, facts

__all__ = ["GRAFANA_ADMIN_PASSWORD_FILE", "role_runtime"]


def role_runtime(role: str) -> RoleFacts:
    """The registry facts of `role` (an unknown role is recreated on any config change)."""
    return facts(role)
