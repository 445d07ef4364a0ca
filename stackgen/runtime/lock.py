"""One apply at a time per stack: an advisory lock file beside the spec.

flock(2) is released by the kernel when the holder dies, even by SIGKILL, so a crashed apply never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackgen.errors import RuntimeFailure
from stackgen.runtime.progress import Reporter


def lock_path(spec_path: Path) -> Path:
    """The lock file of a spec: `.stack.yaml.lock` beside it."""
    return spec_path.parent / f".{spec_path.name}.lock"


@contextmanager
def stack_lock(spec_path: Path, wait_s: float, reporter: Reporter) -> Iterator[None]:
    """Hold the stack's lock; wait up to `wait_s` for another holder, then fail saying who holds it."""
    path = lock_path(spec_path)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(descriptor)
                if time.monotonic() >= deadline:
                    raise RuntimeFailure(
                        f"another stackgen ({holder}) is changing this stack",
                        hint=f"wait for it to finish (or pass --lock-timeout); lock file {path}",
                    ) from None
                if not told:
                    reporter.phase(f"waiting for another stackgen ({holder}) to finish")
                    told = True
                time.sleep(0.2)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _holder(descriptor: int) -> str:
    try:
        text = os.pread(descriptor, 64, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "unknown pid"
