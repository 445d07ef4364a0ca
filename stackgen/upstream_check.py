"""Ask the upstream tools whether they accept what was rendered, before anything is written.

promtool and amtool are the judges of their formats; stackgen never re-implements their checks. Where a
tool is not installed the check is skipped (the tests and CI always have them).

Running them costs ~0.2 s, so apply keeps a record (`record`): the digest of everything a verdict
depends on — these checks, the tools found (path, size, mtime) and the bytes of every file they read.
A check is skipped only when that digest is the one recorded after the last check passed, that is
when these exact bytes were already accepted by these exact tools.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from stackgen.errors import RejectedByUpstream
from stackgen.output import RenderedFile, write_file_atomically
from stackgen.render.dump import load_yaml, yaml_bytes

CHECK_RECORD = ".stackgen-checked"


def check_rendered(files: Mapping[str, RenderedFile], record: Path | None = None) -> list[str]:
    """Run the available upstream checkers over the files; return the names of the checks run.

    With `record` (a file): nothing runs when it holds the digest of these files and tools, and it is
    written after the checks pass.
    """
    promtool, amtool = shutil.which("promtool"), shutil.which("amtool")
    if not promtool and not amtool:
        return []
    if record is None:
        return _run_checks(files, promtool, amtool)
    digest = _inputs_digest(files, (promtool, amtool))
    if _read_record(record) == digest:
        return []  # these bytes already passed these tools
    ran = _run_checks(files, promtool, amtool)
    _write_record(record, digest)
    return ran


def _run_checks(files: Mapping[str, RenderedFile], promtool: str | None, amtool: str | None) -> list[str]:
    ran = []
    with tempfile.TemporaryDirectory(prefix="stackgen-check-") as directory:
        root = Path(directory)
        for path, file in files.items():
            if file.is_secret:
                continue
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.content)
        if promtool:
            configs = sorted((root / "prometheus").glob("prometheus*.yml"))
            rules = sorted((root / "prometheus" / "rules").rglob("*.yml"))
            for config in configs:
                # --syntax-only: the *_file secrets it names exist only inside the containers.
                try:
                    _run([promtool, "check", "config", "--syntax-only", str(config)], root, "promtool")
                except RejectedByUpstream as error:
                    if "consul_sd_configs not found" not in error.message:
                        raise
                    # Debian builds Prometheus without Consul discovery; upstream has it. Check the
                    # rest and say that this part went unchecked.
                    _strip_consul(config)
                    _run([promtool, "check", "config", "--syntax-only", str(config)], root, "promtool")
                    ran.append("promtool (without consul_sd_configs: this promtool was built without Consul)")
            if rules:
                _run([promtool, "check", "rules", *map(str, rules)], root, "promtool")
            web_configs = _stage_web_configs(files, root)
            if web_configs:
                _run([promtool, "check", "web-config", *map(str, web_configs)], root, "promtool")
            ran.append("promtool")
        config_path = root / "alertmanager" / "alertmanager.yml"
        if amtool and config_path.is_file():
            config = load_yaml(config_path.read_bytes())
            # Check the templates we ship too: point the glob at the temporary copy.
            config["templates"] = [str(root / "alertmanager" / "templates" / "*.tmpl")]
            config_path.write_bytes(yaml_bytes(config))
            _run([amtool, "check-config", str(config_path)], root, "amtool")
            ran.append("amtool")
    return ran


def _inputs_digest(files: Mapping[str, RenderedFile], tools: tuple[str | None, ...]) -> str:
    """What a verdict depends on: this module (the checks made), the tools, each file checked."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for tool in tools:
        try:
            status = os.stat(tool) if tool else None
        except OSError:
            status = None
        identity = f"{tool}\0{status.st_size}\0{status.st_mtime_ns}" if status else "-"
        digest.update(identity.encode() + b"\0")
    web_checked = set(_web_config_inputs(files))
    for path, file in sorted(files.items()):
        # secrets are never checked (nor hashed: a weak password's hash is one), except web configs
        # (bcrypt hashes) and the certificates and keys they name, which promtool reads
        if not file.is_secret or path in web_checked:
            digest.update(f"{path}\0".encode() + hashlib.sha256(file.content).digest())
    return digest.hexdigest()


def _web_config_inputs(files: Mapping[str, RenderedFile]) -> list[str]:
    """Rendered web configs (secrets/<role>/web.yml) and the secret files beside them they name."""
    from stackgen.render.web import WEB_CONFIG

    found = []
    for path in sorted(files):
        if path.startswith("secrets/") and path.endswith(f"/{WEB_CONFIG}"):
            directory = path.rsplit("/", 1)[0]
            found += [path, *(p for p in (f"{directory}/web.crt", f"{directory}/web.key") if p in files)]
    return found


def _stage_web_configs(files: Mapping[str, RenderedFile], root: Path) -> list[Path]:
    """Copies of the web configs for `promtool check web-config`, which loads the certificate pair
    they name: the in-container paths point at copies in the temporary directory."""
    from stackgen.render.topology import SECRETS_MOUNT
    from stackgen.render.web import WEB_CONFIG

    staged = []
    for path in _web_config_inputs(files):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        content = files[path].content
        if path.endswith(f"/{WEB_CONFIG}"):
            content = content.replace(SECRETS_MOUNT.encode(), str(target.parent).encode())
            staged.append(target)
        target.write_bytes(content)
        target.chmod(0o600)
    return staged


def _read_record(record: Path) -> str | None:
    try:
        return record.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None


def _write_record(record: Path, digest: str) -> None:
    """Best effort: without a record the next apply checks again."""
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(record, (digest + "\n").encode("ascii"))
    except OSError:
        return


def _strip_consul(config_path: Path) -> None:
    config = load_yaml(config_path.read_bytes())
    for job in config.get("scrape_configs", []):
        if job.pop("consul_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": []}]
    config_path.write_bytes(yaml_bytes(config))


def _run(command: list[str], root: Path, tool: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).replace(str(root) + "/", "")
        lines = [line for line in output.splitlines() if line.strip() and "SUCCESS" not in line]
        raise RejectedByUpstream(
            f"{tool} rejected the rendered files:\n  " + "\n  ".join(lines[-15:]),
            hint="this is the upstream tool's own message; fix the spec value it names",
        )
