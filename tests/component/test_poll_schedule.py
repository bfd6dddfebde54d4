"""The poll schedule spread over buckets: every project claimed once per lease, buckets visited
fairly, a claim released only by its claimant, buckets held by one worker each."""
import pytest
from redis.exceptions import ResponseError

from app.snapshot.schedule import Holding, PollSchedule, Release
from app.snapshot.snapshot_store import SnapshotStore
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from app.store.redis_scripts import call_together

PROJECTS = [f"{n:032x}" for n in range(64)]


async def test_every_due_project_is_claimed_once_across_the_buckets(redis):
    schedule = PollSchedule(redis)
    await schedule.register(PROJECTS, now=100.0)

    first = await schedule.claim(now=100.0, lease=30.0, limit=40)
    second = await schedule.claim(now=100.0, lease=30.0, limit=40)
    third = await schedule.claim(now=100.0, lease=30.0, limit=40)
    buckets = {layout.schedule_bucket(p) for p in PROJECTS}

    assert len(first) == 40 and len(second) == 24 and third == {}
    assert set(first) | set(second) == set(PROJECTS) and not set(first) & set(second)
    assert len(buckets) == layout.SCHEDULE_BUCKETS and sorted(await schedule.scheduled()) == PROJECTS
    assert await schedule.next_due() == 130.0


async def test_successive_claims_start_from_different_buckets(redis):
    schedule = PollSchedule(redis)
    await schedule.register(PROJECTS, now=100.0)

    claimed = [next(iter(await schedule.claim(now=100.0, lease=30.0, limit=1)))
               for _ in range(layout.SCHEDULE_BUCKETS)]

    assert len({layout.schedule_bucket(p) for p in claimed}) == layout.SCHEDULE_BUCKETS


async def test_only_the_claimant_releases_and_a_polled_project_is_not_expedited(redis):
    schedule = PollSchedule(redis)
    await schedule.register(PROJECTS[:1], now=100.0)
    [(project, token)] = (await schedule.claim(now=100.0, lease=30.0, limit=5)).items()

    expedited = await schedule.expedite(project, now=101.0)
    stranger = await schedule.release(project, "not-the-token", next_due=110.0)
    owner = await schedule.release(project, token, next_due=110.0)
    due_then = await schedule.next_due()
    await schedule.forget([project])

    assert (expedited, stranger, owner, due_then) == (False, False, True, 110.0)
    assert await schedule.scheduled() == [] and await schedule.next_due() is None


async def test_polls_writes_and_releases_go_in_one_round_trip_even_to_a_redis_that_lost_its_scripts(
        redis):
    """Each poll's write, then its release, all in one pipeline; after SCRIPT FLUSH (a restart)
    each refused call is run again alone, loading its script, and all of them still happen."""
    schedule, snapshot = PollSchedule(redis), SnapshotStore(redis)
    await schedule.register(PROJECTS[:3], now=100.0)
    claims = await schedule.claim(now=100.0, lease=30.0, limit=3)
    releases = [Release(project, "stolen" if n == 2 else token, 140.0,
                        snapshot.change_call(project, [], [], taken_at=100.0,
                                             poll_state={PollField.CYCLE: "1"}), 110.0 + n)
                for n, (project, token) in enumerate(claims.items())]

    lost = await schedule.release_after_writes(releases[:1])
    await redis.script_flush()
    lost += await schedule.release_after_writes(releases[1:])

    assert lost == [releases[2].project_id]
    for project in claims:
        assert await redis.hget(layout.poll_state(project), PollField.CYCLE) == b"1"
    assert [await redis.zscore(layout.schedule_due(layout.schedule_bucket(r.project_id)), r.project_id)
            for r in releases] == [140.0, 140.0, 130.0]
    assert await schedule.polled_at() == {r.project_id: r.polled_at for r in releases}  # all polled
    await schedule.forget([releases[0].project_id])
    assert set(await schedule.polled_at()) == {r.project_id for r in releases[1:]}


async def test_a_failing_call_among_scripts_sent_together_is_raised(redis):
    schedule = PollSchedule(redis)
    await schedule.register(PROJECTS[:1], now=100.0)
    await redis.set(layout.poll_state(PROJECTS[0]), "not a hash")
    write = SnapshotStore(redis).change_call(PROJECTS[0], [], [], poll_state={PollField.CYCLE: "1"})

    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await call_together(redis, [write])


async def test_a_worker_lets_go_of_buckets_beyond_its_share_and_another_takes_them(redis):
    schedule = PollSchedule(redis)
    await schedule.register(PROJECTS, now=100.0)
    first, second = Holding("first", hold=60.0, grace=30.0), Holding("second", hold=60.0, grace=30.0)
    assert len(await schedule.claim(now=100.0, lease=5.0, limit=64, holding=first)) == 64
    assert len(first.held) == layout.SCHEDULE_BUCKETS  # alone, it holds every bucket

    first.share_among(2)
    second.share_among(2)
    await schedule.let_go(first, first.excess())
    claimed = await schedule.claim(now=106.0, lease=5.0, limit=64, holding=second)  # leases ran out

    assert len(first.held) == len(second.held) == layout.SCHEDULE_BUCKETS // 2
    assert not first.held & second.held
    assert {layout.schedule_bucket(p) for p in claimed} == second.held  # the others' are not overdue
    overdue = await schedule.claim(now=136.0, lease=5.0, limit=64, holding=second)
    assert {layout.schedule_bucket(p) for p in overdue} == set(range(layout.SCHEDULE_BUCKETS))  # the
    # first's projects too: overdue by more than the grace, their holder fell behind
    assert len(second.held) == layout.SCHEDULE_BUCKETS // 2  # it helps without taking them over


async def test_a_busy_worker_still_takes_the_buckets_no_one_holds_up_to_its_share(redis):
    schedule = PollSchedule(redis)
    await schedule.register(PROJECTS, now=100.0)
    worker = Holding("busy", hold=60.0, grace=30.0)
    worker.share_among(2)

    for _ in range(2 * layout.SCHEDULE_BUCKETS):  # its own buckets always have due projects
        claimed = await schedule.claim(now=100.0, lease=5.0, limit=2, holding=worker)
        for project_id, token in claimed.items():
            await schedule.release(project_id, token, next_due=100.0)

    assert len(worker.held) == layout.SCHEDULE_BUCKETS // 2  # no bucket was left to starve
