"""The current time as every part takes it: timezone-aware UTC (stackgen.pki re-exports it).

Its own module so that asking the time does not import `cryptography` with stackgen.pki: a no-op
apply of a stack without TLS would pay ~0.13 s for it.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """The current time, timezone-aware (what stackgen.pki's functions take as `now`)."""
    return dt.datetime.now(dt.timezone.utc)
