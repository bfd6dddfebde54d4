"""The emulator's clock: wall time that tests may move forward."""
import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock seconds plus an offset that the control API can advance."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Current emulated time as a UNIX timestamp."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move emulated time forward and return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()


def whole_seconds(timestamp: float) -> int:
    """Truncate to the one-second resolution of Nova's database columns."""
    return int(timestamp)


def isotime(timestamp: float) -> str:
    """Format like Nova, Glance and Neutron do: ``2026-11-27T05:31:00Z``."""
    moment = datetime.fromtimestamp(whole_seconds(timestamp), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def keystone_isotime(timestamp: float) -> str:
    """Format like Keystone does for ``expires_at``: microseconds and a ``Z``."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_isotime(text: str) -> float:
    """Parse an ISO 8601 time as Nova accepts it; a time without offset is UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
