"""The poll schedule spread over buckets: every project claimed once per lease, buckets visited
fairly, a claim released only by its claimant."""
from app import redis_layout as layout
from app.snapshot.schedule import PollSchedule

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
