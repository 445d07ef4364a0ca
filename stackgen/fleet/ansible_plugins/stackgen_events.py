"""An Ansible stdout callback that prints one JSON object per event, for stackgen's fleet runner.

Loaded by `stackgen fleet apply` only (ANSIBLE_STDOUT_CALLBACK=stackgen_events); running the playbook by
hand keeps Ansible's usual output."""

from __future__ import annotations

import json
import sys
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: stackgen_events
type: stdout
short_description: one JSON line per host result, for stackgen
description: used by stackgen fleet apply
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]  # ansible-core ships no type information
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "stackgen_events"

    def _emit(self, **event: Any) -> None:
        sys.stdout.write("STACKGEN-EVENT " + json.dumps(event, default=str) + "\n")
        sys.stdout.flush()

    def _result(self, kind: str, result: Any) -> None:
        data = result._result
        message = data.get("msg") or data.get("stderr") or data.get("module_stderr") or ""
        self._emit(
            kind=kind,
            host=result._host.get_name(),
            task=result._task.get_name(),
            changed=bool(data.get("changed")),
            message=str(message).strip()[:500],
        )

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._emit(kind="task", task=task.get_name())

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._emit(kind="task", task=task.get_name())

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result("unreachable", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._emit(kind="skipped", host=result._host.get_name(), task=result._task.get_name())

    def v2_playbook_on_stats(self, stats: Any) -> None:
        for host in sorted(stats.processed):
            self._emit(kind="stats", host=host, **stats.summarize(host))
