"""How ``make chaos`` judges webhook delivery: a receiver on 127.0.0.1 that verifies and records
each delivery and can be taken down and brought back on its port, the events a project's stream
held (read from Redis directly), and the verdict: which were never delivered, and which servers'
events arrived out of order."""
import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.events.server_events import PUBLIC_TYPES
from app.events.stream import START, position_key
from app.store import redis_layout as layout
from app.store.redis_layout import EventField
from app.store.redis_values import decode

from .localredis import free_port


class ChaosReceiver:
    """Answers 204 to each delivery whose signature verifies (400 otherwise) and records the
    event ids in the order they arrived; ``down`` closes its port (connections are refused)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""  # the subscription's, once it is made
        self.arrivals: list[str] = []
        self.rejected = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The subscription's URL."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def up(self) -> None:
        """Listen (again) on its port."""
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        """Stop listening: deliveries meet a refused connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def delivered(self) -> set[str]:
        """The ids of the events that arrived at least once."""
        return set(self.arrivals)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.rejected += 1
            return web.Response(status=400)
        self.arrivals.append(str(event["id"]))
        return web.Response(status=204)


@dataclass
class StreamWitness:
    """A project's public events (those webhooks deliver) as its Redis stream held them after
    ``start``: each id once, in stream order, with its server. ``read`` again and again, it knows
    entries trimmed since."""

    project_id: str
    start: str = START
    servers: dict[str, str] = field(default_factory=dict)  # event id → server id, in stream order

    async def read(self, redis_url: str) -> None:
        """Add what the stream holds after the last entry read."""
        async with aioredis.Redis.from_url(redis_url) as redis:
            entries = await redis.xrange(layout.events(self.project_id), f"({self.start}", "+")
        for position, fields in entries:
            values = {decode(k): decode(v) for k, v in fields.items()}
            if values[EventField.TYPE] in PUBLIC_TYPES:
                self.servers.setdefault(values[EventField.ID], values[EventField.SERVER_ID])
            self.start = max(self.start, decode(position), key=position_key)

    async def follow(self, redis_url: str, stop: asyncio.Event, every: float = 0.1) -> None:
        """``read`` every ``every`` seconds until ``stop`` is set (Redis away: tried again)."""
        while not stop.is_set():
            with contextlib.suppress(aioredis.RedisError, OSError):
                await self.read(redis_url)
            await asyncio.sleep(every)

    async def mark_start(self, redis_url: str) -> None:
        """Judge only events appended from now on."""
        async with aioredis.Redis.from_url(redis_url) as redis:
            last = await redis.xrevrange(layout.events(self.project_id), "+", "-", count=1)
        self.start = decode(last[0][0]) if last else START


@dataclass(frozen=True)
class Verdict:
    """Delivery judged against the stream: events never delivered, servers whose events arrived
    in another order than the stream's, and how many events were judged."""

    missing: list[str]
    disordered: list[str]
    events: int

    def summary(self) -> str:
        """``N/M delivered, K servers out of order``."""
        return (f"{self.events - len(self.missing)}/{self.events} delivered, "
                f"{len(self.disordered)} servers' events out of order")

    @property
    def met(self) -> bool:
        """Every event delivered, each server's in order."""
        return self.events > 0 and not self.missing and not self.disordered


def judge(witness: StreamWitness, receiver: ChaosReceiver) -> Verdict:
    """Every event the stream held, delivered; each server's first arrivals in stream order."""
    delivered = receiver.delivered()
    missing = [event_id for event_id in witness.servers if event_id not in delivered]
    in_stream: dict[str, list[str]] = collections.defaultdict(list)
    for event_id, server_id in witness.servers.items():
        in_stream[server_id].append(event_id)
    first_arrivals = list(dict.fromkeys(receiver.arrivals))
    disordered = [server_id for server_id, events in in_stream.items()
                  if [e for e in first_arrivals if e in set(events)] != [e for e in events if e in delivered]]
    return Verdict(missing, disordered, len(witness.servers))


async def delivered_within(witness: StreamWitness, receiver: ChaosReceiver, redis_url: str,
                           timeout: float) -> float:
    """Seconds until every event the stream holds has arrived (``timeout`` if some never did)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        await witness.read(redis_url)
        if not judge(witness, receiver).missing:
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - started
