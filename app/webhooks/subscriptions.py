"""Webhook subscriptions: per project, each with its URL, the event types it wants and its
secrets (encrypted; during a rotation the old secret signs beside the new one for a while)."""
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from ..core.times import Clock
from ..events.server_events import PING
from ..store import redis_layout as layout
from ..store.redis_layout import WebhookField
from ..store.redis_values import decode, decode_fields
from ..store.replication import ReplicatedWrites
from .secret_box import SecretBox, new_secret

ROTATION_OVERLAP = 24 * 3600.0  # how long a replaced secret keeps signing
GONE = "The endpoint answered 410 Gone."

# KEYS: the project's subscriptions, the new one, the cursor (one project: one cluster slot).
# ARGV: limit, id, creation time, stream position, then field, value pairs.
# Answers 0 if the project is at its limit.
_CREATE = """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('SET', KEYS[3], ARGV[4], 'NX')
return 1
"""
# KEYS: the subscription. ARGV: the sealed secrets expected, then the new ones. 1 if replaced.
_RESEAL = f"""
if redis.call('HGET', KEYS[1], '{WebhookField.SECRETS}') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], '{WebhookField.SECRETS}', ARGV[2])
return 1
"""
# KEYS: the subscription. ARGV: field, value pairs. Writes only a subscription that exists.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class SubscriptionLimit(Exception):
    """The project has as many subscriptions as it may."""


@dataclass(frozen=True)
class Subscription:
    """One webhook subscription."""

    id: str
    project_id: str
    url: str
    events: tuple[str, ...]
    description: str | None
    created_at: float
    disabled_reason: str | None = None
    disabled_at: float | None = None
    failing_since: float | None = None
    pending_deliveries: int = 0
    sealed_secrets: str = field(default="", repr=False)

    @property
    def enabled(self) -> bool:
        """Whether deliveries go out to it."""
        return self.disabled_reason is None

    def wants(self, event_type: str) -> bool:
        """Whether it subscribed to events of this type (every subscription gets pings)."""
        return event_type == PING or event_type in self.events


class SubscriptionStore:
    """Keeps the subscriptions of every project in Redis."""

    def __init__(self, redis: Redis, box: SecretBox | None, clock: Clock = time.time,
                 replicated: ReplicatedWrites | None = None) -> None:
        self._redis = redis
        self._replicated = replicated or ReplicatedWrites(redis, wait_ms=0)
        self._box = box
        self._clock = clock
        self._create = redis.register_script(_CREATE)
        self._update = redis.register_script(_UPDATE)
        self._reseal = redis.register_script(_RESEAL)

    @property
    def box(self) -> SecretBox:
        """The secrets' encryption (``RuntimeError`` when no keys are configured)."""
        if self._box is None:
            raise RuntimeError("WEBHOOK_KEYS_FILE is not set: webhooks cannot be used")
        return self._box

    @property
    def configured(self) -> bool:
        """Whether webhook secrets can be sealed (``WEBHOOK_KEYS_FILE`` is set)."""
        return self._box is not None

    async def create(self, project_id: str, url: str, events: list[str], description: str | None,
                     limit: int, position: str) -> tuple[Subscription, str]:
        """A new subscription and its secret (the only time the secret is shown); events before
        ``position`` (the stream's latest now) are not delivered to it."""
        secret = new_secret()
        subscription = Subscription(id=uuid.uuid4().hex, project_id=project_id, url=url,
                                    events=tuple(events), description=description,
                                    created_at=self._clock(),
                                    sealed_secrets=self._seal([{"secret": secret, "expires_at": None}]))
        stored = _fields(subscription)
        # First the project joins the set the senders fan out to (another slot on a cluster):
        # a subscription is never without it, and a project there without one costs nothing.
        async with self._replicated.pinned() as redis:  # the 201 promises it: on a replica first
            await redis.sadd(layout.WEBHOOK_PROJECTS, project_id)
            made = await self._create(
                keys=[layout.webhooks(project_id), layout.webhook(project_id, subscription.id),
                      layout.webhook_cursor(project_id)],
                args=[limit, subscription.id, repr(subscription.created_at), position,
                      *[value for pair in stored.items() for value in pair]], client=redis)
        if not made:
            raise SubscriptionLimit(f"The project has {limit} subscriptions, as many as it may.")
        return subscription, secret

    async def of_project(self, project_id: str) -> list[Subscription]:
        """The project's subscriptions, oldest first."""
        ids = [decode(i) for i in await self._redis.zrange(layout.webhooks(project_id), 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for subscription_id in ids:
                pipe.hgetall(layout.webhook(project_id, subscription_id))
            found = await pipe.execute()
        return [_subscription(project_id, subscription_id, decode_fields(stored))
                for subscription_id, stored in zip(ids, found, strict=True) if stored]

    async def get(self, project_id: str, subscription_id: str) -> Subscription | None:
        """One subscription of the project, if it has it."""
        stored = await self._redis.hgetall(layout.webhook(project_id, subscription_id))
        return _subscription(project_id, subscription_id, decode_fields(stored)) if stored else None

    async def delete(self, project_id: str, subscription_id: str) -> bool:
        """Remove the subscription with its undelivered events and its log; False if not there."""
        lanes = await self._redis.smembers(layout.webhook_lanes(project_id, subscription_id))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(layout.webhooks(project_id), subscription_id)
            pipe.delete(layout.webhook(project_id, subscription_id),
                        layout.webhook_due(project_id, subscription_id),
                        layout.webhook_lanes(project_id, subscription_id),
                        layout.webhook_attempts(project_id, subscription_id),
                        *[layout.webhook_lane(project_id, subscription_id, decode(lane))
                          for lane in lanes])
            removed, _ = await pipe.execute()
        return bool(removed)

    async def with_webhooks(self, project_ids: list[str]) -> list[str]:
        """Those of the projects that have (or had) subscriptions."""
        if not project_ids:
            return []
        have = await self._redis.smismember(layout.WEBHOOK_PROJECTS, project_ids)
        return [project_id for project_id, has in zip(project_ids, have, strict=True) if has]

    async def projects(self) -> list[str]:
        """The projects that have (or had) subscriptions."""
        return sorted(decode(p) for p in await self._redis.smembers(layout.WEBHOOK_PROJECTS))

    def signing_secrets(self, subscription: Subscription) -> list[str]:
        """The secrets that sign its deliveries now: the newest first, then any still overlapping."""
        now = self._clock()
        return [entry["secret"] for entry in self._open(subscription)
                if entry["expires_at"] is None or entry["expires_at"] > now]

    async def rotate(self, subscription: Subscription) -> tuple[str, float]:
        """A new secret for the subscription; the ones before it sign for ``ROTATION_OVERLAP``
        more seconds. Returns the secret and when the old ones stop signing."""
        now = self._clock()
        ends = now + ROTATION_OVERLAP
        kept = [{**entry, "expires_at": entry["expires_at"] or ends} for entry in self._open(subscription)
                if entry["expires_at"] is None or entry["expires_at"] > now]
        secret = new_secret()
        await self._write(subscription, {WebhookField.SECRETS: self._seal(
            [{"secret": secret, "expires_at": None}, *kept])})
        return secret, ends

    async def reseal_all(self) -> int:
        """Seal every stored secret again with the first key, so the keys after it can be
        dropped from the keys file; how many subscriptions were resealed. A subscription whose
        secrets changed meanwhile (a rotation) is left as the rotation wrote it."""
        resealed = 0
        for project_id in await self.projects():
            for subscription in await self.of_project(project_id):
                resealed += await self._reseal(
                    keys=[layout.webhook(project_id, subscription.id)],
                    args=[subscription.sealed_secrets, self.box.reseal(subscription.sealed_secrets)])
        return resealed

    async def record_success(self, subscription: Subscription) -> None:
        """A 2xx: the subscription is failing no more."""
        if subscription.failing_since is not None:
            await self._redis.hdel(layout.webhook(subscription.project_id, subscription.id),
                                   WebhookField.FAILING_SINCE)

    async def record_failure(self, subscription: Subscription, disable_after: float) -> bool:
        """A failed attempt; disables the subscription (True) once it has failed everything for
        ``disable_after`` seconds."""
        key = layout.webhook(subscription.project_id, subscription.id)
        now = self._clock()
        await self._redis.hsetnx(key, WebhookField.FAILING_SINCE, repr(now))
        since = await self._redis.hget(key, WebhookField.FAILING_SINCE)
        if since is not None and now - float(since) >= disable_after:
            await self.disable(subscription, f"Every delivery failed for {disable_after / 86400:g} days.")
            return True
        return False

    async def disable(self, subscription: Subscription, reason: str) -> None:
        """Stop deliveries to the subscription, saying why."""
        await self._write(subscription, {WebhookField.DISABLED_REASON: reason,
                                         WebhookField.DISABLED_AT: repr(self._clock())})

    async def _write(self, subscription: Subscription, values: dict[str, str]) -> None:
        await self._update(keys=[layout.webhook(subscription.project_id, subscription.id)],
                           args=[value for pair in values.items() for value in pair])

    def _seal(self, secrets: list[dict[str, Any]]) -> str:
        return self.box.seal(json.dumps(secrets))

    def _open(self, subscription: Subscription) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = json.loads(self.box.open(subscription.sealed_secrets))
        return entries


def _fields(subscription: Subscription) -> dict[str, str]:
    return {WebhookField.URL: subscription.url, WebhookField.EVENTS: json.dumps(subscription.events),
            WebhookField.DESCRIPTION: subscription.description or "",
            WebhookField.SECRETS: subscription.sealed_secrets,
            WebhookField.CREATED_AT: repr(subscription.created_at), WebhookField.PENDING: "0"}


def _subscription(project_id: str, subscription_id: str, stored: dict[str, str]) -> Subscription:
    def moment(name: str) -> float | None:
        return float(stored[name]) if stored.get(name) else None

    return Subscription(
        id=subscription_id, project_id=project_id, url=stored[WebhookField.URL],
        events=tuple(json.loads(stored[WebhookField.EVENTS])),
        description=stored.get(WebhookField.DESCRIPTION) or None,
        created_at=float(stored[WebhookField.CREATED_AT]),
        disabled_reason=stored.get(WebhookField.DISABLED_REASON) or None,
        disabled_at=moment(WebhookField.DISABLED_AT), failing_since=moment(WebhookField.FAILING_SINCE),
        pending_deliveries=max(0, int(stored.get(WebhookField.PENDING, "0"))),
        sealed_secrets=stored[WebhookField.SECRETS])
