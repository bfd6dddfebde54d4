"""``GET /cloud/events``: the same events as the webhooks, live; ``Last-Event-ID`` misses none."""
import asyncio
import itertools
import json

from app.events.stream import EventStream
from tests.service.writing import create_body, finished_job, post_server


async def read_events(response, count: int, timeout: float = 20.0) -> list[dict]:
    """The next ``count`` SSE messages (comments included as ``{"comment": ...}``)."""
    messages, current = [], {}
    async with asyncio.timeout(timeout):
        while len(messages) < count:
            line = (await response.content.readline()).decode().rstrip("\r\n")
            if line.startswith(":"):
                messages.append({"comment": line[1:].strip()})
            elif line == "":
                if current:
                    messages.append(current)
                    current = {}
            else:
                name, _, value = line.partition(":")
                current[name] = value.removeprefix(" ")
    return messages


def events_url(setup, types: str = "") -> str:
    return f"/cloud/events?project_id={setup.project_id}" + (f"&types={types}" if types else "")


async def test_the_stream_carries_a_creates_events_and_a_reconnect_misses_none(
        service, api_client, workers_running, redis):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    live = await client.get(events_url(setup), headers=setup.headers())

    async with workers_running(setup.settings):
        created = await (await post_server(client, setup, await create_body(client, setup))).json()
        await finished_job(client, setup, created["job"]["href"])
        received = await read_events(live, 3)
    live.close()
    stream = [e for e in await EventStream(redis).read(setup.project_id)
              if e["type"] in ("server.created", "server.status_changed", "job.succeeded")]
    resumed = await client.get(events_url(setup),
                               headers=setup.headers(**{"Last-Event-ID": received[0]["id"]}))
    replay = await read_events(resumed, 2)
    resumed.close()

    assert live.status == 200 and live.content_type == "text/event-stream"
    assert [m["event"] for m in received] == ["server.created", "server.status_changed", "job.succeeded"]
    assert [json.loads(m["data"])["id"] for m in received] == [e["id"] for e in stream]
    payload = json.loads(received[1]["data"])
    assert set(payload) == {"id", "type", "timestamp", "project_id", "data"}
    assert payload["data"]["to"] == "ACTIVE"
    assert [m["id"] for m in replay] == [m["id"] for m in received[1:]]
    assert [m["data"] for m in replay] == [m["data"] for m in received[1:]]


async def test_types_narrow_the_stream_and_a_heartbeat_comment_keeps_it_open(
        service, api_client, workers_running):
    setup = service(servers=1, events_heartbeat="0.3")
    client = await api_client(setup.settings)
    live = await client.get(events_url(setup, "job.succeeded"), headers=setup.headers())

    async with workers_running(setup.settings):
        created = await (await post_server(client, setup, await create_body(client, setup))).json()
        await finished_job(client, setup, created["job"]["href"])
        messages = await read_events(live, 1)
        while "event" not in messages[-1]:
            messages += await read_events(live, 1)
    live.close()

    assert {"comment": "ping"} in messages
    assert [m["event"] for m in messages if "event" in m] == ["job.succeeded"]


async def test_a_last_event_id_older_than_the_stream_is_reported_as_a_gap(service, api_client, redis):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    await redis.xadd(f"cs:{{{setup.project_id}}}:events", {"id": "e1", "type": "server.created",
                     "server_id": "s", "timestamp": "1", "data": "{}"}, id="5-0")

    resumed = await client.get(events_url(setup), headers=setup.headers(**{"Last-Event-ID": "1-0"}))
    first = await read_events(resumed, 2)
    resumed.close()

    assert first[0]["event"] == "gap" and json.loads(first[0]["data"])["last_event_id"] == "1-0"
    assert (first[1]["event"], first[1]["id"]) == ("server.created", "5-0")


async def test_the_stream_takes_the_usual_token_and_scope_rules(service, api_client):
    setup = service(projects=2, servers=0)
    client = await api_client(setup.settings)

    anonymous = await client.get(events_url(setup))
    outsider = await client.get(events_url(setup), headers=setup.headers("p1"))
    bad_resume = await client.get(events_url(setup), headers=setup.headers(**{"Last-Event-ID": "x"}))
    bad_type = await client.get(events_url(setup, "server.exploded"), headers=setup.headers())

    assert anonymous.status == 401 and outsider.status == 403
    assert bad_resume.status == 400 and bad_type.status == 400
    assert "Last-Event-ID" in (await bad_resume.json())["errors"]


async def test_the_stream_is_sent_with_the_edges_headers(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    stream = await client.get(events_url(setup), headers=setup.headers(**{"X-Request-Id": "trace-7"}))
    stream.close()

    assert stream.status == 200
    assert (stream.headers["Server"], stream.headers["X-Request-Id"]) == ("cloud-servers-api", "trace-7")


async def test_open_streams_are_counted(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    streams = [await client.get(events_url(setup), headers=setup.headers()) for _ in range(3)]
    metrics = await (await client.get("/metrics")).text()
    for stream in streams:
        stream.close()

    assert "event_streams_open 3.0" in metrics


async def test_the_stream_takes_each_type_each_pair_and_all_its_document_allows_and_refuses_others(
        service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    spec = await (await client.get("/cloud/openapi.json")).json()
    types = next(p for p in spec["paths"]["/cloud/events"]["get"]["parameters"] if p["name"] == "types")
    known = types["schema"]["items"]["enum"]
    # every list would be 2**n - 1 streams (1,023 for ten types): each alone, each pair, and all
    allowed = [",".join(chosen) for size in (1, 2) for chosen in itertools.combinations(known, size)]
    allowed.append(",".join(known))

    statuses = set()
    for value in allowed:
        response = await client.get(events_url(setup, value), headers=setup.headers())
        statuses.add(response.status)
        response.close()
    refused = await client.get(events_url(setup, "0"), headers=setup.headers())

    assert (types["style"], types["explode"]) == ("form", False) and types["schema"]["maxItems"] == len(known)
    assert statuses == {200} and refused.status == 400
