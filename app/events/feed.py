"""One process's live feed of events: a single blocking read of the streams that have listeners,
shared by every listener, so a thousand listeners cost Redis what one does."""
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from redis.exceptions import RedisError

from .stream import EventStream, StoredEvent

logger = logging.getLogger(__name__)
READ_BLOCK = 1.0  # seconds a read waits for new events before it takes in new projects
RETRY_PAUSE = 1.0
QUEUE_SIZE = 1000  # events a listener may fall behind before it is let go (it resumes by id)


class Listener:
    """One listener's queue of the events of one project; ``None`` ends it (too slow, closing)."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, event: StoredEvent | None) -> None:
        """Queue ``event``; a listener that has fallen ``QUEUE_SIZE`` behind is ended."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventFeed:
    """Reads the streams of the projects with listeners and hands each event to their listeners."""

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream
        self._listeners: dict[str, set[Listener]] = {}
        self._positions: dict[str, str] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @contextlib.asynccontextmanager
    async def listen(self, project_id: str) -> AsyncIterator[Listener]:
        """A listener for the events of ``project_id`` that follow the stream's latest now."""
        listener = Listener(project_id)
        if self._closed:
            listener.offer(None)
        if project_id not in self._listeners:
            position = await self._stream.last_position(project_id)
            self._positions.setdefault(project_id, position)  # another listener may have come
            self._listeners.setdefault(project_id, set())
        self._listeners[project_id].add(listener)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())
        try:
            yield listener
        finally:
            self._listeners[project_id].discard(listener)
            if not self._listeners[project_id]:
                del self._listeners[project_id]
                self._positions.pop(project_id, None)

    def position(self, project_id: str) -> str | None:
        """The position the feed has read the project's stream up to (None if not read)."""
        return self._positions.get(project_id)

    async def close(self) -> None:
        """End every listener and stop reading."""
        self._closed = True
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.offer(None)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        while self._listeners and not self._closed:
            positions = dict(self._positions)
            try:
                events = await self._stream.wait_after(positions, READ_BLOCK)
            except RedisError as error:
                logger.warning("the event feed cannot read Redis: %s", error)
                await asyncio.sleep(RETRY_PAUSE)
                continue
            except Exception:
                logger.exception("the event feed failed to read; retrying")
                await asyncio.sleep(RETRY_PAUSE)
                continue
            for event in events:
                if event.project_id in self._positions:
                    self._positions[event.project_id] = event.position
                for listener in self._listeners.get(event.project_id, ()):
                    listener.offer(event)
