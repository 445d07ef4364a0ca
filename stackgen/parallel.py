"""Run independent work items concurrently and wait for all of them; the first error is raised."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_all(work: Callable[[Item], Result], items: Sequence[Item], max_workers: int = 8) -> list[Result]:
    """`work` on every item, in threads (in-line for one item); results in the items' order.

    Every item runs to its end even when another fails (a half-started stack is worse than a slow
    error), then the first error in item order is raised."""
    if len(items) <= 1:
        return [work(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # imported when needed: a no-op runs nothing

    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
