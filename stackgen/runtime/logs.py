"""`stackgen logs`: the output of the stack's containers, whole lines prefixed by their service.

Several containers are read at once, one thread each, and their lines merged as they come (with
--follow) or printed container by container (without), like `docker-compose logs`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from stackgen.errors import InvalidInput, RuntimeFailure
from stackgen.runtime.engine import Engine
from stackgen.runtime.plan import ObservedContainer


@dataclass(frozen=True)
class LogLine:
    """One line a container printed."""

    service: str  # the compose service, with its number when the service has several containers
    text: str


def select_containers(
    observed: Sequence[ObservedContainer], services: Sequence[str]
) -> list[ObservedContainer]:
    """The containers of the named services (all when none is named); an unknown name is an error."""
    known = sorted({container.service for container in observed})
    unknown = [name for name in services if name not in known]
    if unknown:
        listed = ", ".join(known) or "none: the stack is not running"
        raise InvalidInput(f"no service {', '.join(unknown)} in this stack", hint=f"services: {listed}")
    return [container for container in observed if not services or container.service in services]


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines from chunks that may cut a line (or a UTF-8 character) anywhere."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


def read_logs(
    engine: Engine,
    containers: Sequence[ObservedContainer],
    tail: int | None,
    follow: bool,
    since: int | None = None,
) -> Iterator[LogLine]:
    """Every line of the containers: one after the other, or merged as they come when following."""
    several = {c.service for c in containers if sum(o.service == c.service for o in containers) > 1}
    labels = {c.id: f"{c.service}-{c.number}" if c.service in several else c.service for c in containers}

    def one(container: ObservedContainer) -> Iterator[LogLine]:
        for text in lines_of(engine.log_chunks(container.id, tail, follow, since)):
            yield LogLine(labels[container.id], text)

    if not follow:
        for container in containers:
            yield from one(container)
        return
    yield from _merged([partial(one, container) for container in containers])


_DONE = object()


def _merged(sources: Sequence[Callable[[], Iterator[LogLine]]]) -> Iterator[LogLine]:
    """Lines of several streams in arrival order; an engine failure in any one ends all."""
    arrived: queue.Queue[object] = queue.Queue(maxsize=1000)

    def pump(source: Callable[[], Iterator[LogLine]]) -> None:
        try:
            for line in source():
                arrived.put(line)
        except RuntimeFailure as failure:
            arrived.put(failure)
        finally:
            arrived.put(_DONE)

    for source in sources:
        threading.Thread(target=pump, args=(source,), daemon=True).start()
    running = len(sources)
    while running:
        item = arrived.get()
        if item is _DONE:
            running -= 1
        elif isinstance(item, RuntimeFailure):
            raise item
        else:
            yield item  # type: ignore[misc]
