"""Robot rate limits: a sliding window per robot, and a queue that merges what must wait.

DingTalk and WeCom robots take 20 messages a minute and block a robot that sends more for ten
minutes, so the relay never lets a robot exceed its window. A notification that finds the window
full is queued; when a slot frees up, everything queued for that robot is merged into one message
and sent (split into as few parts as its size needs). Nothing is dropped, and the log says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from stackgen.relay.delivery import DeliveryError
from stackgen.relay.messages import Message, merge_messages

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class SlidingWindow:
    """At most `limit` events in any `period` seconds, and, with `burst=(n, seconds)`, at most n in any
    such shorter span too (Feishu: 100 a minute and 5 a second); thread-safe, clock injectable.

    An event is counted from when its slot is taken and, once `complete()` is called, from when the
    request finished: the API saw it somewhere in between, so counting from the later time keeps
    the relay's view at least as strict as the robot's whatever the network delay. One slot object
    is shared by every span, so completing it moves it in all of them.
    """

    def __init__(
        self, limit: int, period: float, clock: Clock = time.monotonic, burst: tuple[int, float] | None = None
    ) -> None:
        spans = [(limit, period), *([burst] if burst else [])]
        if any(count < 1 or seconds <= 0 for count, seconds in spans):
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.burst = burst
        self.clock = clock
        self._spans: list[tuple[int, float, deque[list[float]]]] = [
            (count, seconds, deque()) for count, seconds in spans
        ]
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for _, seconds, events in self._spans:
            while events and events[0][0] <= now - seconds:
                events.popleft()

    def available(self) -> int:
        """How many events may happen right now."""
        with self._lock:
            self._expire(self.clock())
            return min(count - len(events) for count, _, events in self._spans)

    def try_acquire(self, count: int = 1) -> list[list[float]] | None:
        """Record `count` events if they all fit now (their slots), else None and nothing recorded."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if any(len(events) + count > limit for limit, _, events in self._spans):
                return None
            slots = [[now] for _ in range(count)]
            for _, _, events in self._spans:
                events.extend(slots)
            return slots

    def complete(self, slot: list[float]) -> None:
        """Count a slot's event from now on (its request has just finished)."""
        with self._lock:
            slot[0] = max(slot[0], self.clock())

    def wait_time(self, count: int = 1) -> float:
        """Seconds until `count` events would fit (0 if they fit now)."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            longest = 0.0
            for limit, seconds, events in self._spans:
                excess = len(events) + count - limit
                if excess <= 0:
                    continue
                if count > limit:
                    raise ValueError(f"{count} events never fit a window of {limit}")
                times = sorted(event[0] for event in events)
                longest = max(longest, times[excess - 1] + seconds - now)
            return max(longest, 0.0)


class Sender(Protocol):
    """What a queue needs from a channel."""

    def bodies(self, message: Message) -> list[dict[str, Any]]: ...

    def send(self, body: dict[str, Any]) -> None: ...


# Called once a queued batch was sent: the tickets given to submit(), the failure if any, the parts.
Report = Callable[[Sequence[Any], "DeliveryError | None", int], None]


class RobotQueue:
    """Sends one channel's messages under its robot's window; merges and sends later what must wait."""

    def __init__(
        self,
        name: str,
        window: SlidingWindow,
        sender: Sender,
        language: str,
        report: Report,
        retry_delays: Sequence[float] = (5.0, 30.0, 120.0),
        on_depth: Callable[[int], None] | None = None,
        on_wait: Callable[[], None] | None = None,
        merge: Callable[[list[tuple[Message, Any]]], Message] | None = None,
    ) -> None:
        self.name = name
        self.window = window
        self.sender = sender
        self.language = language
        self.report = report
        self.retry_delays = tuple(retry_delays)
        self.on_depth = on_depth or (lambda depth: None)
        self.on_wait = on_wait or (lambda: None)
        # Turns the waiting (message, ticket) pairs into one message; by default their texts are joined.
        self.merge = merge or (lambda batch: merge_messages([m for m, _ in batch], self.language))
        self._pending: list[tuple[Message, Any]] = []
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._worker: threading.Thread | None = None

    @property
    def depth(self) -> int:
        """Messages waiting for the window."""
        with self._cond:
            return len(self._pending)

    def submit(self, message: Message, ticket: Any = None) -> bool:
        """Send now if the window allows every part (True), else queue for merging (False).

        Sending now raises DeliveryError, so the caller can answer Alertmanager accordingly. The
        ticket of a queued message comes back through `report` once it was sent.
        """
        bodies = self.sender.bodies(message)
        slots = None
        with self._cond:
            if not self._pending:
                slots = self.window.try_acquire(len(bodies))
            if slots is not None:
                queued = False
            else:
                self._pending.append((message, ticket))
                depth = len(self._pending)
                queued = True
                self._ensure_worker()
                self._cond.notify_all()
        if queued:
            self.on_wait()
            self.on_depth(depth)
            # One warning per backlog, not one per notification: a burst would flood the log.
            level = logging.WARNING if depth == 1 else logging.DEBUG
            log.log(
                level,
                "rate limit: %s allows %d messages per %.0fs; queueing notifications, "
                "to be merged and sent in %.0fs",
                self.name,
                self.window.limit,
                self.window.period,
                self.window.wait_time(),
            )
            return False
        for body, slot in zip(bodies, slots or [], strict=True):
            try:
                self.sender.send(body)
            finally:
                self.window.complete(slot)
        return True

    def stop(self) -> None:
        """End the worker (pending messages stay unsent: used on shutdown)."""
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name=f"queue {self.name}", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._cond:
                while not self._pending and not self._stopped.is_set():
                    self._cond.wait()
                if self._stopped.is_set():
                    return
                wait = self.window.wait_time()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                batch, self._pending = self._pending, []
            self.on_depth(0)
            self._send_batch(batch)

    def _send_batch(self, batch: list[tuple[Message, Any]]) -> None:
        merged = self.merge(batch)
        bodies = self.sender.bodies(merged)
        log.warning(
            "rate limit: %s sends %d queued notification(s) merged into %d message(s)",
            self.name,
            len(batch),
            len(bodies),
        )
        failure: DeliveryError | None = None
        for body in bodies:
            if self._stopped.is_set():
                failure = failure or DeliveryError("relay stopped before sending", retryable=True)
                break
            error = self._send_with_retries(body)
            failure = failure or error
        self.report([ticket for _, ticket in batch], failure, len(bodies))

    def _send_with_retries(self, body: dict[str, Any]) -> DeliveryError | None:
        for attempt in range(len(self.retry_delays) + 1):
            while (slots := self.window.try_acquire()) is None:
                if self._stopped.wait(max(self.window.wait_time(), 0.01)):
                    return DeliveryError("relay stopped before sending", retryable=True)
            try:
                try:
                    self.sender.send(body)
                finally:
                    self.window.complete(slots[0])
                return None
            except DeliveryError as error:
                if not error.retryable or attempt == len(self.retry_delays):
                    log.error("%s: giving up on a queued message: %s", self.name, error)
                    return error
                delay = self.retry_delays[attempt]
                log.warning("%s: %s; retrying in %.0fs", self.name, error, delay)
                if self._stopped.wait(delay):
                    return error
        return None  # pragma: no cover - the loop always returns
