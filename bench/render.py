#!/usr/bin/env python3
"""Benchmark: validate and render time and peak memory for large specs, and CLI start-up time.

    python bench/render.py            # 1k, 10k and 50k targets (200 jobs, 500 rules, 20 receivers)

Prints figures; asserts nothing (speed goals live here, never in timed tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_spec(targets: int, jobs: int = 200, rules: int = 500, receivers: int = 20) -> dict:
    per_job = max(1, targets // jobs)
    return {
        "version": 1,
        "name": "bench",
        "targets": [
            {"job": f"job-{j}", "labels": {"team": f"team-{j % 7}", "env": "prod"},
             "targets": [f"10.{j // 250}.{j % 250}.{i % 250}:{9000 + i // 250}" for i in range(per_job)]}
            for j in range(jobs)
        ],
        "rules": {"groups": [
            {"name": f"group-{g}", "rules": [
                {"alert": f"Alert{g}x{r}", "expr": f'sum by (job) (rate(http_requests_total{{job="job-{r}",'
                 f'status=~"5.."}}[5m])) / sum by (job) '
                 f'(rate(http_requests_total{{job="job-{r}"}}[5m])) > 0.05',
                 "for": "5m", "labels": {"severity": "warning"},
                 "annotations": {"summary": "错误率过高 {{ $labels.job }}", "description": "{{ $value }}"}}
                for r in range(rules // 25)]}
            for g in range(25)
        ]},
        "receivers": [{"name": f"recv-{n}", "webhook": {"url": f"http://127.0.0.1:99{n:02d}/hook"}}
                      for n in range(receivers)],
        "route": {"receiver": "recv-0",
                  "routes": [{"matchers": [f'team="team-{n % 7}"'], "receiver": f"recv-{n}"}
                             for n in range(1, receivers)]},
    }


def timed(function):  # type: ignore[no-untyped-def]
    """Best of three wall-clock runs (no tracing overhead)."""
    best = float("inf")
    result = None
    for _ in range(3):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return result, best


def traced_peak(function) -> float:  # type: ignore[no-untyped-def]
    """Peak Python heap in MB during one run (a separate run: tracing slows the code down)."""
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def cli_render(spec_path: Path, out: Path) -> tuple[float, float]:
    """`stackgen render` end to end as a user runs it (incl. promtool/amtool checks): seconds, max RSS MB."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stackgen", "render", "-f", str(spec_path), "-o", str(out)],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(before, after) / 1024


def bench(targets: int, directory: Path) -> None:
    from ruamel.yaml import YAML

    from stackgen.api import load_stack, render_files, validate
    from stackgen.output import write_output

    spec_path = directory / f"stack-{targets}.yaml"
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with spec_path.open("w") as handle:
        yaml.dump(make_spec(targets), handle)
    size = spec_path.stat().st_size / 2**20
    _, validate_time = timed(lambda: validate(spec_path, {}))
    validate_memory = traced_peak(lambda: validate(spec_path, {}))
    stack = load_stack(spec_path, {})
    out = directory / f"out-{targets}"
    files, render_time = timed(lambda: render_files(stack, out))
    render_memory = traced_peak(lambda: render_files(stack, out))
    _, write_time = timed(lambda: write_output(files, out))
    cli_time, cli_rss = cli_render(spec_path, directory / f"cli-{targets}")
    print(f"{targets:>6} targets ({size:4.1f} MB spec, {len(files)} files): validate {validate_time:5.2f} s "
          f"({validate_memory:5.1f} MB heap) | render {render_time:5.2f} s ({render_memory:5.1f} MB heap) | "
          f"write {write_time:5.2f} s | CLI render end to end {cli_time:5.2f} s, max RSS {cli_rss:5.0f} MB")


def startup() -> None:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stackgen", "--help"], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        runs.append(time.perf_counter() - started)
    best, median = min(runs) * 1000, sorted(runs)[2] * 1000
    print(f"`stackgen --help` start-up: best {best:.0f} ms, median {median:.0f} ms")


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1_000, 10_000, 50_000]
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            bench(size, Path(directory))
    startup()


if __name__ == "__main__":
    main()
