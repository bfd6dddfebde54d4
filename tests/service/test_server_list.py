"""``GET /cloud/servers``: the snapshot, its age and ETag, filters, paging, staleness."""
import asyncio

from app.snapshot.snapshot_store import SnapshotStore
from tests.support import ManualClock


def servers_path(setup, **query):
    params = "&".join(f"{k}={v}" for k, v in {"project_id": setup.project_id, **query}.items())
    return f"/cloud/servers?{params}"


async def test_a_project_never_seen_is_fetched_live_once(service, api_client):
    setup = service(servers=3)
    client = await api_client(setup.settings)

    response = await client.get(servers_path(setup), headers=setup.headers("p0"))
    servers = await response.json()

    assert response.status == 200 and response.headers["Content-Type"].startswith("application/json")
    assert len(servers) == 3 and int(response.headers["X-Snapshot-Age"]) <= 1
    assert {s["status"] for s in servers} == {"ACTIVE"}
    assert set(servers[0]) == {"id", "name", "status", "task_state", "power_state", "addresses",
                               "flavor", "image", "key_name", "availability_zone",
                               "volumes_attached", "metadata", "created", "updated"}


async def test_server_fields_have_the_contracts_types(service, api_client):
    setup = service(servers=3)
    client = await api_client(setup.settings)

    servers = await (await client.get(servers_path(setup), headers=setup.headers())).json()

    by_image = {s["image"] is None: s for s in servers}
    volume_booted, image_booted = by_image[True], by_image[False]
    assert volume_booted["volumes_attached"][0]["delete_on_termination"] is True
    assert image_booted["flavor"] == {"id": "1"} and image_booted["power_state"] == 1
    assert image_booted["task_state"] is None and image_booted["key_name"] == "my-keypair"
    [address] = image_booted["addresses"]["private"]
    assert set(address) == {"addr", "version", "type"} and address["type"] == "fixed"
    assert image_booted["availability_zone"] == "nova" and image_booted["metadata"] == {"seeded": "true"}
    assert image_booted["created"].endswith("Z")


async def test_etag_and_if_none_match_give_304(service, api_client):
    setup = service(servers=2)
    client = await api_client(setup.settings)
    first = await client.get(servers_path(setup), headers=setup.headers())

    again = await client.get(servers_path(setup), headers=setup.headers(
        **{"If-None-Match": first.headers["ETag"]}))
    other = await client.get(servers_path(setup), headers=setup.headers(**{"If-None-Match": '"x"'}))

    assert again.status == 304 and again.headers["ETag"] == first.headers["ETag"]
    assert "X-Snapshot-Age" in again.headers
    assert other.status == 200


async def test_filters_by_status_and_name_substring(service, api_client):
    setup = service(servers=3)
    client = await api_client(setup.settings)
    project = setup.projects[0]
    target = sorted(project.conn.compute.servers(), key=lambda s: s.name)[1]
    project.emulator.set_server_status(target.id, "SHUTOFF")

    shutoff = await (await client.get(servers_path(setup, status="shutoff"), headers=setup.headers())).json()
    named = await (await client.get(servers_path(setup, name="SERVER-2"), headers=setup.headers())).json()

    assert [s["id"] for s in shutoff] == [target.id]
    assert [s["name"] for s in named] == [target.name]


async def test_limit_and_marker_page_with_a_link_header(service, api_client):
    setup = service(servers=5)
    client = await api_client(setup.settings)
    everything = await (await client.get(servers_path(setup), headers=setup.headers())).json()

    pages, path = [], servers_path(setup, limit=2)
    while path:
        response = await client.get(path, headers=setup.headers())
        pages.append([s["id"] for s in await response.json()])
        link = response.headers.get("Link")
        path = link[1:link.index(">")] if link else None

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == [s["id"] for s in everything]


async def test_bad_limit_and_unknown_marker_are_400(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)

    for query in ({"limit": 0}, {"limit": 5000}, {"limit": "ten"}, {"marker": "nope"}):
        response = await client.get(servers_path(setup, **query), headers=setup.headers())
        body = await response.json(content_type="application/problem+json")
        assert response.status == 400 and set(body["errors"]) & {"limit", "marker"}, query


async def test_an_old_snapshot_is_refreshed_live(service, api_client):
    setup = service(servers=2, snapshot_max_age=1)
    clock = ManualClock()
    client = await api_client(setup.settings, clock)
    await client.get(servers_path(setup), headers=setup.headers())
    project = setup.projects[0]
    project.boot("newcomer")
    clock.advance(1.2)

    response = await client.get(servers_path(setup), headers=setup.headers())

    assert "newcomer" in {s["name"] for s in await response.json()}
    assert int(response.headers["X-Snapshot-Age"]) <= 1


async def test_nova_down_answers_the_old_snapshot_marked_stale(service, api_client):
    setup = service(servers=2, snapshot_max_age=1)
    clock = ManualClock()
    client = await api_client(setup.settings, clock)
    before = await (await client.get(servers_path(setup), headers=setup.headers())).json()
    setup.projects[0].emulator.set_faults(setup.project_id, outage=True)
    clock.advance(1.2)

    response = await client.get(servers_path(setup), headers=setup.headers())

    assert response.status == 200 and response.headers["X-Snapshot-Stale"] == "true"
    assert await response.json() == before and int(response.headers["X-Snapshot-Age"]) >= 1


async def test_nova_down_and_no_snapshot_is_503(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    setup.projects[0].emulator.set_faults(setup.project_id, outage=True)

    response = await client.get(servers_path(setup), headers=setup.headers())

    assert response.status == 503
    body = await response.json(content_type="application/problem+json")
    assert body["type"] == "/problems/openstack-unavailable"


async def test_concurrent_requests_share_one_nova_call(service, api_client):
    setup = service(servers=2)
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    emulator.set_faults(setup.project_id, latency=0.3)
    after = emulator.last_request_seq()

    answers = await asyncio.gather(*(client.get(servers_path(setup), headers=setup.headers())
                                     for _ in range(5)))

    assert [a.status for a in answers] == [200] * 5
    listings = [r for r in emulator.requests(project_id=setup.project_id, after=after)
                if r["path"] == "/compute/v2.1/servers/detail"]
    assert len(listings) == 1


async def test_unfiltered_list_is_the_stored_body_byte_for_byte(service, api_client, redis):
    setup = service(servers=3)
    client = await api_client(setup.settings)

    response = await client.get(servers_path(setup), headers=setup.headers(**{"Accept-Encoding": "identity"}))
    stored = await SnapshotStore(redis).listing(setup.project_id, "servers")

    assert await response.read() == stored.body and response.headers["ETag"] == stored.etag
