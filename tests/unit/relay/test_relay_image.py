"""The relay image's build context, without an engine (the build itself is an integration test)."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from stackgen.errors import RuntimeFailure
from stackgen.relay import image


def names(context: image.BuildContext) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(context.tar)) as tar:
        return tar.getnames()


def test_context_holds_dockerfile_and_pure_python_packages() -> None:
    context = image.build_context("stackgen-local/python:3.11")
    found = names(context)
    assert found[0] == "Dockerfile"
    for module in ("stackgen/relay/__main__.py", "stackgen/relay/templates/zh.md.j2", "stackgen/cli.py",
                   "jinja2/environment.py", "markupsafe/_native.py", "prometheus_client/exposition.py",
                   "ruamel/yaml/main.py", "click/core.py", "tzdata/zoneinfo/Asia/Shanghai",
                   "bcrypt/__init__.py", "bcrypt/_bcrypt.abi3.so"):
        assert f"site/{module}" in found
    # the one compiled extension is bcrypt's stable-ABI build (web config passwords)
    compiled = [n for n in found if n.endswith((".so", ".pyc")) or "__pycache__" in n]
    assert compiled == ["site/bcrypt/_bcrypt.abi3.so"]


def test_dockerfile_runs_the_relay_as_nobody_with_a_healthcheck() -> None:
    text = image.dockerfile("python:3.12-slim")
    assert text.startswith("FROM python:3.12-slim\n")
    assert "USER 65534:65534" in text
    entrypoint = '["python3", "-m", "stackgen.relay", "--config", "/etc/stackgen-relay/relay.yml"]'
    assert f"ENTRYPOINT {entrypoint}" in text
    assert "HEALTHCHECK" in text and "/-/healthy" in text


def test_context_is_deterministic_and_the_hash_follows_the_base() -> None:
    first = image.build_context("a:1")
    assert first == image.build_context("a:1")
    assert first.source_hash != image.build_context("b:1").source_hash


def test_tag_carries_version_and_source_hash() -> None:
    tag = image.relay_image_tag("stackgen-local/python:3.11")
    repository, _, version = tag.partition(":")
    assert repository == "stackgen/relay"
    assert version == f"0.1.0-{image.build_context('stackgen-local/python:3.11').source_hash}"


class FakeImages:
    """Just enough of docker's ImageCollection to see what ensure_relay_image asks for."""

    def __init__(self, present: dict[str, dict[str, str]]) -> None:
        self.present = present
        self.calls: list[tuple[str, Any]] = []

    def list(self, filters: dict[str, str]) -> list[Any]:
        labels = self.present.get(filters["reference"])
        return [] if labels is None else [type("Image", (), {"labels": labels})()]

    def build(self, **kwargs: Any) -> None:
        self.calls.append(("build", kwargs))

    def pull(self, repository: str, tag: str) -> None:
        self.calls.append(("pull", f"{repository}:{tag}"))


class FakeClient:
    def __init__(self, present: dict[str, dict[str, str]]) -> None:
        self.images = FakeImages(present)


def test_existing_image_with_same_sources_is_kept() -> None:
    source_hash = image.build_context("base:1").source_hash
    client = FakeClient({"relay:x": {image.SOURCE_HASH_LABEL: source_hash}, "base:1": {}})
    image.ensure_relay_image(client, "relay:x", "base:1", "missing")
    assert client.images.calls == []


def test_stale_image_is_rebuilt_from_the_local_base() -> None:
    client = FakeClient({"relay:x": {image.SOURCE_HASH_LABEL: "old"}, "base:1": {}})
    image.ensure_relay_image(client, "relay:x", "base:1", "missing")
    [(call, kwargs)] = client.images.calls
    assert call == "build" and kwargs["tag"] == "relay:x" and kwargs["pull"] is False
    assert kwargs["labels"][image.SOURCE_HASH_LABEL] == image.build_context("base:1").source_hash


def test_missing_base_is_pulled_unless_never() -> None:
    client = FakeClient({})
    image.ensure_relay_image(client, "relay:x", "registry.local:5000/python:3.12-slim", "missing")
    assert client.images.calls[0] == ("pull", "registry.local:5000/python:3.12-slim")
    with pytest.raises(RuntimeFailure, match="not present locally and --pull is never"):
        image.ensure_relay_image(FakeClient({}), "relay:x", "base:1", "never")
