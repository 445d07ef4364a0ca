"""stackgen.parallel.map_all: results in order, every item runs, the first error (in item order) raised."""

from __future__ import annotations

import threading

import pytest

from stackgen.parallel import map_all


def test_results_keep_the_items_order() -> None:
    assert map_all(lambda number: number * 2, [3, 1, 2]) == [6, 2, 4]
    assert map_all(lambda number: number, []) == []


def test_every_item_runs_and_the_first_error_is_raised() -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def work(number: int) -> int:
        with lock:
            ran.append(number)
        if number in (2, 4):
            raise ValueError(f"item {number}")
        return number

    with pytest.raises(ValueError, match="item 2"):
        map_all(work, [1, 2, 3, 4, 5])
    assert sorted(ran) == [1, 2, 3, 4, 5]
