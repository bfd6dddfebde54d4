"""A bounded log of every request the emulator answered, for tests to assert on."""
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request."""

    seq: int
    started: float
    at: float
    method: str
    path: str
    query: str
    service: str
    project_id: str | None
    status: int


class RequestLog:
    """The most recent requests, oldest first, each with a sequence number."""

    def __init__(self, size: int) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=size)
        self._seq = 0

    def record(self, **fields: Any) -> None:
        """Append a request."""
        self._seq += 1
        self._entries.append(LoggedRequest(seq=self._seq, **fields))

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest request (0 when empty)."""
        return self._seq

    def query(self, project_id: str | None = None, service: str | None = None,
              after: int = 0) -> list[dict[str, Any]]:
        """Requests newer than ``after``, optionally of one project and service."""
        return [asdict(e) for e in self._entries
                if e.seq > after
                and project_id in (None, e.project_id)
                and service in (None, e.service)]
