"""The event stream holds each event id once, in the order events were observed."""
from app.events.server_events import CREATED, DELETED, STATUS_CHANGED, ServerEvent
from app.events.stream import EventStream
from app.store import redis_layout as layout

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"
OTHER = "9a8b7c6d5e4f40318293a4b5c6d7e8f9"


def event(kind: str, server_id: str, fingerprint: str, project_id: str = PROJECT) -> ServerEvent:
    return ServerEvent(project_id, kind, server_id, fingerprint, {"server": {"id": server_id}})


async def test_a_repeated_event_is_appended_once(redis):
    stream = EventStream(redis)
    first, second, third = (event(CREATED, "a", "created"), event(STATUS_CHANGED, "a", "ACTIVE|"),
                            event(DELETED, "a", "gone"))

    await stream.append([first, second])
    await stream.append([second, third, first])

    assert [(e["type"], e["id"]) for e in await stream.read(PROJECT)] == [
        (CREATED, first.id), (STATUS_CHANGED, second.id), (DELETED, third.id)]


async def test_events_of_two_projects_go_to_their_own_streams(redis):
    stream = EventStream(redis)

    await stream.append([event(CREATED, "a", "created"), event(CREATED, "b", "created", OTHER),
                         event(DELETED, "a", "gone")])

    assert [e["type"] for e in await stream.read(PROJECT)] == [CREATED, DELETED]
    assert [e["server_id"] for e in await stream.read(OTHER)] == ["b"]


async def test_the_remembered_ids_are_capped_like_the_stream(redis):
    stream = EventStream(redis, clock=iter(range(100)).__next__, cap=3)

    for number in range(5):
        await stream.append([event(CREATED, f"s{number}", "created")])

    remembered = await redis.zrange(layout.event_ids(PROJECT), 0, -1)
    assert remembered == [event(CREATED, f"s{n}", "created").id.encode() for n in (2, 3, 4)]
