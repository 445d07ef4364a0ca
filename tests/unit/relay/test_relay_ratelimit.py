"""The sliding window (with a fake clock) and the queue that merges what must wait."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from stackgen.relay.delivery import DeliveryError
from stackgen.relay.messages import Message
from stackgen.relay.ratelimit import RobotQueue, SlidingWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_allows_limit_then_refuses_until_the_oldest_expires() -> None:
    clock = FakeClock()
    window = SlidingWindow(20, 60, clock)
    for _ in range(20):
        assert window.try_acquire() is not None
        clock.now += 1
    assert window.try_acquire() is None
    # The first event was at t=1000; it leaves the window at t=1060.
    assert window.wait_time() == pytest.approx(1060 - clock.now)
    clock.now = 1060.0
    assert window.try_acquire() is not None
    assert window.try_acquire() is None


def test_a_burst_limit_holds_inside_the_longer_window() -> None:
    clock = FakeClock()
    window = SlidingWindow(100, 60, clock, burst=(5, 1.0))  # Feishu: 100 a minute, 5 a second
    assert window.try_acquire(5) is not None
    assert window.try_acquire() is None and window.available() == 0
    assert window.wait_time() == pytest.approx(1.0)
    sent = 5
    while sent < 100:  # a second at a time, 5 each: the minute's 100 run out after 20 s
        clock.now += 1.0
        assert window.try_acquire(5) is not None
        sent += 5
    clock.now += 1.0
    assert window.try_acquire() is None
    assert window.wait_time() == pytest.approx(1000 + 60 - clock.now)  # the minute, not the second
    with pytest.raises(ValueError):
        window.wait_time(6)  # more than a second's burst never fits at once


def test_completing_a_slot_counts_it_in_every_span() -> None:
    clock = FakeClock()
    window = SlidingWindow(100, 60, clock, burst=(1, 1.0))
    [slot] = window.try_acquire() or []
    clock.now += 5  # a slow request: the API saw it up to now
    window.complete(slot)
    assert window.try_acquire() is None and window.wait_time() == pytest.approx(1.0)


def test_feishu_robots_get_the_burst_limit_dingtalk_robots_none(tmp_path: Any) -> None:
    from stackgen.relay.config import build_config
    from stackgen.relay.dispatch import Relay

    (tmp_path / "url").write_text("https://open.feishu.cn/open-apis/bot/v2/hook/x")
    (tmp_path / "ding").write_text("https://oapi.dingtalk.com/robot/send?access_token=x")
    config = build_config({"receivers": {
        "f": [{"channel": "feishu", "url_file": "url"}],
        "d": [{"channel": "dingtalk", "url_file": "ding"}]}}, base_dir=tmp_path)
    relay = Relay(config)
    try:
        feishu, ding = relay.routes["f"][0].queue, relay.routes["d"][0].queue
        assert feishu is not None and ding is not None
        assert (feishu.window.limit, feishu.window.burst) == (100, (5, pytest.approx(1.02)))
        assert (ding.window.limit, ding.window.burst) == (20, None)
    finally:
        relay.stop()


def test_window_takes_several_at_once_or_none() -> None:
    clock = FakeClock()
    window = SlidingWindow(5, 10, clock)
    assert window.try_acquire(3) is not None
    assert window.try_acquire(3) is None
    assert window.available() == 2
    assert window.wait_time(3) == pytest.approx(10)
    with pytest.raises(ValueError):
        window.wait_time(6)


def message(n: int) -> Message:
    return Message(
        title=f"t{n}", header=f"header {n}", alerts=(f"alert {n}",), footer="footer", status="firing"
    )


class RecordingSender:
    def __init__(self, fail: list[DeliveryError] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = list(fail or [])
        self.lock = threading.Lock()

    def bodies(self, message: Message) -> list[dict[str, Any]]:
        return [{"text": "\n".join((message.header, *message.alerts))}]

    def send(self, body: dict[str, Any]) -> None:
        with self.lock:
            if self.fail:
                raise self.fail.pop(0)
            self.sent.append(body)


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met before the deadline")


def test_burst_is_sent_within_the_limit_and_the_rest_merged_not_dropped() -> None:
    window = SlidingWindow(3, 0.5)
    sender = RecordingSender()
    reports: list[tuple[list[Any], Any, int]] = []
    queue = RobotQueue(
        "test robot",
        window,
        sender,
        "zh",
        report=lambda tickets, error, parts: reports.append((list(tickets), error, parts)),
    )
    results = [queue.submit(message(n), ticket=n) for n in range(10)]
    assert results == [True] * 3 + [False] * 7
    assert len(sender.sent) == 3
    wait_until(lambda: reports)
    # The seven waiting notifications went out as one merged message.
    assert reports == [(list(range(3, 10)), None, 1)]
    merged = sender.sent[3]["text"]
    assert "合并发送 7 条通知" in merged
    for n in range(3, 10):
        assert f"alert {n}" in merged
    queue.stop()


def test_queue_never_exceeds_the_window() -> None:
    window = SlidingWindow(4, 0.4)
    sent_at: list[float] = []

    class Timed(RecordingSender):
        def send(self, body: dict[str, Any]) -> None:
            sent_at.append(time.monotonic())

        def bodies(self, message: Message) -> list[dict[str, Any]]:
            return [{"n": i} for i in range(3)]  # three parts per merged message

    queue = RobotQueue("robot", window, Timed(), "en", report=lambda *args: None)
    for n in range(12):
        queue.submit(message(n))
    wait_until(lambda: len(sent_at) >= 6, timeout=5)
    for i in range(len(sent_at) - 4):
        # Any 5 consecutive sends span more than one window.
        assert sent_at[i + 4] - sent_at[i] >= 0.4 - 0.01
    queue.stop()


def test_queued_message_is_retried_on_a_retryable_failure() -> None:
    window = SlidingWindow(1, 0.2)
    sender = RecordingSender()
    reports: list[Any] = []
    queue = RobotQueue(
        "robot", window, sender, "en", report=lambda t, e, p: reports.append(e), retry_delays=(0.05, 0.05)
    )
    assert queue.submit(message(1))
    sender.fail = [DeliveryError("HTTP 500", retryable=True)]
    assert not queue.submit(message(2))
    wait_until(lambda: reports)
    assert reports == [None]
    assert len(sender.sent) == 2
    queue.stop()


def test_queued_message_with_permanent_failure_is_reported_once() -> None:
    window = SlidingWindow(1, 0.1)
    error = DeliveryError("errcode 310000", retryable=False)
    sender = RecordingSender()
    reports: list[Any] = []
    queue = RobotQueue(
        "robot", window, sender, "en", report=lambda t, e, p: reports.append(e), retry_delays=(0.05,)
    )
    assert queue.submit(message(1))
    sender.fail = [error]
    assert not queue.submit(message(2))
    wait_until(lambda: reports)
    assert reports == [error]
    queue.stop()


def test_a_completed_event_counts_from_its_completion() -> None:
    clock = FakeClock()
    window = SlidingWindow(1, 60, clock)
    [slot] = window.try_acquire() or []
    clock.now += 5                        # the request took five seconds to finish
    window.complete(slot)
    clock.now += 58                       # 63 s after the slot was taken, 58 s after completion
    assert window.try_acquire() is None
    assert window.wait_time() == pytest.approx(2)
