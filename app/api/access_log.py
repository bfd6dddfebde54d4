"""The access log, lean: each request's line is built once, straight to JSON (the same shape as
every other log line, without a ``LogRecord`` or a formatter), kept in a buffer, and written to
stderr off the event loop at least every ``FLUSH_EVERY`` seconds and at shutdown."""
import asyncio
import contextlib
import logging
import sys
import time

from ..core.logs import encoded_line, line_start, log_time

ACCESS_LOGGER = "app.access"
# Seconds a line may wait in the buffer. Short, so that each write is small: a second's lines at
# ten thousand requests a second are megabytes, whose join and write stalled the event loop long
# enough to show in the p99 of the requests around it.
FLUSH_EVERY = 0.1


class AccessLog:
    """Buffered access lines; on when the ``app.access`` logger takes INFO (``LOG_LEVEL``)."""

    def __init__(self) -> None:
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._lines: list[bytes] = []
        self._second, self._second_text = -1, ""  # the time's text up to its second, made once a second

    def _now(self) -> str:
        """``log_time`` of now, its text up to the second made once a second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._second_text = second, log_time(second)[:19]
        return f"{self._second_text}.{int((now - second) * 1000):03d}+00:00"

    def write(self, method: str, route: str, path: str, status: int, duration_ms: float,
              caller: str | None) -> None:
        """Buffer one request's line: its method, path, status and time in the message, and each
        as a field of its own, with the route and the caller."""
        if not self._logger.isEnabledFor(logging.INFO):
            return
        entry: dict[str, object] = line_start(self._now(), "INFO", ACCESS_LOGGER,
                                              f"{method} {path} {status} {duration_ms} ms")
        entry.update(method=method, route=route, path=path, status=status, duration_ms=duration_ms,
                     caller=caller)  # none of them a name line_start gives
        self._lines.append(encoded_line(entry))

    def flush(self) -> None:
        """Write what is buffered now (at shutdown, and from the flushing thread)."""
        lines, self._lines = self._lines, []
        if lines:
            _write(lines)

    async def keep_flushing(self, stop: asyncio.Event) -> None:
        """Write the buffer from a thread every ``FLUSH_EVERY`` s until ``stop``; then the rest."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_EVERY)
            lines, self._lines = self._lines, []
            if lines:
                await asyncio.to_thread(_write, lines)
        self.flush()


def _write(lines: list[bytes]) -> None:
    """The lines, joined and written in the calling thread (the flushing one: off the loop), as
    bytes to stderr's own buffer when it has one (no text layer to encode them, holding the GIL)."""
    stream = sys.stderr  # as the service's logging handler writes (looked up now: tests swap it)
    data = b"".join(lines)
    binary = getattr(stream, "buffer", None)
    if binary is None:
        stream.write(data.decode())
        stream.flush()
        return
    stream.flush()  # what the other lines left in the text layer goes first
    binary.write(data)
    binary.flush()
