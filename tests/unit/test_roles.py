"""The role registry is the one source of a role's facts: the README, the schema and the renderers
agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from stackgen.roles import REGISTRY, Role, addon_roles, default_images, facts
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


def test_an_add_on_role_is_named_only_by_its_entry_and_its_renderer() -> None:
    """Adding an add-on role touches roles.py, its renderer module and its data (schema, README):
    no other module of the package names it (ARCHITECTURE.md, 'Adding a role')."""
    addons = addon_roles()
    assert addons, "the registry shows the add-on mechanism with at least one role"
    package = ROOT / "stackgen"
    for role, addon in addons.items():
        renderer = package.joinpath(*addon.renderer.split(".")[1:]).with_suffix(".py")
        assert renderer.is_file(), addon.renderer
        names = re.compile(rf"{re.escape(role.value)}|{re.escape(addon.settings)}|\b{role.name}\b")
        naming = sorted(
            str(path.relative_to(package))
            for path in package.rglob("*.py")
            if path not in (package / "roles.py", renderer) and names.search(path.read_text())
        )
        assert naming == [], f"{role.value} is named outside its entry and renderer"
        assert addon.settings in schema()["properties"]
        assert set(addon.published_ports) <= set(schema()["properties"][addon.settings]["properties"])
