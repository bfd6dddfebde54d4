"""``make chaos``'s high-availability scenarios: the Redis master killed under load, a webhook
receiver down for ten minutes while workers die, and every worker stopped while a project's event
stream passes its cap. Each judges webhook delivery against the events the stream held."""
import asyncio
import signal
import time

import redis.asyncio as aioredis

from app.events.server_events import PUBLIC_TYPES
from app.events.stream import START
from app.store import redis_layout as layout
from app.store.redis_values import decode

from .chaos_client import ChaosClient, job_href
from .chaos_outcome import Outcome
from .chaos_stack import ChaosStack
from .chaos_webhooks import ChaosReceiver, StreamWitness, delivered_within, judge

RECEIVER_OUTAGE = 600.0  # seconds the receiver is away
TRIMMED_CAP = 10  # EVENTS_KEPT of the stopped-workers scenario: its stream passes it while they are away
DELIVERY_WAIT = 120.0  # seconds the deliveries may take once possible: twice the longest retry wait


async def _subscribed(stack: ChaosStack, client: ChaosClient, receiver: ChaosReceiver,
                      project_id: str) -> StreamWitness:
    """The receiver subscribed to the project's public events; the witness of those after now."""
    answer = await client.call("POST", "/cloud/webhooks", {
        "project_id": project_id, "url": receiver.url, "events": list(PUBLIC_TYPES)})
    if answer.status != 201:
        raise RuntimeError(f"the subscription was answered {answer.status}: {answer.body}")
    receiver.secret = answer.body["secret"]
    witness = StreamWitness(project_id)
    await witness.mark_start(stack.direct_redis_url())
    return witness


async def _created(client: ChaosClient, project_id: str, prefix: str, count: int) -> list[str]:
    """``count`` servers created (keyed) and built; their ids."""
    hrefs = [job_href(await client.create(project_id, f"{prefix}-{n}", f"{prefix}-{n}"))
             for n in range(count)]
    await client.finished([h for h in hrefs if h], timeout=60)
    return [(await client.call("GET", h)).body["server_id"] for h in hrefs if h]


def _jobs_outcome(scenario: str, statuses: dict[str, str]) -> Outcome:
    """Every acknowledged job finished, none failed."""
    lost = [h for h, s in statuses.items() if s not in ("succeeded", "failed")]
    failed = [h for h, s in statuses.items() if s == "failed"]
    return Outcome(scenario, "0 acknowledged jobs lost", f"{len(lost)} lost, {len(failed)} failed, "
                   f"of {len(statuses)} answered 202", not lost and not failed)


async def master_failover(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """The Redis master SIGKILLed under creates, actions and deliveries; Sentinel promotes the
    replica."""
    assert stack.sentinels is not None
    sentinels, project, receiver = stack.sentinels, stack.projects[0], ChaosReceiver()
    await receiver.up()
    try:
        witness = await _subscribed(stack, client, receiver, project)
        servers = await _created(client, project, "before", 4)
        acknowledged: list[str] = []
        killed_at = 0.0

        async def creates() -> None:
            for n in range(12):
                answer = await client.create(project, f"failover-{n}", f"failover-{n}", tries=60)
                acknowledged.extend(h for h in [job_href(answer)] if h)
                await asyncio.sleep(0.25)

        async def actions() -> None:
            for n, server in enumerate(servers):
                answer = await client.act(project, server, "stop", f"stop-{n}", tries=60)
                acknowledged.extend(h for h in [job_href(answer)] if h)
                await asyncio.sleep(0.5)

        async def kill() -> None:
            nonlocal killed_at
            await asyncio.sleep(1.5)  # creates, actions and their events' deliveries under way
            await asyncio.to_thread(sentinels.kill_master)
            killed_at = time.monotonic()

        await asyncio.gather(creates(), actions(), kill())
        writes_back = min((a.at for a in client.answers if a.at > killed_at and a.status == 202),
                          default=float("inf")) - killed_at
        await asyncio.to_thread(sentinels.wait_for_failover)
        statuses = await client.finished(acknowledged, timeout=120)
        await asyncio.sleep(3 * float(stack.settings["POLL_INTERVAL"]))  # the last changes polled
        took = await delivered_within(witness, receiver, stack.direct_redis_url(), DELIVERY_WAIT)
    finally:
        await receiver.down()
    counts = stack.nova_names(project)
    names = [f"failover-{n}" for n in range(12)]
    twice = sum(counts[name] - 1 for name in names if counts[name] > 1)
    missing = [name for name in names if counts[name] == 0]
    verdict = judge(witness, receiver)
    return [
        _jobs_outcome("the Redis master SIGKILLed under creates, actions and deliveries "
                      "(a replica and three sentinels)", statuses),
        Outcome("", "0 duplicate servers", f"{twice} duplicates, {len(missing)} of 12 creates "
                "without their server", twice == 0 and not missing),
        Outcome("", "writes answered again ≤ 15 s after the kill", f"{writes_back:.1f} s", writes_back <= 15),
        Outcome("", "every event delivered at least once, in order per server",
                f"{verdict.summary()}, {receiver.rejected} rejected; all in {took:.1f} s after the jobs",
                verdict.met and not receiver.rejected)]


async def receiver_outage(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """A webhook receiver away for ten minutes while a worker is SIGKILLed every minute."""
    project, receiver = stack.projects[0], ChaosReceiver()  # not listening until the outage ends
    witness = await _subscribed(stack, client, receiver, project)
    began = time.monotonic()
    servers = await _created(client, project, "outage", 4)
    acknowledged: list[str] = []
    kills = int(RECEIVER_OUTAGE // 60)
    for minute in range(kills):  # an action and a worker's death each minute
        action = "stop" if (minute // len(servers)) % 2 == 0 else "start"
        answer = await client.act(project, servers[minute % len(servers)], action, f"{action}-{minute}")
        acknowledged.extend(h for h in [job_href(answer)] if h)
        await asyncio.sleep(5)  # the action under way
        stack.signal_worker(minute % stack.worker_count, signal.SIGKILL)
        stack.start_worker(minute % stack.worker_count)
        await asyncio.sleep(max(0.0, began + 60 * (minute + 1) - time.monotonic()))
    await asyncio.sleep(max(0.0, began + RECEIVER_OUTAGE - time.monotonic()))
    await receiver.up()
    try:
        statuses = await client.finished(acknowledged, timeout=60)
        took = await delivered_within(witness, receiver, stack.direct_redis_url(), DELIVERY_WAIT)
    finally:
        await receiver.down()
    verdict = judge(witness, receiver)
    return [
        Outcome(f"a webhook receiver down {RECEIVER_OUTAGE / 60:.0f} min, a worker SIGKILLed each "
                "minute", f"every event delivered once it is back, ≤ {DELIVERY_WAIT:.0f} s, in "
                "order per server", f"{verdict.summary()} in {took:.1f} s, {receiver.rejected} rejected",
                verdict.met and took < DELIVERY_WAIT and not receiver.rejected),
        _jobs_outcome("", statuses)]


async def stopped_past_the_trim(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """Every worker stopped while a project's event stream passes its cap; then started again."""
    assert stack.client is not None
    emulator, project, receiver = stack.client, stack.projects[0], ChaosReceiver()
    url = stack.direct_redis_url()
    witness = await _subscribed(stack, client, receiver, project)
    stop = asyncio.Event()
    following = asyncio.create_task(witness.follow(url, stop))  # knows entries trimmed later
    await receiver.up()
    try:
        servers = await _created(client, project, "trim", 5)
        await delivered_within(witness, receiver, url, 30)
        await asyncio.gather(*(asyncio.to_thread(stack.stop_worker, n) for n in range(stack.worker_count)))
        for status in ("SHUTOFF", "ACTIVE", "SHUTOFF"):  # changed in Nova, seen by clients' shows
            for server in servers:
                await asyncio.to_thread(emulator.set_server_status, server, status)
                await _shown(client, project, server, status)
        async with aioredis.Redis.from_url(url) as redis:
            cursor = decode(await redis.get(layout.webhook_cursor(project)) or START)
            waiting = len(await redis.xrange(layout.events(project), f"({cursor}", "+"))
        for index in range(stack.worker_count):
            stack.start_worker(index)
        took = await delivered_within(witness, receiver, url, DELIVERY_WAIT)
    finally:
        stop.set()
        await following
        await receiver.down()
    verdict = judge(witness, receiver)
    return [Outcome("every worker stopped while the stream passes its cap "
                    f"(`EVENTS_KEPT={TRIMMED_CAP}`), then started",
                    "the fault: more events waiting for the webhooks than the stream's cap",
                    f"{waiting} waiting", waiting > TRIMMED_CAP),
            Outcome("", "every event delivered, in order per server",
                    f"{verdict.summary()} in {took:.1f} s after the start, {receiver.rejected} rejected",
                    verdict.met and not receiver.rejected)]


async def _shown(client: ChaosClient, project_id: str, server_id: str, status: str) -> None:
    """Show the server until it answers ``status`` (a show reads Nova at most once a second)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = await client.call("GET", f"/cloud/servers/{server_id}?project_id={project_id}")
        if answer.status == 200 and answer.body["status"] == status:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"server {server_id} was not shown {status} within 10 s")
