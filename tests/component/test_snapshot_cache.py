"""A process keeps the lists it has read: an unchanged list is answered without reading its body
again, and, while the change channel is followed, without reading Redis at all; a change made by
another process is seen at once."""
import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from app.snapshot.change_feed import ChangeFollower
from app.snapshot.listing_cache import Listing, ListingCache
from app.snapshot.snapshot_store import SnapshotStore
from tests.support import eventually

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"
FLAVORS = [{"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1, "is_public": True}]


async def test_an_unchanged_list_is_answered_without_reading_its_body_again(redis, monkeypatch):
    store = SnapshotStore(redis)
    await store.replace_resources(PROJECT, "flavors", FLAVORS, 100.0)
    reads = []
    full_read = redis.hgetall
    monkeypatch.setattr(redis, "hgetall", lambda *args, **kwargs: reads.append(args) or full_read(*args))

    first = await store.listing(PROJECT, "flavors")
    second = await store.listing(PROJECT, "flavors")

    assert len(reads) == 1 and first == second and first.items() == FLAVORS


async def test_a_change_by_another_process_is_seen_at_once_and_a_lost_list_is_gone(redis):
    api, worker = SnapshotStore(redis), SnapshotStore(redis)
    await worker.replace_resources(PROJECT, "flavors", FLAVORS, 100.0)
    before = await api.listing(PROJECT, "flavors")
    changed = [{**FLAVORS[0], "name": "m1.renamed"}]

    await worker.replace_resources(PROJECT, "flavors", changed, 101.0)
    after = await api.listing(PROJECT, "flavors")
    await redis.flushdb()  # Redis lost its data
    lost = await api.listing(PROJECT, "flavors")

    assert before.items() == FLAVORS and after.items() == changed and after.etag != before.etag
    assert after.taken_at == 101.0 and lost is None


async def test_the_cache_keeps_a_bounded_number_of_bodies(redis):
    store = SnapshotStore(redis, ListingCache(size=2))
    projects = [f"{number:032x}" for number in range(3)]
    etags = []
    for project in projects:
        await store.replace_resources(project, "flavors", FLAVORS, 100.0)
        etags.append((await store.listing(project, "flavors")).etag)

    kept = [store.cache.kept(project, "flavors", etag) is not None
            for project, etag in zip(projects, etags, strict=True)]
    assert kept == [False, True, True]


@contextlib.asynccontextmanager
async def following(redis, store: SnapshotStore, heartbeat: float = 1.0) -> AsyncIterator[None]:
    """The store's cache follows the change channel for the block."""
    task = asyncio.create_task(ChangeFollower(redis, store.cache, heartbeat).follow())
    try:
        await eventually(lambda: store.cache.following)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def count_commands(redis, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the commands the client sends from now on."""
    sent: list[str] = []
    execute = redis.execute_command

    async def counted(*args, **kwargs):
        sent.append(str(args[0]))
        return await execute(*args, **kwargs)

    monkeypatch.setattr(redis, "execute_command", counted)
    return sent


async def test_a_followed_list_is_answered_without_any_redis_read(redis, monkeypatch):
    store = SnapshotStore(redis, ListingCache(confirm_for=60.0))
    await store.replace_resources(PROJECT, "flavors", FLAVORS, 100.0)
    async with following(redis, store):
        first = await store.listing(PROJECT, "flavors")
        sent = count_commands(redis, monkeypatch)
        again = [await store.listing(PROJECT, "flavors") for _ in range(5)]

    assert sent == [] and again == [first] * 5


async def test_a_polls_read_of_a_followed_flavors_list_reads_only_the_servers_and_poll_state(redis):
    store = SnapshotStore(redis, ListingCache(confirm_for=60.0))
    await store.replace_resources(PROJECT, "flavors", FLAVORS, 100.0)

    async def list_reads() -> int:
        stats = await redis.info("commandstats")
        return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("hmget", "hgetall"))

    async with following(redis, store):
        await store.listing(PROJECT, "flavors")
        before = await list_reads()
        read = (await store.poll_starts([PROJECT]))[PROJECT]

    assert await list_reads() - before == 2  # the poll state's and the servers' HGETALL
    assert read.flavor_ids == {"m1.tiny": "1"} and len(read.servers) == 0


async def test_a_change_published_by_another_process_reaches_a_following_one_at_once(redis):
    api, worker = SnapshotStore(redis, ListingCache(confirm_for=60.0)), SnapshotStore(redis)
    await worker.replace_resources(PROJECT, "flavors", FLAVORS, 100.0)
    changed = [{**FLAVORS[0], "name": "m1.renamed"}]
    async with following(redis, api):
        await api.listing(PROJECT, "flavors")
        await worker.replace_resources(PROJECT, "flavors", changed, 101.0)

        async def renamed() -> bool:
            return (await api.listing(PROJECT, "flavors")).items() == changed

        await eventually(renamed)  # not the 60 s bound: the published change
        await worker.mark_stale(PROJECT)
        await eventually(lambda: _stale(api))


async def _stale(store: SnapshotStore) -> bool:
    listing = await store.listing(PROJECT, "flavors")
    return listing is not None and listing.stale


async def test_a_lost_channel_makes_every_list_be_read_again(redis):
    """A change whose message was lost with the connection is still seen, once subscribed again."""
    api = SnapshotStore(redis, ListingCache(confirm_for=60.0))
    await api.replace_resources(PROJECT, "flavors", FLAVORS, 100.0)
    async with following(redis, api, heartbeat=0.2):
        await api.listing(PROJECT, "flavors")
        await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await redis.hset(f"cs:{{{PROJECT}}}:list:flavors", "taken_at", "102.0")  # not published

        async def retaken() -> bool:
            return (await api.listing(PROJECT, "flavors")).taken_at == 102.0

        await eventually(retaken)
        await eventually(lambda: api.cache.following)


async def test_a_silent_channel_counts_as_lost(redis):
    api = SnapshotStore(redis, ListingCache(confirm_for=60.0))
    async with following(redis, api, heartbeat=0.1):
        await redis.execute_command("CLIENT", "PAUSE", "1500", "ALL")  # no answer to pings
        await eventually(lambda: not api.cache.following, timeout=1.4)
        await eventually(lambda: api.cache.following)


def test_a_read_begun_before_a_change_is_kept_but_not_confirmed():
    cache = ListingCache(confirm_for=60.0)
    cache.follow()
    listing = Listing(body=b"[]", etag='"a"', taken_at=1.0, stale=False)
    mark = cache.reading()
    cache.changed(PROJECT)  # heard while the read was under way
    cache.keep(PROJECT, "flavors", listing, mark)
    later = cache.reading()
    cache.keep("another", "flavors", listing, later)

    assert cache.confirmed(PROJECT, "flavors") is None and cache.kept(PROJECT, "flavors", '"a"') == listing
    assert cache.confirmed("another", "flavors") == listing


def test_nothing_is_confirmed_while_the_channel_is_not_followed():
    cache = ListingCache(confirm_for=60.0)
    listing = Listing(body=b"[]", etag='"a"', taken_at=1.0, stale=False)
    cache.keep(PROJECT, "flavors", listing, cache.reading())
    cache.follow()
    mark = cache.reading()
    cache.keep(PROJECT, "kept", listing, mark)
    cache.lose()

    assert cache.confirmed(PROJECT, "flavors") is None and cache.confirmed(PROJECT, "kept") is None


def test_confirmation_ends_after_its_bound():
    now = [0.0]
    cache = ListingCache(confirm_for=1.0, monotonic=lambda: now[0])
    cache.follow()
    listing = Listing(body=b"[]", etag='"a"', taken_at=1.0, stale=False)
    cache.keep(PROJECT, "flavors", listing, cache.reading())
    confirmed = cache.confirmed(PROJECT, "flavors")
    now[0] = 1.5

    assert confirmed == listing and cache.confirmed(PROJECT, "flavors") is None


def test_a_lost_channel_confirms_no_read_begun_before_it_even_of_a_project_changed_earlier():
    cache = ListingCache(confirm_for=60.0)
    listing = Listing(body=b"[]", etag='"a"', taken_at=1.0, stale=False)
    cache.follow()
    cache.changed(PROJECT)  # heard before the read began
    mark = cache.reading()
    cache.lose()
    cache.follow()
    cache.keep(PROJECT, "flavors", listing, mark)

    assert cache.confirmed(PROJECT, "flavors") is None


def test_a_new_subscription_confirms_nothing_read_before_it():
    """redis-py may resubscribe a dropped connection by itself: changes in between were missed."""
    cache = ListingCache(confirm_for=60.0)
    listing = Listing(body=b"[]", etag='"a"', taken_at=1.0, stale=False)
    cache.follow()
    cache.keep(PROJECT, "flavors", listing, cache.reading())
    mark = cache.reading()
    cache.follow()  # subscribed again
    cache.keep(PROJECT, "images", listing, mark)

    assert cache.confirmed(PROJECT, "flavors") is None and cache.confirmed(PROJECT, "images") is None
