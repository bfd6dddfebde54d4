"""``GET /cloud/events``: the project's events as Server-Sent Events, live.

Each event's SSE id is its position in the project's stream, so ``Last-Event-ID`` resumes right
after it; if the stream no longer reaches back that far, a ``gap`` event says so first. All
listeners of a process share one read of Redis (``EventFeed``).
"""
import asyncio
import contextlib
import json

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from ...access.scope import LIVE_READS
from ...core.errors import InvalidRequest
from ...events.server_events import PUBLIC_TYPES
from ...events.stream import START, StoredEvent, is_position, position_key
from ..appkeys import EVENT_FEED, HTTP_METRICS, SERVICES, SETTINGS
from ..authorization import authorized_query
from ..edge import edge_headers
from ..webhook_schemas import EventsQuerySchema

_QUERY = EventsQuerySchema()
GAP = "gap"


def last_event_id_of(request: web.Request) -> str | None:
    """The ``Last-Event-ID`` to resume after; 400 unless a stream position (``<ms>-<n>``)."""
    last = request.headers.get("Last-Event-ID")
    if last is not None and not is_position(last.strip()):
        raise InvalidRequest("Last-Event-ID must be the id of an event of this stream.",
                             {"Last-Event-ID": ["Not an event id of this stream."]})
    return None if last is None else last.strip()


class _Sender:
    """Sends the events a listener asked for, each once, in stream order."""

    def __init__(self, response: EventSourceResponse, types: tuple[str, ...], after: str) -> None:
        self._response = response
        self._types = types
        self.sent = after

    async def send(self, event: StoredEvent) -> None:
        if position_key(event.position) <= position_key(self.sent):
            return
        if event.type in self._types:
            await self._response.send(json.dumps(event.payload(), separators=(",", ":")),
                                      id=event.position, event=event.type)
        self.sent = event.position


async def stream_events(request: web.Request) -> web.StreamResponse:
    """The project's events from now on (or after ``Last-Event-ID``), with a heartbeat comment."""
    query = await authorized_query(request, _QUERY, LIVE_READS)
    project_id, last = query["project_id"], last_event_id_of(request)
    events = request.app[SERVICES].events
    async with request.app[EVENT_FEED].listen(project_id) as listener:
        response = EventSourceResponse(ping_interval=request.app[SETTINGS].events_heartbeat,
                                       headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                                **edge_headers()})
        start = last if last is not None else request.app[EVENT_FEED].position(project_id) or START
        if last is not None and await events.lost_after(project_id, last):
            start = START
            gap = True
        else:
            gap = False
        await response.prepare(request)
        gauge = request.app[HTTP_METRICS].event_streams
        gauge.inc()
        closed = asyncio.ensure_future(response.wait())  # ends when the client goes away
        try:
            sender = _Sender(response, query.get("types") or PUBLIC_TYPES, start)
            if gap:
                await response.send(json.dumps({"last_event_id": last, "detail": (
                    "Events after this id are no longer kept; some were missed.")}), event=GAP)
            if last is not None:
                while batch := await events.after(project_id, sender.sent):
                    for event in batch:
                        await sender.send(event)
            while True:
                arrival = asyncio.ensure_future(listener.queue.get())
                await asyncio.wait({arrival, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not arrival.done():
                    arrival.cancel()
                    break
                arrived = arrival.result()
                if arrived is None:  # too slow to keep up, or the service is stopping
                    break
                await sender.send(arrived)
        except ConnectionResetError:
            pass
        finally:
            gauge.dec()
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await closed
    return response
