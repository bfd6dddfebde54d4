"""A process keeps the list bodies it has read: an unchanged list is answered without reading its
body again, and a change made by another process is seen at once."""
from app.snapshot.snapshot_store import SnapshotStore

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
    store = SnapshotStore(redis, cached_bodies=2)
    for number in range(3):
        project = f"{number:032x}"
        await store.replace_resources(project, "flavors", FLAVORS, 100.0)
        await store.listing(project, "flavors")

    assert len(store._bodies) == 2
