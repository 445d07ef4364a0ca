"""Make every image of the project present locally: pull per policy, build the relay, never guess."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from functools import partial
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.runtime.compose_file import ProjectDefinition
from stackgen.runtime.engine import Engine
from stackgen.runtime.progress import Reporter


class PullPolicy(Enum):
    """When apply pulls an image."""

    MISSING = "missing"  # only images not present locally (the default)
    ALWAYS = "always"  # every image, to pick up a moved tag
    NEVER = "never"  # never; a missing image is an error


def local_image_ids(engine: Engine, project: ProjectDefinition) -> dict[str, str | None]:
    """The local ID of each image the project uses (None: not present)."""
    return {image: engine.image_id(image) for image in sorted({s.image for s in project.services})}


def ensure_images(
    engine: Engine, project: ProjectDefinition, policy: PullPolicy, reporter: Reporter
) -> dict[str, str | None]:
    """Pull or build what the policy asks for; returns each image's local ID afterwards."""
    ids = local_image_ids(engine, project)
    build_bases = {service.image: service.build_base for service in project.services if service.build_base}
    for image, image_id in ids.items():
        if image in build_bases:
            # built from stackgen's own sources, never pulled; the builder skips an up-to-date image
            if image_id is None:
                reporter.phase(f"building {image}")
            _build_relay(engine, image, build_bases[image] or "", policy)
            ids[image] = engine.image_id(image)
            continue
        if policy is PullPolicy.NEVER:
            if image_id is None:
                raise RuntimeFailure(
                    f"image {image} is not present locally and --pull is never",
                    hint="load it (`docker load`) or apply with --pull missing",
                )
            continue
        if image_id is None or policy is PullPolicy.ALWAYS:
            reporter.phase(f"pulling {image}")
            engine.pull(image, partial(_report_layer, reporter, image))
            ids[image] = engine.image_id(image)
    return ids


def _report_layer(reporter: Reporter, image: str, event: Mapping[str, Any]) -> None:
    detail = event.get("progressDetail") or {}
    reporter.layer(
        image,
        str(event.get("id", "")),
        str(event.get("status", "")),
        detail.get("current"),
        detail.get("total"),
    )


def _build_relay(engine: Engine, tag: str, base_image: str, policy: PullPolicy) -> None:
    from stackgen.relay.image import SOURCE_HASH_LABEL, build_context, ensure_relay_image

    labels = engine.image_labels(tag)
    if labels is not None and labels.get(SOURCE_HASH_LABEL) == build_context(base_image).source_hash:
        return  # built from these very sources (ensure_relay_image's own test), without the docker SDK
    ensure_relay_image(engine.client, tag, base_image, policy.value)
