"""The webhook sender: fans each project's new events out to its subscriptions and delivers them.

Deliveries run in an aiojobs scheduler with a bound on how many run at once, and at most
``WEBHOOK_ENDPOINT_CONCURRENCY`` per subscription, each within ``WEBHOOK_TIMEOUT``: a slow or
dead endpoint holds a few slots for a few seconds, never the others' turn. A claimed delivery is
leased; if this worker dies, the lease runs out and another worker sends it again (same id).
"""
import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp
import aiojobs
from redis.exceptions import RedisError

from app.core.logs import project_id_var
from app.core.times import Clock
from app.process.settings import Settings
from app.webhooks.deliveries import DELIVERED, AttemptResult, Delivery
from app.webhooks.destinations import DestinationRefused
from app.webhooks.dispatch import FAN_OUT_BATCH
from app.webhooks.outbox import Webhooks
from app.webhooks.secret_box import SecretKeysError
from app.webhooks.signing import signature
from app.webhooks.subscriptions import Subscription

from .metrics import WorkerMetrics
from .rounds import run_rounds

logger = logging.getLogger(__name__)
IDLE_PAUSE = 0.25
SWEEP_INTERVAL = 10.0  # seconds between sweeps of every subscription
RESPONSE_CAP = 4096  # bytes of an answer read (and dropped) before the connection is let go
USER_AGENT = "cloud-servers-webhooks/1"


class WebhookSender:
    """Delivers every project's events to its webhook subscriptions."""

    def __init__(self, settings: Settings, webhooks: Webhooks, session: aiohttp.ClientSession,
                 metrics: WorkerMetrics, clock: Clock = time.time) -> None:
        self._webhooks = webhooks
        self._settings = settings
        self._session = session
        self._metrics = metrics
        self._clock = clock
        self._in_flight: dict[str, int] = {}
        self._gauged: set[tuple[str, str]] = set()  # the pending gauge's (project, subscription) labels
        self._lease = 2 * self._settings.webhook_timeout + 5.0

    async def run(self, stop: asyncio.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Fan out and deliver until ``stop`` is set; deliveries under way then finish or are
        handed back by their lease."""
        scheduler = aiojobs.Scheduler(limit=self._settings.webhook_concurrency,
                                      pending_limit=self._settings.webhook_concurrency,
                                      close_timeout=self._settings.shutdown_timeout)
        async def one_round() -> float:
            await self._round(scheduler)
            return IDLE_PAUSE

        async def sweep() -> float:
            await self._sweep_all()
            return SWEEP_INTERVAL

        try:
            await self._reseal()
            # The sweep runs beside the rounds, so that its visit of every subscription never
            # holds up the deliveries due meanwhile.
            await asyncio.gather(run_rounds(one_round, stop, logger, "no webhooks sent", beat),
                                 run_rounds(sweep, stop, logger, "no webhooks swept", lambda: None))
        finally:
            await scheduler.wait_and_close(self._settings.shutdown_timeout)

    async def _reseal(self) -> None:
        """At start, every secret is sealed again with the newest key (key rotation)."""
        try:
            resealed = await self._webhooks.subscriptions.reseal_all()
        except (RedisError, SecretKeysError) as error:
            logger.warning("webhook secrets not resealed with the newest key: %s", error)
            return
        logger.info("webhook secrets of %d subscriptions sealed with the newest key", resealed)

    async def _round(self, scheduler: aiojobs.Scheduler) -> None:
        """Fan out the projects with new events and start the deliveries due now: what is due,
        not what exists (the hints and the due index); the sweep repairs the hints."""
        events = self._webhooks.dispatcher.events
        hinted = dict(await events.hinted())
        for project_id in await self._webhooks.subscriptions.with_webhooks(list(hinted)):
            await self._fan_out(project_id)
        for project_id, seen in hinted.items():
            await events.settle_hint(project_id, seen)
        room = self._settings.webhook_concurrency - scheduler.active_count
        if room <= 0:
            return
        for project_id, subscription_id in await self._webhooks.deliveries.due(room + len(self._in_flight)):
            subscription = await self._webhooks.subscriptions.get(project_id, subscription_id)
            if subscription is None or not subscription.enabled:
                await self._webhooks.deliveries.forget(project_id, subscription_id)
            else:
                await self._start_due(scheduler, subscription)

    async def _fan_out(self, project_id: str) -> None:
        project_id_var.set(project_id)
        while await self._webhooks.dispatcher.fan_out(project_id) == FAN_OUT_BATCH:
            pass

    async def _sweep_all(self) -> None:
        """Every project with webhooks fanned out, every subscription's place in the due index
        set from its lanes, and the pending deliveries gauged: the repair of hints a process
        that died between a write and its hint left out."""
        gauged = set()
        for project_id in await self._webhooks.subscriptions.projects():
            await self._fan_out(project_id)
            subscriptions = await self._webhooks.subscriptions.of_project(project_id)
            for subscription in subscriptions:
                gauged.add((project_id, subscription.id))
                self._metrics.pending.labels(project_id, subscription.id).set(subscription.pending_deliveries)
            await self._webhooks.deliveries.reindex(project_id, [s.id for s in subscriptions if s.enabled])
        for gone in self._gauged - gauged:  # deleted subscriptions leave no series behind
            self._metrics.pending.remove(*gone)
        self._gauged = gauged

    async def _start_due(self, scheduler: aiojobs.Scheduler, subscription: Subscription) -> None:
        """Claim and start the subscription's due deliveries, as many as there is room for."""
        room = min(self._settings.webhook_endpoint_concurrency - self._in_flight.get(subscription.id, 0),
                   self._settings.webhook_concurrency - scheduler.active_count)
        if room <= 0:
            return
        for delivery in await self._webhooks.deliveries.claim(subscription.project_id, subscription.id,
                                                              room, self._lease):
            self._in_flight[subscription.id] = self._in_flight.get(subscription.id, 0) + 1
            await scheduler.spawn(self._deliver(subscription, delivery))

    async def _deliver(self, subscription: Subscription, delivery: Delivery) -> None:
        project_id_var.set(subscription.project_id)
        try:
            result = await self._attempt(subscription, delivery)
            outcome = await self._webhooks.dispatcher.settle(subscription, delivery, result)
            self._metrics.deliveries.labels(outcome).inc()
            if outcome == DELIVERED:
                self._metrics.lag.observe(max(0.0, self._clock() - delivery.observed_at))
            logger.info("webhook %s: %s %s attempt %d: %s", subscription.id, delivery.type,
                        delivery.event_id, delivery.attempts + 1,
                        result.status_code if result.status_code is not None else result.error)
        except RedisError as error:  # the lease runs out and the delivery is sent again
            logger.warning("webhook %s: delivery %s not recorded, Redis cannot be used: %s",
                           subscription.id, delivery.id, error)
        except Exception:
            logger.exception("webhook %s: delivery %s crashed; it is sent again once its lease ends",
                             subscription.id, delivery.id)
        finally:
            self._in_flight[subscription.id] -= 1
            if not self._in_flight[subscription.id]:
                del self._in_flight[subscription.id]

    async def _attempt(self, subscription: Subscription, delivery: Delivery) -> AttemptResult:
        """POST the event once, signed; what came of it."""
        started, began = self._clock(), time.monotonic()
        try:
            secrets = self._webhooks.subscriptions.signing_secrets(subscription)
            timestamp = int(self._clock())
            headers = {"webhook-id": delivery.event_id, "webhook-timestamp": str(timestamp),
                       "webhook-signature": signature(secrets, delivery.event_id, timestamp, delivery.body),
                       "Content-Type": "application/json", "User-Agent": USER_AGENT}
            self._webhooks.destinations.check(urlsplit(subscription.url).hostname or "")
            async with self._session.post(subscription.url, data=delivery.body, headers=headers,
                                          allow_redirects=False) as response:
                await response.content.read(RESPONSE_CAP)
                return AttemptResult(started, time.monotonic() - began, status_code=response.status)
        except SecretKeysError as error:
            reason = f"The signing secret cannot be decrypted: {error}."
        except DestinationRefused as error:
            reason = str(error)
        except aiohttp.ClientConnectorError as error:
            reason = str(error.os_error) if isinstance(error.os_error, DestinationRefused) else (
                f"Cannot connect: {error.os_error.strerror or error.os_error}.")
        except TimeoutError:
            reason = f"No answer within {self._settings.webhook_timeout:g} s."
        except aiohttp.ClientError as error:
            reason = f"{type(error).__name__}: {error}"
        return AttemptResult(started, time.monotonic() - began, error=reason)
