"""Clocks, and ISO 8601 times as Nova writes them (``2026-11-27T05:31:00Z``)."""
from collections.abc import Callable
from datetime import UTC, datetime

# A wall clock in UNIX seconds; ``time.time`` in production, a hand-moved one in tests.
Clock = Callable[[], float]


def iso(timestamp: float) -> str:
    """A UNIX time as an ISO 8601 UTC time with seconds."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """An ISO 8601 time (``Z`` or an offset; none means UTC) as a UNIX time; ValueError if bad."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
