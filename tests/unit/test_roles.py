"""The role registry is the one source of a role's facts: the README, the schema and the renderers
agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from stackgen.roles import REGISTRY, Role, default_images, facts
from stackgen.spec.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def test_readme_default_images_table_is_the_registry() -> None:
    section = (ROOT / "README.md").read_text().split("### Default images", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\S+) \| `([^`]+)` \|$", section, re.MULTILINE))
    images = default_images()
    relay_base = images.pop("relay-base")
    assert {role: image for role, image in rows.items() if role in images} == images
    assert re.search(rf"^\| relay \(built locally\) \|.*`{re.escape(relay_base)}`", section, re.MULTILINE)


def test_schema_names_every_image_key() -> None:
    description = schema()["properties"]["images"]["description"]
    named = re.search(r"\((.*)\)", description)
    assert named is not None
    assert named.group(1).split(", ") == list(default_images())


def test_unknown_roles_reload_nothing() -> None:
    assert not facts("no-such-role").can_reload
    assert facts("prometheus") is REGISTRY[Role.PROMETHEUS]
    assert facts("prometheus").self_watched_dirs == ("targets",)
