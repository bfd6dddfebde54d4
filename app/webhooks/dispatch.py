"""From events to deliveries and back: fan-out of each project's events to its subscriptions,
and what an attempt's result means for the delivery and its subscription."""
import logging
import time
import uuid
from dataclasses import dataclass

from ..core.errors import NotFound
from ..core.times import Clock
from ..events.server_events import PING
from ..events.stream import EventStream, StoredEvent
from ..store.replication import ReplicatedWrites
from .deliveries import (
    DELIVERED,
    FAILED,
    AttemptResult,
    Delivery,
    DeliveryStore,
    retry_at,
)
from .subscriptions import GONE, Subscription, SubscriptionStore

logger = logging.getLogger(__name__)
FAN_OUT_BATCH = 200
RETRIED, DISABLED = "retried", "disabled"


@dataclass(frozen=True)
class DeliveryPolicy:
    """The retry schedule (delays before each attempt) and when a failing subscription stops."""

    schedule: tuple[float, ...]
    disable_after: float


class Dispatcher:
    """Turns events into deliveries and attempts' results into the next step."""

    def __init__(self, stream: EventStream, subscriptions: SubscriptionStore,
                 deliveries: DeliveryStore, policy: DeliveryPolicy, replicated: ReplicatedWrites,
                 clock: Clock = time.time) -> None:
        self._stream = stream
        self._replicated = replicated
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._policy = policy
        self._clock = clock

    @property
    def events(self) -> EventStream:
        """The event stream it fans out (and its fan-out hints)."""
        return self._stream

    async def fan_out(self, project_id: str) -> int:
        """Queue the project's next events for the subscriptions that want them; the number of
        events taken (0 when none are new, or another worker took them first)."""
        cursor = await self._deliveries.cursor(project_id)
        if cursor is None:
            await self._deliveries.start_cursor(project_id, await self._stream.last_position(project_id))
            return 0
        events = await self._stream.after(project_id, cursor, FAN_OUT_BATCH)
        if not events:
            return 0
        if await self._stream.lost_after(project_id, cursor):
            logger.warning("events of project %s after %s were trimmed from its stream before they "
                           "were fanned out to its webhooks; they are not delivered", project_id, cursor)
        subscriptions = [s for s in await self._subscriptions.of_project(project_id) if s.enabled]
        deliveries = [Delivery.of_event(subscription.id, event) for event in events
                      for subscription in subscriptions if _wanted(subscription, event)]
        moved = await self._deliveries.enqueue(project_id, deliveries, (cursor, events[-1].position))
        return len(events) if moved else 0

    async def ping(self, subscription: Subscription) -> Delivery:
        """Queue a ``webhook.ping`` event for the subscription alone."""
        event = StoredEvent(position="", project_id=subscription.project_id, id=str(uuid.uuid4()),
                            type=PING, server_id="", observed_at=self._clock(),
                            data={"subscription_id": subscription.id})
        delivery = Delivery.of_event(subscription.id, event)
        async with self._replicated.pinned() as redis:  # the 202 promises it: on a replica first
            await self._deliveries.enqueue(subscription.project_id, [delivery], client=redis)
        return delivery

    async def redeliver(self, subscription: Subscription, delivery_id: str) -> Delivery:
        """Queue a delivery's event again (same event id and body); ``NotFound`` if the delivery
        is not one of the subscription's, or no longer kept."""
        delivery = await self._deliveries.get(subscription.project_id, delivery_id)
        if delivery is None or delivery.subscription_id != subscription.id:
            raise NotFound(f"Delivery {delivery_id} is not kept for webhook {subscription.id}.")
        again = delivery.again()
        async with self._replicated.pinned() as redis:  # the 202 promises it: on a replica first
            await self._deliveries.enqueue(subscription.project_id, [again], client=redis)
        return again

    async def settle(self, subscription: Subscription, delivery: Delivery,
                     result: AttemptResult) -> str:
        """Record an attempt's result; what became of the delivery (delivered, retried, failed,
        disabled: 410 Gone, or the subscription failing for too long)."""
        if result.delivered:
            await self._deliveries.finish(delivery, result, None)
            await self._subscriptions.record_success(subscription)
            return DELIVERED
        if result.status_code == 410:
            await self._deliveries.finish(delivery, result, None)
            await self._subscriptions.disable(subscription, GONE)
            logger.warning("webhook %s disabled: its endpoint answered 410 Gone", subscription.id)
            return DISABLED
        retry = retry_at(self._policy.schedule, delivery.attempts + 1, self._clock())
        await self._deliveries.finish(delivery, result, retry)
        if await self._subscriptions.record_failure(subscription, self._policy.disable_after):
            logger.warning("webhook %s disabled: every delivery failed for %.0f s",
                           subscription.id, self._policy.disable_after)
            return DISABLED
        return RETRIED if retry is not None else FAILED


def _wanted(subscription: Subscription, event: StoredEvent) -> bool:
    """Whether the subscription wants the event: of a type it named, and not older than it."""
    return subscription.wants(event.type) and event.observed_at >= subscription.created_at
