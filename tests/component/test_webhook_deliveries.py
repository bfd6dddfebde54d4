"""Deliveries in Redis: lanes keep one server's events in order, a lease hands a delivery on,
and a subscription that fails everything for long enough is disabled."""
from app.events.server_events import ServerEvent
from app.events.stream import EventStream, StoredEvent
from app.store import redis_layout as layout
from app.store.replication import ReplicatedWrites
from app.webhooks.deliveries import DELIVERED, FAILED, AttemptResult, Delivery, DeliveryStore, retry_at
from app.webhooks.dispatch import DISABLED, RETRIED, DeliveryPolicy, Dispatcher
from app.webhooks.secret_box import SecretBox, generate_key
from app.webhooks.subscriptions import SubscriptionStore
from tests.support import ManualClock

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"
DAY = 86400.0


def event(number: int, server: str, clock) -> StoredEvent:
    return StoredEvent(position=f"{number}-0", project_id=PROJECT, id=f"event-{number}",
                       type="server.status_changed", server_id=server, observed_at=clock(), data={})


async def setup_stores(redis, schedule=(0.0, 5.0)):
    clock = ManualClock()
    subscriptions = SubscriptionStore(redis, SecretBox([generate_key().encode()]), clock)
    deliveries = DeliveryStore(redis, retention=3600, clock=clock)
    dispatcher = Dispatcher(None, subscriptions, deliveries,
                            DeliveryPolicy(schedule=schedule, disable_after=5 * DAY),
                            ReplicatedWrites(redis, wait_ms=0), clock)
    subscription, _ = await subscriptions.create(PROJECT, "https://hooks.example.com/",
                                                 ["server.status_changed"], None, limit=5, position="0-0")
    return clock, subscriptions, deliveries, dispatcher, subscription


def failed(clock) -> AttemptResult:
    return AttemptResult(clock(), 0.01, status_code=500)


def ok(clock) -> AttemptResult:
    return AttemptResult(clock(), 0.01, status_code=204)


async def test_one_servers_events_wait_for_each_other_and_other_servers_do_not(redis):
    clock, _, deliveries, dispatcher, subscription = await setup_stores(redis)
    queued = [Delivery.of_event(subscription.id, e) for e in
              (event(1, "a", clock), event(2, "a", clock), event(3, "b", clock))]
    await deliveries.enqueue(PROJECT, queued)

    first = await deliveries.claim(PROJECT, subscription.id, 10, lease=30)
    assert sorted(d.event_id for d in first) == ["event-1", "event-3"]  # a's second waits
    assert await deliveries.claim(PROJECT, subscription.id, 10, lease=30) == []  # leased

    a_first = next(d for d in first if d.event_id == "event-1")
    assert await dispatcher.settle(subscription, a_first, failed(clock)) == RETRIED
    clock.advance(5)
    again = await deliveries.claim(PROJECT, subscription.id, 10, lease=30)
    assert [d.event_id for d in again] == ["event-1"]  # retried first, still ahead of event-2
    assert await dispatcher.settle(subscription, again[0], ok(clock)) == DELIVERED
    then = await deliveries.claim(PROJECT, subscription.id, 10, lease=30)
    assert [(d.event_id, d.attempts) for d in then] == [("event-2", 0)]


async def test_a_lease_that_runs_out_hands_the_delivery_on_and_the_late_result_is_dropped(redis):
    clock, _, deliveries, dispatcher, subscription = await setup_stores(redis)
    await dispatcher.ping(subscription)
    [taken] = await deliveries.claim(PROJECT, subscription.id, 1, lease=30)

    clock.advance(31)  # the worker that took it died
    [retaken] = await deliveries.claim(PROJECT, subscription.id, 1, lease=30)
    finished_first = await deliveries.finish(retaken, ok(clock), None)
    finished_late = await deliveries.finish(taken, ok(clock), None)

    assert retaken.id == taken.id and retaken.event_id == taken.event_id
    assert (finished_first, finished_late) == (True, False)
    assert len(await deliveries.attempts(PROJECT, subscription.id, 10)) == 1


async def test_the_last_attempt_fails_the_delivery(redis):
    clock, subscriptions, deliveries, dispatcher, subscription = await setup_stores(redis)
    delivery = await dispatcher.ping(subscription)

    outcomes = []
    for _ in range(2):
        [taken] = await deliveries.claim(PROJECT, subscription.id, 1, lease=30)
        outcomes.append(await dispatcher.settle(subscription, taken, failed(clock)))
        clock.advance(5)

    assert outcomes == [RETRIED, FAILED]
    assert (await deliveries.get(PROJECT, delivery.id)).status == FAILED
    assert (await subscriptions.get(PROJECT, subscription.id)).pending_deliveries == 0
    assert retry_at((0.0, 5.0), 1, 100.0) == 105.0 and retry_at((0.0, 5.0), 2, 100.0) is None


async def test_a_subscription_failing_everything_for_five_days_is_disabled(redis):
    clock, subscriptions, deliveries, dispatcher, subscription = await setup_stores(redis, (0.0,) * 50)
    await dispatcher.ping(subscription)

    async def attempt(result) -> str:
        [taken] = await deliveries.claim(PROJECT, subscription.id, 1, lease=30)
        current = await subscriptions.get(PROJECT, subscription.id)
        return await dispatcher.settle(current, taken, result(clock))

    assert await attempt(failed) == RETRIED
    clock.advance(3 * DAY)
    await dispatcher.ping(subscription)
    assert await attempt(ok) == DELIVERED  # a success in between starts the count again
    clock.advance(1)
    assert await attempt(failed) == RETRIED
    clock.advance(5 * DAY - 2)
    assert await attempt(failed) == RETRIED
    clock.advance(2)
    assert await attempt(failed) == DISABLED

    disabled = await subscriptions.get(PROJECT, subscription.id)
    assert not disabled.enabled and "5 days" in disabled.disabled_reason


async def test_secrets_survive_a_key_rotation(redis):
    old_key, new_key = generate_key().encode(), generate_key().encode()
    before = SubscriptionStore(redis, SecretBox([old_key]))
    subscription, secret = await before.create(PROJECT, "https://hooks.example.com/",
                                               ["server.created"], None, limit=5, position="0-0")

    during = SubscriptionStore(redis, SecretBox([new_key, old_key]))  # the new key put first
    resealed = await during.reseal_all()
    after = SubscriptionStore(redis, SecretBox([new_key]))  # the old key dropped

    assert resealed == 1
    assert after.signing_secrets(await after.get(PROJECT, subscription.id)) == [secret]


async def test_events_trimmed_before_their_fan_out_are_reported(redis, caplog):
    clock, subscriptions, deliveries, _, subscription = await setup_stores(redis)
    stream = EventStream(redis, clock)
    dispatcher = Dispatcher(stream, subscriptions, deliveries, DeliveryPolicy((0.0,), 5 * DAY),
                            ReplicatedWrites(redis, wait_ms=0), clock)
    await stream.append([ServerEvent(PROJECT, "server.status_changed", "a", "1", {})])
    await deliveries.start_cursor(PROJECT, "0-0")
    await redis.set(layout.webhook_cursor(PROJECT), "1-0")  # fanned out up to an entry now trimmed
    clock.advance(1)
    await stream.append([ServerEvent(PROJECT, "server.status_changed", "a", "2", {})])

    taken = await dispatcher.fan_out(PROJECT)
    clock.advance(1)
    await stream.append([ServerEvent(PROJECT, "server.status_changed", "a", "3", {})])
    taken_next = await dispatcher.fan_out(PROJECT)  # from a cursor the stream still holds

    assert (taken, taken_next) == (2, 1)
    assert [r.levelname for r in caplog.records if "trimmed" in r.getMessage()] == ["WARNING"]


async def test_events_the_fan_out_has_not_taken_outlive_the_cap_and_all_reach_the_webhook(redis):
    clock, subscriptions, deliveries, _, subscription = await setup_stores(redis)
    stream = EventStream(redis, clock, cap=5)
    dispatcher = Dispatcher(stream, subscriptions, deliveries, DeliveryPolicy((0.0,), 5 * DAY),
                            ReplicatedWrites(redis, wait_ms=0), clock)
    await dispatcher.fan_out(PROJECT)  # the cursor starts at the stream's end
    changes = [ServerEvent(PROJECT, "server.status_changed", f"s{n}", "ACTIVE", {}) for n in range(12)]
    for change in changes:  # the workers are down: nothing fans out while the cap is passed twice
        await stream.append([change])

    kept = await redis.xlen(layout.events(PROJECT))
    while await dispatcher.fan_out(PROJECT):
        pass
    queued = {delivery.event_id for delivery in await deliveries.claim(PROJECT, subscription.id, 100, 30)}
    await stream.append([ServerEvent(PROJECT, "server.status_changed", "late", "ACTIVE", {})])

    assert kept == 12  # none trimmed before the fan-out took it
    assert queued == {change.id for change in changes}  # each server's lane gives its event
    assert await redis.xlen(layout.events(PROJECT)) == 5  # taken: the cap holds again
