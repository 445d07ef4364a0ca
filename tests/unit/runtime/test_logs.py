"""stackgen logs: line assembly, service selection and merging (an engine stand-in that yields chunks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from stackgen.errors import InvalidInput, RuntimeFailure
from stackgen.runtime.logs import lines_of, read_logs, select_containers
from stackgen.runtime.plan import ObservedContainer


def container(service: str, number: int = 1) -> ObservedContainer:
    return ObservedContainer(f"id-{service}-{number}", f"p_{service}_{number}", service, number, "running",
                             None, "h")


class ChunkEngine:
    """log_chunks yields the chunks given per container; `gate` holds a stream back until set."""

    def __init__(self, chunks: dict[str, list[bytes]], gate: dict[str, threading.Event] | None = None,
                 fail: str | None = None) -> None:
        self.chunks, self.gate, self.fail = chunks, gate or {}, fail

    def log_chunks(self, container_id: str, tail: int | None, follow: bool, since: int | None = None
                   ) -> Iterator[bytes]:
        if container_id in self.gate:
            self.gate[container_id].wait(5)
        yield from self.chunks.get(container_id, [])
        if container_id == self.fail:
            raise RuntimeFailure("reading the logs: the engine went away")


def test_lines_are_whole_even_when_a_chunk_cuts_a_line_or_a_character() -> None:
    text = "ok 1\n告警 2\r\nlast".encode()
    cut = text.index("警".encode()) + 1  # inside the UTF-8 bytes of 警
    assert list(lines_of([text[:3], text[3:cut], text[cut:]])) == ["ok 1", "告警 2", "last"]


def test_named_services_only_and_unknown_names_are_an_input_error() -> None:
    observed = [container("alertmanager"), container("prometheus")]
    assert select_containers(observed, ["prometheus"]) == [observed[1]]
    assert select_containers(observed, []) == observed
    with pytest.raises(InvalidInput) as caught:
        select_containers(observed, ["prometheus", "grafanna"])
    assert caught.value.message == "no service grafanna in this stack"
    assert caught.value.exit_code == 2


def test_without_follow_containers_come_one_after_the_other_numbered_when_several() -> None:
    observed = [container("alertmanager", 1), container("alertmanager", 2), container("prometheus")]
    engine = ChunkEngine({"id-alertmanager-1": [b"a1\n"], "id-alertmanager-2": [b"a2\n"],
                          "id-prometheus-1": [b"p\n"]})
    lines = [(line.service, line.text) for line in read_logs(engine, observed, 10, False)]  # type: ignore[arg-type]
    assert lines == [("alertmanager-1", "a1"), ("alertmanager-2", "a2"), ("prometheus", "p")]


def test_following_merges_streams_as_lines_arrive() -> None:
    observed = [container("alertmanager"), container("prometheus")]
    gate = {"id-alertmanager-1": threading.Event()}
    engine = ChunkEngine({"id-alertmanager-1": [b"late\n"], "id-prometheus-1": [b"first\n"]}, gate)
    lines = read_logs(engine, observed, None, True)  # type: ignore[arg-type]
    assert next(lines).text == "first"  # prometheus did not wait for alertmanager's stream
    gate["id-alertmanager-1"].set()
    assert [line.text for line in lines] == ["late"]


def test_an_engine_failure_while_following_ends_with_its_message() -> None:
    engine = ChunkEngine({"id-prometheus-1": [b"x\n"]}, fail="id-prometheus-1")
    with pytest.raises(RuntimeFailure, match="engine went away"):
        list(read_logs(engine, [container("prometheus")], None, True))  # type: ignore[arg-type]
