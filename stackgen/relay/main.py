"""Start the relay: used by `python3 -m stackgen.relay` (the image) and `stackgen relay` (the CLI)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

DEFAULT_CONFIG = "/etc/stackgen-relay/relay.yml"


def run(config: Path, log_level: str = "info") -> int:
    """Serve until stopped; an unusable configuration is one line on stderr and exit code 2."""
    from stackgen.errors import StackgenError
    from stackgen.relay.messages import TemplateProblem

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from stackgen.relay.server import serve

    try:
        serve(config)
    except (StackgenError, TemplateProblem) as error:
        print(f"stackgen relay: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"stackgen relay: cannot listen: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line without click (the relay image may not have it)."""
    parser = argparse.ArgumentParser(prog="stackgen relay", description="Run the notification relay.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="path of relay.yml")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    return run(args.config, args.log_level)
