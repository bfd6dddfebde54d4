"""``make chaos``'s scenarios of faults in the workers, Redis and OpenStack: each gets its own
stack, does its damage, and measures."""
import asyncio
import os
import random
import signal
import time

import redis.asyncio as aioredis

from app.store import redis_layout as layout
from app.store.redis_layout import PollField

from .chaos_client import ChaosClient, job_href
from .chaos_outcome import Outcome
from .chaos_stack import ChaosStack
from .emulator_client import EmulatorClient
from .redis_pressure import cap_below_use

# Seconds the API may answer a list from memory once Redis is gone: it stops trusting its change
# channel when three of its 1 s pings go unanswered (app/snapshot/change_feed.py), plus a margin.
MEMORY_GRACE = 3.5


async def worker_kills(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """50 SIGKILLs of workers at random moments during a stream of creates and deletes."""
    project = stack.projects[0]
    hrefs: list[str] = []
    created: list[str] = []
    rng = random.Random(7)

    async def stream() -> None:
        answers = []
        for n in range(40):
            answers.append(answer := await client.create(project, f"kill-{n}", f"kill-{n}"))
            if (href := job_href(answer)) is not None:
                hrefs.append(href)
                created.append(f"kill-{n}")
            await asyncio.sleep(0.3)
        first = [a for a in answers[:10] if a.status == 202]  # deleted once built, kills going on
        await client.finished([h for h in map(job_href, first) if h], timeout=60)
        for n, answer in enumerate(first):
            server = (await client.call("GET", str(answer.headers["Location"]))).body["server_id"]
            if server and (href := job_href(await client.delete(project, server))):
                hrefs.append(href)
                created.remove(f"kill-{n}")

    async def kills() -> None:
        for _ in range(50):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            victim = rng.randrange(stack.worker_count)
            stack.signal_worker(victim, signal.SIGKILL)
            stack.start_worker(victim)

    await asyncio.gather(stream(), kills())
    statuses = await client.finished(hrefs, timeout=180)
    lost = [h for h, s in statuses.items() if s not in ("succeeded", "failed")]
    failed = [h for h, s in statuses.items() if s == "failed"]
    counts = stack.nova_names(project)
    duplicates = sum(c - 1 for name, c in counts.items() if name.startswith("kill-") and c > 1)
    missing = [name for name in created if counts[name] == 0]
    return [
        Outcome("50 worker SIGKILLs during 40 creates and 10 deletes", "0 jobs lost",
                f"{len(lost)} lost, {len(failed)} failed, of {len(hrefs)} jobs", not lost and not failed),
        Outcome("", "0 duplicate servers", f"{duplicates} duplicates, {len(missing)} creates "
                "without their server", duplicates == 0 and not missing),
    ]


async def stopped_worker(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """A worker SIGSTOPped past its leases, then SIGCONTed."""
    project = stack.projects[0]
    hrefs = [job_href(await client.create(project, f"stop-{n}", f"stop-{n}")) for n in range(10)]
    await asyncio.sleep(0.5)
    stack.signal_worker(0, signal.SIGSTOP)
    await asyncio.sleep(float(stack.settings["POLL_LEASE"]) + 4)  # past poll and job leases
    stack.signal_worker(0, signal.SIGCONT)
    statuses = await client.finished([h for h in hrefs if h], timeout=120)
    counts = stack.nova_names(project)
    twice = sum(c - 1 for name, c in counts.items() if name.startswith("stop-") and c > 1)
    assert stack.client is not None
    lists = sorted((r["started"], r["at"]) for r in stack.client.requests(project_id=project)
                   if r["path"].endswith("/servers/detail"))
    overlaps = sum(1 for a, b in zip(lists, lists[1:], strict=False) if b[0] < a[1])
    done = sum(1 for s in statuses.values() if s == "succeeded")
    return [Outcome("a worker SIGSTOPped past its leases, then SIGCONTed",
                    "no job runs twice; all finish", f"{twice} servers made twice; {done}/10 succeeded",
                    twice == 0 and done == 10),
            Outcome("", "no project polled by two at once",
                    f"{overlaps} overlapping listings of {len(lists)}", overlaps == 0)]


async def redis_restart(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """Redis SIGKILLed and restarted (its append-only file kept) under list and create load."""
    project = stack.projects[0]
    replay = await client.create(project, "before-restart", "replayed-key")
    await client.finished([h for h in [job_href(replay)] if h], timeout=30)
    gap: dict[str, float] = {}
    lists: list[tuple[float, int]] = []

    async def load() -> None:
        end = time.monotonic() + 14
        while time.monotonic() < end:
            lists.append((time.monotonic(), (await client.list_servers(project)).status))
            await asyncio.sleep(0.05)

    async def outage() -> None:
        await asyncio.sleep(3)
        assert stack.redis.pid is not None
        os.kill(stack.redis.pid, signal.SIGKILL)
        gap["down"] = time.monotonic()
        stack.redis.halt()  # reaps it; the append-only file stays
        await asyncio.sleep(3)
        await asyncio.to_thread(stack.redis.start)
        gap["up"] = time.monotonic()

    await asyncio.gather(load(), outage())
    during = [status for at, status in lists if gap["down"] <= at < gap["up"]]
    # A list the API holds in memory is answered until it notices the change channel is lost
    # (its pings: within about a second); after that, only 503s while Redis is away.
    held = [(at - gap["down"], status) for at, status in lists
            if gap["down"] <= at < gap["up"] and status not in (0, 503)]
    late = [(after, status) for after, status in held if after > MEMORY_GRACE or status != 200]
    last_held = max((after for after, _ in held), default=0.0)
    after = [at for at, status in lists if at >= gap["up"] and status == 200]
    recovery = (after[0] - gap["up"]) if after else float("inf")
    new = [await client.create(project, f"after-restart-{n}", f"after-{n}") for n in range(5)]
    statuses = await client.finished([h for h in map(job_href, new) if h], timeout=60)
    again = await client.create(project, "before-restart", "replayed-key")
    counts = stack.nova_names(project)
    return [
        Outcome("Redis SIGKILLed for 3 s under list and create load",
                f"during the gap: 503, or a list from the API's memory within {MEMORY_GRACE:g} s",
                f"{len(held)} of {len(during)} not 503 (the last {last_held:.2f} s after the kill), "
                f"{len(late)} later or not 200",
                not late),
        Outcome("", "recovery after Redis is back ≤ 2 s", f"{recovery:.2f} s", recovery <= 2),
        Outcome("", "jobs queued after the restart run: all",
                f"{sum(1 for s in statuses.values() if s == 'succeeded')}/5", len(statuses) == 5
                and all(s == "succeeded" for s in statuses.values())),
        Outcome("", "an idempotent replay after the restart: no second server",
                f"{counts['before-restart']} server(s); same id: "
                f"{again.body and replay.body and again.body.get('id') == replay.body.get('id')}",
                counts["before-restart"] == 1)]


async def openstack_outage(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """A 60 s outage of one project's OpenStack."""
    project = stack.projects[0]
    assert stack.client is not None
    await client.list_servers(project)
    await asyncio.sleep(3)  # a poll or two before it
    stack.client.set_faults(project, outage=True)
    started = time.monotonic()
    hrefs = [job_href(await client.create(project, f"outage-{n}", f"outage-{n}")) for n in range(5)]
    answers = []
    while time.monotonic() - started < 60:
        answers.append(await client.list_servers(project))
        await asyncio.sleep(1)
    async with aioredis.Redis.from_url(stack.redis.url) as redis:  # each failed poll counts once
        polls = int(await redis.hget(layout.poll_state(project), PollField.FAILURES) or 0)
    stack.client.clear_faults(project)
    ended = time.monotonic()
    while "X-Snapshot-Stale" in (await client.list_servers(project)).headers:
        await asyncio.sleep(0.1)
    fresh_after = time.monotonic() - ended
    statuses = await client.finished([h for h in hrefs if h], timeout=120)
    stale = sum(1 for a in answers[5:] if a.status == 200 and "X-Snapshot-Stale" in a.headers)
    interval = float(stack.settings["POLL_INTERVAL"])
    return [
        Outcome("a 60 s OpenStack outage of one project", "lists answered stale throughout",
                f"{stale}/{len(answers) - 5} answered 200 and stale after the first 5 s",
                stale == len(answers) - 5),
        Outcome("", "jobs accepted during it finish after it: all",
                f"{sum(1 for s in statuses.values() if s == 'succeeded')}/5",
                sum(1 for s in statuses.values() if s == "succeeded") == 5),
        Outcome("", "poller backs off", f"{polls} polls in 60 s (every {interval:g} s without "
                f"backoff: {60 / interval:.0f})", polls < 60 / interval / 2),
        Outcome("", f"fresh lists after it ≤ one poll interval ({interval:g} s)",
                f"{fresh_after:.2f} s", fresh_after <= interval)]


async def throttling_storm(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """A storm of 429s with Retry-After: 2."""
    project = stack.projects[1]
    assert stack.client is not None
    await client.launch(project)
    seq = stack.client.last_request_seq()
    stack.client.set_faults(project, throttle_count=6, throttle_status=429, retry_after=2)
    href = job_href(await client.create(project, "throttled", "throttled"))
    statuses = await client.finished([href] if href else [], timeout=60)
    posts = [r for r in stack.client.requests(project_id=project, after=seq)
             if r["method"] == "POST" and r["path"].endswith("/servers")]
    early = [b for a, b in zip(posts, posts[1:], strict=False)
             if a["status"] == 429 and b["started"] < a["at"] + 2]
    return [Outcome("429 storm with Retry-After: 2", "no retry before the time it names; "
                    "the job succeeds", f"{len(early)} early of {len(posts)} creates sent; "
                    f"job {next(iter(statuses.values()), 'not accepted')}",
                    not early and list(statuses.values()) == ["succeeded"])]


async def full_redis(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """Redis at maxmemory under noeviction, then room again."""
    project = stack.projects[0]
    listed = await client.list_servers(project)
    launch = await client.launch(project)
    async with aioredis.Redis.from_url(stack.redis.url) as redis:
        maxmemory = await cap_below_use(redis)  # full, and checked to be, before it is judged
        create = await client.call("POST", "/cloud/servers", {**launch, "name": "when-full"})
        lists = await client.list_servers(project)
        await redis.config_set("maxmemory", maxmemory)
    recovered = await client.call("POST", "/cloud/servers",
                                  {**await client.launch(project), "name": "after-full"})
    return [Outcome("Redis at maxmemory (noeviction)", "writes 503, lists answered, recovers",
                    f"create {create.status}, list {lists.status} (was {listed.status}), "
                    f"create after freeing {recovered.status}",
                    create.status == 503 and lists.status == 200 and recovered.status == 202)]


async def attach_under_kills(stack: ChaosStack, client: ChaosClient) -> list[Outcome]:
    """Every worker SIGKILLed just after Nova took each of three attaches (and detaches)."""
    assert stack.client is not None
    emulator, project = stack.client, stack.projects[0]
    server_job = job_href(await client.create(project, "attach-to", "attach-to")) or ""
    made = job_href(await client.retried("POST", "/cloud/volumes",
                                         {"project_id": project, "name": "kept", "size_gb": 1}, 20)) or ""
    await client.finished([server_job, made], timeout=60)
    server_id = (await client.call("GET", server_job)).body["server_id"]
    volume_id = (await client.call("GET", made)).body["result"]["volume_id"]
    seq, hrefs = emulator.last_request_seq(), []
    for round_ in range(3):
        for action in ("attach_volume", "detach_volume"):
            answer = await client.act(project, server_id, action, f"{action}-{round_}", tries=40,
                                      volume_id=volume_id)
            hrefs.extend(h for h in [job_href(answer)] if h)
            await _until_nova_has(emulator, project, seq, len(hrefs))
            for index in range(stack.worker_count):  # whoever ran it dies with Nova at work
                stack.signal_worker(index, signal.SIGKILL)
                stack.start_worker(index)
            await client.finished(hrefs[-1:], timeout=90)
    statuses = await client.finished(hrefs, timeout=30)
    calls = [r for r in emulator.requests(project_id=project, after=seq)
             if "/os-volume_attachments" in r["path"] and r["method"] in ("POST", "DELETE")]
    volume = (await client.call("GET", f"/cloud/volumes/{volume_id}?project_id={project}")).body
    done = sum(1 for s in statuses.values() if s == "succeeded")
    return [Outcome("every worker SIGKILLed just after Nova took each of 3 attaches and 3 detaches",
                    "each done exactly once; all succeed",
                    f"{len(calls)} Nova calls for {len(hrefs)} jobs; {done}/{len(hrefs)} succeeded; "
                    f"volume {volume['status']}", len(calls) == len(hrefs) == 6 and done == 6
                    and volume["status"] == "available")]


async def _until_nova_has(emulator: EmulatorClient, project: str, after: int, calls: int) -> None:
    """Until Nova has been asked for ``calls`` attaches and detaches since ``after``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        asked = [r for r in emulator.requests(project_id=project, after=after)
                 if "/os-volume_attachments" in r["path"] and r["method"] in ("POST", "DELETE")]
        if len(asked) >= calls:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"Nova was not asked for attach or detach number {calls}")
