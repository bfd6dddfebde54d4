"""The webhook senders' hints on a real Redis: the due index follows each subscription's lanes
(queued: due now; claimed: due after the lease; delivered with nothing left: out; a retry: due
then), and a sender's round with nothing due costs a few commands however many subscriptions
exist."""
import aiohttp
import aiojobs
from prometheus_client import CollectorRegistry

from app.events.server_events import ServerEvent
from app.events.stream import EventStream
from app.store.replication import ReplicatedWrites
from app.webhooks.deliveries import AttemptResult, DeliveryStore
from app.webhooks.destinations import DestinationPolicy
from app.webhooks.dispatch import DeliveryPolicy, Dispatcher
from app.webhooks.outbox import Webhooks
from app.webhooks.secret_box import SecretBox, generate_key
from app.webhooks.subscriptions import SubscriptionStore
from tests.component.test_refresh_rules import commands_sent
from tests.support import ManualClock, settings_with
from workers.metrics import WorkerMetrics
from workers.webhook_sender import WebhookSender

DAY = 86400.0
PROJECTS = [f"{n:032x}" for n in range(1, 21)]


def stores(redis, clock):
    subscriptions = SubscriptionStore(redis, SecretBox([generate_key().encode()]), clock)
    deliveries = DeliveryStore(redis, retention=3600, clock=clock)
    stream = EventStream(redis, clock)
    dispatcher = Dispatcher(stream, subscriptions, deliveries, DeliveryPolicy((0.0, 5.0), 5 * DAY),
                            ReplicatedWrites(redis, wait_ms=0), clock)
    return Webhooks(subscriptions, deliveries, dispatcher, DestinationPolicy(True, ())), stream


async def one_event_fanned_out(redis, clock):
    """The stores, and a subscription with one event queued for it."""
    webhooks, stream = stores(redis, clock)
    subscription, _ = await webhooks.subscriptions.create(PROJECTS[0], "https://hooks.example.com/",
                                                          ["server.status_changed"], None, limit=5,
                                                          position="0-0")
    await stream.append([ServerEvent(PROJECTS[0], "server.status_changed", "a", "1", {})])
    await webhooks.dispatcher.fan_out(PROJECTS[0])
    return webhooks, subscription


async def test_the_due_index_follows_a_subscriptions_lanes(redis):
    clock = ManualClock()
    webhooks, subscription = await one_event_fanned_out(redis, clock)
    assert await webhooks.deliveries.due(10) == [(PROJECTS[0], subscription.id)]

    [delivery] = await webhooks.deliveries.claim(PROJECTS[0], subscription.id, 5, lease=30)
    assert await webhooks.deliveries.due(10) == []  # leased: not due again until the lease ends
    clock.advance(31)
    assert await webhooks.deliveries.due(10) == [(PROJECTS[0], subscription.id)]

    await webhooks.deliveries.finish(delivery, AttemptResult(clock(), 0.1, status_code=500), clock() + 5)
    assert await webhooks.deliveries.due(10) == []  # the retry is due in 5 s
    clock.advance(5)
    [again] = await webhooks.deliveries.claim(PROJECTS[0], subscription.id, 5, lease=30)
    await webhooks.deliveries.finish(again, AttemptResult(clock(), 0.1, status_code=204), None)
    clock.advance(3600)
    assert await webhooks.deliveries.due(10) == []  # delivered, nothing left: out of the index
    assert await redis.zcard("cs:{webhooks}:due") == 0


async def test_a_claims_view_written_after_a_finish_does_not_hold_the_retry_back(redis):
    """Two rounds of one subscription at once: a claim's script found its lane leased, then the
    other round's attempt failed and set the retry, and the claim's index write came last."""
    clock = ManualClock()
    webhooks, subscription = await one_event_fanned_out(redis, clock)
    [delivery] = await webhooks.deliveries.claim(PROJECTS[0], subscription.id, 5, lease=30)
    claims_view = repr(clock() + 30)  # what the other claim's script returned: leased till then
    await webhooks.deliveries.finish(delivery, AttemptResult(clock(), 0.1, status_code=500), clock() + 5)

    await webhooks.deliveries._index(PROJECTS[0], subscription.id, claims_view)  # written last
    clock.advance(5)

    assert await webhooks.deliveries.due(10) == [(PROJECTS[0], subscription.id)]  # not in 30 s

async def test_a_round_with_nothing_due_costs_the_same_for_200_subscriptions_as_for_none(redis):
    clock = ManualClock()
    webhooks, stream = stores(redis, clock)
    for project_id in PROJECTS:
        for number in range(10):
            await webhooks.subscriptions.create(project_id, f"https://hooks.example.com/{number}", [],
                                                None, limit=10, position="0-0")
    settings = settings_with(webhook_timeout=5.0)
    scheduler = aiojobs.Scheduler(limit=8)
    async with aiohttp.ClientSession() as session:
        sender = WebhookSender(settings, webhooks, session, WorkerMetrics(CollectorRegistry()), clock)
        await sender._sweep_all()  # noqa: SLF001
        await sender._round(scheduler)  # noqa: SLF001
        before = await commands_sent(redis)
        await sender._round(scheduler)  # noqa: SLF001
        after = await commands_sent(redis)
    await scheduler.close()

    sent = sum(calls - before.get(name, 0) for name, calls in after.items() if name != "info")
    assert sent <= 3, {name: calls - before.get(name, 0) for name, calls in after.items()}
