"""Templates in the spec, judged by what will run them: promtool for the Go templates of alerting rules
(annotations and labels), amtool for Alertmanager's (template files, templated email fields), and the
relay's own Jinja2 environment for its message templates.

Go templates are parsed with the function set of the program that runs them (Prometheus has `humanize`
and `query`, Alertmanager `toUpper` and `safeHtml`), so the upstream tools are the only sound judges;
like `render`, validation skips a tool that is not installed. promtool is started before the other
checks run and read after them: its ~50 ms start-up then costs no wall time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.problems import Path as DataPath
from stackgen.spec.problems import Problem

# Email fields Alertmanager executes as templates (the others are addresses and settings).
EMAIL_TEMPLATED = ("to", "from", "hello")
# `group "g", rule 3, "t2": annotation "summary": template: __alert_t2:1: unexpected "}" in operand`
_PROMTOOL_TEMPLATE_ERROR = re.compile(
    r'"t(?P<index>\d+)": (?P<kind>annotation|label) "(?P<key>[^"]*)": '
    r"template: [^:]*:(?P<line>\d+): (?P<message>.*)$"
)
# `FAILED: template: f3.tmpl:1: function "nosuchfunc" not defined`
_AMTOOL_TEMPLATE_ERROR = re.compile(r"template: (?P<file>[^:]+):(?P<line>\d+):(?: (?P<message>.*))?$")
_MAX_AMTOOL_RUNS = 10  # amtool reports one broken template per run


@dataclass(frozen=True)
class TemplateText:
    """A template string of the spec (or of an included rule file) and where it is."""

    spec: LoadedSpec
    path: DataPath
    text: str
    hint: str

    def problem(self, message: str, line: int) -> Problem:
        where = f" (line {line} of the template)" if line > 1 else ""
        return self.spec.problem(self.path, f"invalid template{where}: {message}", self.hint)


PROMETHEUS_HINT = "a Prometheus template: {{ $labels.instance }}, {{ $value | humanize }}"
ALERTMANAGER_HINT = "an Alertmanager template: {{ .CommonLabels.alertname }}, {{ .Alerts.Firing | len }}"


def rule_templates(spec: LoadedSpec, groups: Any, prefix: DataPath) -> list[TemplateText]:
    """Annotations and labels of the alerting rules in `groups` (at `prefix` in `spec`) that hold `{{`."""
    found = []
    for g_index, group in enumerate(groups if isinstance(groups, list) else []):
        rules = group.get("rules") if isinstance(group, Mapping) else None
        for r_index, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, Mapping) or "alert" not in rule:
                continue  # Prometheus expands templates in alerting rules only
            for kind in ("labels", "annotations"):
                values = rule.get(kind)
                for key, value in values.items() if isinstance(values, Mapping) else ():
                    if isinstance(value, str) and "{{" in value:
                        place = (*prefix, g_index, "rules", r_index, kind, key)
                        found.append(TemplateText(spec, place, value, PROMETHEUS_HINT))
    return found


def alertmanager_templates(spec: LoadedSpec, data: Mapping[str, Any]) -> list[TemplateText]:
    """Email fields and headers that hold `{{`: Alertmanager executes them for every notification."""
    found = []
    receivers = data.get("receivers")
    for index, receiver in enumerate(receivers if isinstance(receivers, list) else []):
        email = receiver.get("email") if isinstance(receiver, Mapping) else None
        entries = (
            [((), email)]
            if isinstance(email, Mapping)
            else list(enumerate(email))
            if isinstance(email, list)
            else []
        )
        for sub, settings in entries:
            if not isinstance(settings, Mapping):
                continue
            base = ("receivers", index, "email", *((sub,) if sub != () else ()))
            fields: list[tuple[DataPath, Any]] = [((key,), settings.get(key)) for key in EMAIL_TEMPLATED]
            headers = settings.get("headers")
            fields += [
                (("headers", name), value)
                for name, value in (headers.items() if isinstance(headers, Mapping) else ())
            ]
            for key_path, value in fields:
                texts = value if isinstance(value, list) else [value]
                for t_index, text in enumerate(texts):
                    if isinstance(text, str) and "{{" in text:
                        where = (*base, *key_path, *((t_index,) if isinstance(value, list) else ()))
                        found.append(TemplateText(spec, where, text, ALERTMANAGER_HINT))
    return found


class GoTemplateCheck:
    """promtool (started at once) and amtool over the spec's Go templates; `problems()` collects."""

    def __init__(
        self,
        rules: list[TemplateText],
        notifications: list[TemplateText],
        template_files: Sequence[tuple[LoadedSpec, DataPath, Path]],
    ) -> None:
        # The verdict depends on the text alone: each distinct text is judged once (specs repeat them).
        self._rules: dict[str, list[TemplateText]] = {}
        for entry in rules:
            self._rules.setdefault(entry.text, []).append(entry)
        self._notifications = notifications
        self._files = template_files
        self._directory = tempfile.TemporaryDirectory(prefix="stackgen-templates-")
        self._promtool: subprocess.Popen[str] | None = None
        promtool = shutil.which("promtool")
        if rules and promtool:
            from stackgen.render.dump import json_bytes

            # One alert per text, named by its index: promtool names the rule in its message.
            group = {
                "name": "templates",
                "rules": [
                    {"alert": f"t{index}", "expr": "vector(1)", "annotations": {"text": text}}
                    for index, text in enumerate(self._rules)
                ],
            }
            rules_file = Path(self._directory.name) / "templates.yml"
            rules_file.write_bytes(json_bytes({"groups": [group]}))  # JSON is YAML
            self._promtool = subprocess.Popen(
                [promtool, "check", "rules", str(rules_file)],
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )

    def problems(self) -> list[Problem]:
        """Every template the tools refuse, at its place in the spec (or in its file)."""
        try:
            return [*self._promtool_problems(), *self._amtool_problems()]
        finally:
            self._directory.cleanup()

    def _promtool_problems(self) -> Iterator[Problem]:
        if self._promtool is None:
            return
        output, _ = self._promtool.communicate()
        if self._promtool.returncode == 0:
            return
        texts = list(self._rules)
        for line in output.splitlines():
            match = _PROMTOOL_TEMPLATE_ERROR.search(line)
            if match and int(match.group("index")) < len(texts):
                for entry in self._rules[texts[int(match.group("index"))]]:
                    yield entry.problem(match.group("message"), int(match.group("line")))

    def _amtool_problems(self) -> Iterator[Problem]:
        amtool = shutil.which("amtool")
        if not amtool or not (self._notifications or self._files):
            return
        root = Path(self._directory.name) / "alertmanager"
        root.mkdir()
        # A template file's own text is a template named after the file: each field becomes one.
        places: dict[str, tuple[LoadedSpec, DataPath, str | None]] = {}
        globs = []
        for index, entry in enumerate(self._notifications):
            (root / f"field-{index}.tmpl").write_text(entry.text, encoding="utf-8")
            places[f"field-{index}.tmpl"] = (entry.spec, entry.path, None)
            globs.append(str(root / f"field-{index}.tmpl"))
        for spec, path, file in self._files:
            places.setdefault(file.name, (spec, path, file.name))
            globs.append(str(file.resolve()))  # Alertmanager reads paths relative to its config
        for _ in range(_MAX_AMTOOL_RUNS):
            failure = _amtool_failure(amtool, root, globs)
            if failure is None or failure[0] not in places:
                return
            name, line, message = failure
            spec, path, file_name = places.pop(name)
            if file_name is None:
                entry = next(e for e in self._notifications if e.spec is spec and e.path == path)
                yield entry.problem(message, line)
            else:
                yield spec.problem(
                    path, f"invalid template in {file_name}, line {line}: {message}", ALERTMANAGER_HINT
                )
            globs = [glob for glob in globs if Path(glob).name != name]
            if not globs:
                return


def _amtool_failure(amtool: str, root: Path, globs: list[str]) -> tuple[str, int, str] | None:
    """(template file name, line, message) of the first template amtool refuses; None if it accepts all."""
    from stackgen.render.dump import json_bytes

    config = root.parent / "alertmanager.yml"
    config.write_bytes(
        json_bytes({"route": {"receiver": "x"}, "receivers": [{"name": "x"}], "templates": globs})
    )
    completed = subprocess.run(
        [amtool, "check-config", str(config)], capture_output=True, text=True, check=False
    )
    if completed.returncode == 0:
        return None
    for line in (completed.stdout + completed.stderr).splitlines():
        match = _AMTOOL_TEMPLATE_ERROR.search(line)
        if match:
            return match.group("file"), int(match.group("line")), (match.group("message") or "").strip()
    return None


def relay_template_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """A relay channel's `template:` must compile in the relay's Jinja2 environment."""
    receivers = data.get("receivers")
    for index, receiver in enumerate(receivers if isinstance(receivers, list) else []):
        for kind, value in receiver.items() if isinstance(receiver, Mapping) else ():
            for sub, settings in enumerate(value) if isinstance(value, list) else [(None, value)]:
                name = settings.get("template") if isinstance(settings, Mapping) else None
                file = spec.path.parent / name if isinstance(name, str) else None
                if file is None or not file.is_file():
                    continue  # a missing file is reported with the other files
                from stackgen.relay.messages import TemplateProblem, check_templates

                try:
                    check_templates([file])
                except TemplateProblem as error:
                    message = str(error).replace(f"template {file}", f"template {name}", 1)
                    path = ("receivers", index, kind, *((sub,) if sub is not None else ()), "template")
                    yield spec.problem(path, f"invalid Jinja2 {message}")
