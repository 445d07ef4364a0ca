"""The bad-spec corpus: every file in tests/bad_specs/ (and a few generated at test time) is refused with
exit 2, its FIRST problem at the right `FILE:LINE:COL: path: message`, no traceback, and `render` onto
an output dir holding a previous good render leaves every byte (and mode) of it alone.

Binary junk, non-UTF-8 text and the 50 MB file are generated here, never committed.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.core_helpers import BAD_SPECS, base_spec, run_main, run_stackgen, tree_digest, write_spec

# file -> (line, column, dotted path or "" for none, fragment of the message)
EXPECTED_FIRST: dict[str, tuple[int, int, str, str]] = {
    "01-wrong-type-port.yaml": (6, 9, "prometheus.port", "expected an integer, got 'ninety'"),
    "02-unknown-key-did-you-mean.yaml": (6, 3, "prometheus.scrape_intervall",
                                         "unknown key 'scrape_intervall' (did you mean 'scrape_interval'?)"),
    "03-bad-duration.yaml": (6, 20, "prometheus.scrape_interval", "a duration like"),
    "04-bad-promql.yaml": (10, 17, "rules.groups.0.rules.0.expr", "invalid PromQL"),
    "05-dangling-receiver.yaml": (8, 13, "route.receiver", "unknown receiver 'opps' (did you mean 'ops'?)"),
    "06-duplicate-jobs.yaml": (10, 10, "targets.2.job", "duplicate job 'api' (first defined on line 6)"),
    "07-duplicate-rule-groups.yaml": (11, 13, "rules.groups.1.name", "duplicate rule group 'same'"),
    "08-duplicate-receivers.yaml": (8, 11, "receivers.1.name", "duplicate receiver 'ops'"),
    "09-bad-label-name.yaml": (10, 7, "targets.0.labels.1env", "a Prometheus label name"),
    "10-bad-matcher.yaml": (10, 18, "route.routes.0.matchers.0", "invalid matcher 'severity ~ critical'"),
    "11-undefined-variable.yaml": (8, 12, "receivers.0.webhook.url",
                                   "undefined variable ${STACKGEN_TEST_SURELY_UNDEFINED}"),
    "12-tab-indentation.yaml": (4, 1, "", "invalid YAML"),
    "13-unclosed-quote.yaml": (6, 15, "", "invalid YAML"),
    "14-duplicate-key.yaml": (8, 3, "prometheus.port", "duplicate key 'port' (first on line 6)"),
    "15-empty.yaml": (1, 1, "", "the spec is empty"),
    "16-comments-only.yaml": (1, 1, "", "the spec is empty"),
    "17-top-level-list.yaml": (1, 1, "", "the spec must be a mapping"),
    "18-version-2.yaml": (1, 10, "version", "must be 1, got 2"),
    "19-bad-name.yaml": (2, 7, "name", "a project name of lowercase letters"),
    "20-port-out-of-range.yaml": (6, 9, "grafana.port", "must be at most 65535, got 70000"),
    "21-timeout-longer-than-interval.yaml": (7, 19, "prometheus.scrape_timeout",
                                             "longer than scrape_interval"),
    "22-url-as-scrape-target.yaml": (9, 9, "targets.0.targets.1", "a scrape target is host:port, not a URL"),
    "23-unknown-probe-module.yaml": (7, 13, "probes.0.module",
                                     "unknown blackbox module 'http_2xxx' (did you mean 'http_2xx'?)"),
    "24-probes-blackbox-disabled.yaml": (6, 13, "exporters.blackbox", "probes need the blackbox exporter"),
    "25-root-route-two-receivers.yaml": (9, 14, "route.receivers", "the root route takes one `receiver`"),
    "26-unknown-time-interval.yaml": (16, 31, "route.routes.0.active_time_intervals.0",
                                      "unknown time interval 'ofice-hours' (did you mean 'office-hours'?)"),
    "27-unknown-image-key.yaml": (8, 3, "images.promethues-server", "unknown service 'promethues-server'"),
    "28-missing-rules-file.yaml": (7, 7, "rules.files.0", "no such file: rules/there-is-no-such-file.yml"),
    "29-missing-name.yaml": (1, 1, "", "missing required key 'name'"),
    "30-targets-not-a-list.yaml": (7, 14, "targets.0.targets", "expected a list, got 'api:8080'"),
    "31-bad-enum-scheme.yaml": (7, 13, "targets.0.scheme", "must be one of http, https; got 'ftp'"),
    "32-receiver-channel-wrong-type.yaml": (7, 12, "receivers.0.email", "expected a mapping or a list"),
    "33-channel-list-item-missing-key.yaml": (9, 9, "receivers.0.webhook.1", "missing required key 'url'"),
    "34-rule-alert-and-record.yaml": (9, 11, "rules.groups.0.rules.0", "exactly one of `alert` or `record`"),
    "35-bad-regex-matcher.yaml": (6, 23, "inhibit_rules.0.source_matchers.0", "invalid regular expression"),
    "36-job-name-taken.yaml": (6, 10, "targets.0.job", "taken by the stack's own scrape job"),
    "37-listen-not-an-ip.yaml": (5, 9, "listen", "expected an IP address"),
    "38-port-collision.yaml": (8, 9, "grafana.port", "port 9090 is already published by prometheus.port"),
    "39-job-without-targets.yaml": (6, 5, "targets.0", "a job needs `targets`, `consul` or `dns`"),
    "40-unclosed-flow-list.yaml": (8, 3, "", "invalid YAML"),
    "41-bad-webhook-url.yaml": (7, 20, "receivers.0.webhook.url", "an http:// or https:// URL"),
    "42-unknown-rule-pack.yaml": (4, 30, "rules.include.1",
                                  "unknown rule pack 'nodes' (did you mean 'node'?)"),
    "43-bad-annotation-name.yaml": (12, 13, "rules.groups.0.rules.0.annotations.summary-text",
                                    "a Prometheus label name"),
    "44-bad-duration-in-rule.yaml": (11, 16, "rules.groups.0.rules.0.for", "a duration like"),
    "45-three-errors.yaml": (6, 9, "prometheus.port", "must be at most 65535, got 99999"),
    # What promtool, Prometheus or Alertmanager refuse or drop later (judged by promtool/amtool)
    "48-broken-annotation-template.yaml": (12, 22, "rules.groups.0.rules.0.annotations.summary",
                                           'invalid template: unexpected "}" in operand'),
    "49-target-with-a-path.yaml": (7, 9, "targets.0.targets.0",
                                   "write 'api:8080' and `metrics_path: /metrics` on the job"),
    "50-target-port-out-of-range.yaml": (6, 27, "targets.0.targets.1",
                                         "port 99999 of 'host:99999' is out of range"),
    "51-target-with-a-space.yaml": (7, 9, "targets.0.targets.0", "'bad host:99' has a space in it"),
    "52-broken-email-subject-template.yaml": (11, 18, "receivers.0.email.headers.Subject",
                                              'invalid template: function "upper" not defined'),
    "53-listen-without-users.yaml": (5, 9, "listen", "listen 0.0.0.0 would publish Prometheus, Alertmanager, "
                                     "Pushgateway, the relay and Grafana to the network without a password"),
    "54-short-web-password.yaml": (9, 12, "web.users.admin", "the password of web user 'admin' has 7 "
                                   "characters; at least 12 are needed"),
}

# Bad specs whose refusal is right but whose report is not (yet): name -> reason.
CORE_BUGS: dict[str, str] = {}

# Specs that must be refused in bounded time without a traceback, at a pinned place (HOSTILE_AT).
HOSTILE_YAML = ["46-alias-bomb.yaml", "47-recursive-alias.yaml"]

# Generated at test time: name -> bytes (or a writer for the big one).
GENERATED_EXPECTED: dict[str, tuple[int, int, str, str]] = {
    "90-binary-junk.yaml": (3, 1, "", "not UTF-8 text (byte 0x89)"),
    "91-not-utf8.yaml": (2, 10, "", "not UTF-8 text (byte 0xe9)"),
    "92-nul-byte.yaml": (2, 8, "", "binary data in the spec"),
    "93-fifty-megabytes.yaml": (1, 1, "", "MB"),
}


def _write_generated(name: str, path: Path) -> None:
    if name == "90-binary-junk.yaml":
        # A PNG header after two good lines, then seeded random bytes: the first bad byte is known.
        path.write_bytes(b"version: 1\nname: x\n\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(64 * 1024))
    elif name == "91-not-utf8.yaml":
        path.write_bytes("version: 1\nname: café\n".encode("latin-1"))
    elif name == "92-nul-byte.yaml":
        path.write_bytes(b"version: 1\nname: x\x00\n")
    elif name == "93-fifty-megabytes.yaml":
        with path.open("wb") as handle:
            handle.write(b"version: 1\nname: big\ntargets:\n")
            chunk = b"  - job: j\n    targets: ['a:1']\n" * 32768
            for _ in range(50 * 2**20 // len(chunk) + 1):
                handle.write(chunk)
    else:
        raise AssertionError(name)


def test_corpus_is_complete() -> None:
    """Every committed bad spec has an expectation, and the corpus is as big as promised."""
    committed = sorted(path.name for path in BAD_SPECS.glob("*.yaml"))
    assert sorted([*EXPECTED_FIRST, *HOSTILE_YAML]) == committed
    assert len(committed) + len(GENERATED_EXPECTED) >= 30




@pytest.fixture(scope="module")
def good_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output dir holding a previous good render (with secrets), rendered once for the module."""
    directory = tmp_path_factory.mktemp("good")
    spec = write_spec(directory, base_spec(
        name="good", receivers=[{"name": "mail", "email": {"to": "a@example.com", "from": "b@example.com",
                                                          "smarthost": "smtp.example.com:25",
                                                          "password": "good-secret"}}],
        targets=[{"job": "api", "targets": ["api:8080"]}]))
    completed = run_stackgen("render", "-f", str(spec), "-o", str(directory / "out"))
    assert completed.returncode == 0, completed.stderr
    return directory / "out"


def _check_refusal(name: str, expected: tuple[int, int, str, str], code: int, out: str, err: str) -> None:
    line, column, dotted, fragment = expected
    assert code == 2, f"exit {code}\n{err}"
    assert "Traceback" not in out + err
    # Warnings and notices pass validation; they are printed before the errors.
    first = next(line for line in err.splitlines() if not re.match(r"^\S+:\d+:\d+: (warning|notice): ", line))
    prefix = f"{name}:{line}:{column}: " + (f"{dotted}: " if dotted else "")
    assert first.startswith(prefix), f"expected {prefix!r}..., got {first!r}"
    assert fragment in first, f"{fragment!r} not in {first!r}"


def _render_leaves_output_alone(render: Callable[[Path], tuple[int, str, str]], good: Path,
                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(good, out, symlinks=True)
    before = tree_digest(out)
    code, stdout, stderr = render(out)
    assert code == 2, stderr
    assert "Traceback" not in stdout + stderr
    assert tree_digest(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".stackgen-")], "staging dir left behind"


def _params(names: list[str]) -> list[object]:
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=CORE_BUGS[name]))
            if name in CORE_BUGS else name for name in names]


@pytest.mark.parametrize("name", _params(sorted(EXPECTED_FIRST)))
def test_bad_spec_in_process(name: str, tmp_path: Path, good_render: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACKGEN_TEST_SURELY_UNDEFINED", raising=False)
    monkeypatch.delenv("STACKGEN_DEBUG", raising=False)
    shutil.copy(BAD_SPECS / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["validate", "-f", name], capsys)
    _check_refusal(name, EXPECTED_FIRST[name], code, out, err)
    _render_leaves_output_alone(lambda out_dir: run_main(["render", "-f", name, "-o", str(out_dir)], capsys),
                                good_render, tmp_path)


# A few as real subprocesses: the console script's own interpreter, stderr and exit code.
SUBPROCESS_CASES = ["02-unknown-key-did-you-mean.yaml", "12-tab-indentation.yaml", "15-empty.yaml",
                    "45-three-errors.yaml"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_spec_subprocess(name: str, tmp_path: Path, good_render: Path) -> None:
    shutil.copy(BAD_SPECS / name, tmp_path / name)
    completed = run_stackgen("validate", "-f", name, cwd=tmp_path)
    _check_refusal(name, EXPECTED_FIRST[name], completed.returncode, completed.stdout, completed.stderr)

    def render(out_dir: Path) -> tuple[int, str, str]:
        done = run_stackgen("render", "-f", name, "-o", str(out_dir), cwd=tmp_path)
        return done.returncode, done.stdout, done.stderr

    _render_leaves_output_alone(render, good_render, tmp_path)


@pytest.mark.parametrize("name", sorted(GENERATED_EXPECTED))
def test_generated_bad_spec_subprocess(name: str, tmp_path: Path, good_render: Path) -> None:
    _write_generated(name, tmp_path / name)
    completed = run_stackgen("validate", "-f", name, cwd=tmp_path)
    _check_refusal(name, GENERATED_EXPECTED[name], completed.returncode, completed.stdout, completed.stderr)

    def render(out_dir: Path) -> tuple[int, str, str]:
        done = run_stackgen("render", "-f", name, "-o", str(out_dir), cwd=tmp_path)
        return done.returncode, done.stdout, done.stderr

    _render_leaves_output_alone(render, good_render, tmp_path)


@pytest.mark.parametrize("name", HOSTILE_YAML)
def test_hostile_yaml_is_refused_quickly(name: str, tmp_path: Path) -> None:
    shutil.copy(BAD_SPECS / name, tmp_path / name)
    try:
        completed = run_stackgen("validate", "-f", name, cwd=tmp_path, timeout=10)
    except Exception as error:  # subprocess.TimeoutExpired: the loader is still expanding aliases
        pytest.fail(f"validate did not finish: {error}")
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith(f"{name}:{HOSTILE_AT[name]}"), completed.stderr


# Where the hostile specs are reported: where the expansion crosses the limit, and the key holding
# the looping alias (its anchor named in the hint).
HOSTILE_AT = {
    "46-alias-bomb.yaml": "11:6: x-bomb.g: this value expands (through aliases) to more than 1,000,000",
    "47-recursive-alias.yaml": "4:3: prometheus.external_labels: an alias inside the value it names",
}


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    depth = 3000
    (tmp_path / "deep.yaml").write_text("version: 1\nname: x\nlisten: " + "[" * depth + "]" * depth + "\n")
    completed = run_stackgen("validate", "-f", "deep.yaml", cwd=tmp_path, timeout=30)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("deep.yaml:3:9: listen: nested more than 100 levels deep")


def test_deeply_nested_block_yaml_is_refused_at_its_key(tmp_path: Path) -> None:
    """Block nesting past the parser's own limit (PyYAML >= 6.0.4 refuses 1000 levels itself)."""
    block = "".join("  " * level + "-\n" for level in range(1, 1500))
    (tmp_path / "deep.yaml").write_text("version: 1\nname: x\nlisten:\n" + block)
    completed = run_stackgen("validate", "-f", "deep.yaml", cwd=tmp_path, timeout=30)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert re.match(r"deep\.yaml:[34]:\d+: listen: nested more than 100 levels deep", completed.stderr)


def test_every_problem_is_reported_sorted_by_position(tmp_path: Path) -> None:
    """Three independent errors: all three, in file order, then the count."""
    name = "45-three-errors.yaml"
    shutil.copy(BAD_SPECS / name, tmp_path / name)
    completed = run_stackgen("validate", "-f", name, cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        f"{name}:6:9: prometheus.port: must be at most 65535, got 99999",
        f"{name}:10:13: targets.0.scheme: must be one of http, https; got 'gopher'",
        f"{name}:14:13: route.receiver: unknown receiver 'oops' (did you mean 'ops'?)",
        "stackgen: 3 problems in the spec",
    ]


def test_bad_specs_are_small_text_files() -> None:
    """The committed corpus stays reviewable: small UTF-8 text (binary cases are generated)."""
    for path in BAD_SPECS.glob("*.yaml"):
        data = path.read_bytes()
        assert len(data) < 4096, path
        data.decode("utf-8")
