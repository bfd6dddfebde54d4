"""``POST /cloud/servers``: validation, the 202 answer, the job, BUILD -> ACTIVE, idempotency."""
import asyncio
import io
import time

import pytest

from app.events.stream import EventStream
from app.jobs.idempotency import IdempotencyStore, KeyUse
from app.store import redis_layout as layout
from app.store.redis_layout import ListingField
from tests.service.test_job_durability import _with_project
from tests.service.waiting import changed_behind_the_api
from tests.service.writing import create_body, finished_job, nova_servers_named, post_server
from tests.support import eventually


@pytest.fixture
async def started(service, api_client):
    setup = service(servers=1)
    return setup, await api_client(setup.settings)


@pytest.fixture
def four_second_builds(start_emulator):
    """Builds long enough that "BUILD at once" holds on a loaded machine."""
    return start_emulator("--build-delay", "4", "--delete-delay", "0.5")


async def test_create_answers_202_with_the_id_and_the_server_goes_build_to_active(
        service, api_client, project_factory, four_second_builds, workers_running, redis, tmp_path):
    setup = _with_project(service, project_factory(client=four_second_builds, servers=1), tmp_path)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)
    async with workers_running(setup.settings):
        response = await post_server(client, setup, body)
        answer = await response.json()
        listed = await (await client.get(f"/cloud/servers?project_id={setup.project_id}&name=web-01",
                                         headers=setup.headers())).json()

        async def active():
            shown = await client.get(f"/cloud/servers/{answer['id']}?project_id={setup.project_id}",
                                     headers=setup.headers())
            return (await shown.json())["status"] == "ACTIVE"

        await eventually(active)
        job = await finished_job(client, setup, answer["job"]["href"])

    assert response.status == 202 and answer["status"] == "BUILD" and answer["id"]
    assert response.headers["Location"] == answer["job"]["href"]
    assert answer["job"]["href"] == f"/cloud/jobs/{answer['job']['id']}?project_id={setup.project_id}"
    assert [(s["id"], s["status"]) for s in listed] == [(answer["id"], "BUILD")]  # at once
    assert (job["kind"], job["status"], job["server_id"], job["attempts"]) == (
        "create", "succeeded", answer["id"], 1)
    assert set(job) == {"id", "kind", "status", "server_id", "attempts", "error", "created_at",
                        "updated_at", "requested_by", "result"}
    assert job["result"] is None  # only a snapshot's job makes something
    assert job["requested_by"] == "admin"  # the token's name, never the token
    [server] = nova_servers_named(setup.projects[0], "web-01")
    assert server.flavor.original_name == "m1.small" and server.metadata["team"] == "search"
    assert server.metadata["cloud-servers-job"] == answer["job"]["id"]
    events = [e["type"] for e in await EventStream(redis).read(setup.project_id)]
    assert events.count("server.created") == 1 and "server.status_changed" in events


async def test_without_a_worker_the_id_is_null_and_the_job_tells_it_later(service, api_client,
                                                                          workers_running):
    setup = service(servers=0, create_wait=0.3)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)

    answer = await (await post_server(client, setup, body)).json()
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, answer["job"]["href"])

    assert answer["id"] is None and answer["job"]["status"] == "queued"
    assert job["status"] == "succeeded" and job["server_id"]


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"), ({"name": "x" * 256}, "name"), ({"name": 7}, "name"),
    ({"flavor_id": "m9.huge"}, "flavor_id"), ({"image_id": "no-such-image"}, "image_id"),
    ({"network_ids": []}, "network_ids"), ({"network_ids": ["no-such-net"]}, "network_ids"),
    ({"network_ids": "net"}, "network_ids"), ({"key_name": "nope"}, "key_name"),
    ({"metadata": {"cloud-servers-job": "x"}}, "metadata"), ({"metadata": {"k": 1}}, "metadata.k.value"),
    ({"colour": "blue"}, "colour"), ({"flavor_id": "m1.tiny", "image_id": "ubuntu"}, "flavor_id"),
])
async def test_invalid_requests_are_422_naming_the_field_and_nothing_is_queued(
        started, redis, change, field):
    setup, client = started
    body = await create_body(client, setup, **change)
    if change.get("image_id") == "ubuntu":
        images = await (await client.get(f"/cloud/images?project_id={setup.project_id}",
                                         headers=setup.headers())).json()
        body["image_id"] = next(i["id"] for i in images if i["name"].startswith("ubuntu"))

    response = await post_server(client, setup, body)
    problem = await response.json(content_type="application/problem+json")

    assert response.status == 422 and field in problem["errors"], problem
    assert await redis.exists(layout.job_queue(setup.project_id)) == 0


@pytest.mark.parametrize("body, status", [
    ({"name": "x"}, 400),  # no project_id
    ({"project_id": "not-a-uuid", "name": "x"}, 400),
])
async def test_missing_or_malformed_project_id_in_the_body_is_400(started, body, status):
    setup, client = started

    assert (await post_server(client, setup, body)).status == status


async def test_body_problems_415_400_413(started):
    setup, client = started
    url, headers = "/cloud/servers", setup.headers()

    wrong_type = await client.post(url, data="{}", headers={**headers, "Content-Type": "text/plain"})
    malformed = await client.post(url, data="{nope", headers={**headers, "Content-Type": "application/json"})
    not_object = await client.post(url, json=[1, 2], headers=headers)
    too_big = await client.post(url, data=io.BytesIO(b"x" * (1024 * 1024 + 1)),
                                headers={**headers, "Content-Type": "application/json"})
    anonymous = await client.post(url, json={})

    assert [r.status for r in (wrong_type, malformed, not_object, too_big, anonymous)] == [
        415, 400, 400, 413, 401]


async def test_out_of_scope_project_is_403(service, api_client):
    setup = service(projects=2, servers=0)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, project_index=1)

    response = await client.post("/cloud/servers", json=body, headers=setup.headers("p0"))

    assert response.status == 403


async def test_idempotency_key_replays_the_first_answer_and_creates_once(started, workers_running):
    setup, client = started
    body = await create_body(client, setup, name="once")
    async with workers_running(setup.settings):
        first = await post_server(client, setup, body, **{"Idempotency-Key": "abc-123"})
        again = await post_server(client, setup, body, **{"Idempotency-Key": "abc-123"})
        other = await post_server(client, setup, {**body, "name": "twice"},
                                  **{"Idempotency-Key": "abc-123"})
        await finished_job(client, setup, (await first.json())["job"]["href"])
        later = await post_server(client, setup, body, **{"Idempotency-Key": "abc-123"})

    assert first.status == again.status == later.status == 202
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == later.headers["Idempotent-Replayed"] == "true"
    assert {**await again.json(), "job": None} == {**await first.json(), "job": None}
    assert (await later.json())["job"] == {**(await first.json())["job"], "status": "succeeded"}
    assert later.headers["Location"] == first.headers["Location"]
    assert other.status == 422
    assert len(nova_servers_named(setup.projects[0], "once")) == 1
    assert nova_servers_named(setup.projects[0], "twice") == []


async def test_a_key_whose_first_request_died_before_queueing_is_taken_over(started, redis,
                                                                          workers_running):
    setup, client = started
    body = await create_body(client, setup, name="second-chance")
    claim = IdempotencyStore(redis).claim(setup.project_id, "k-1", KeyUse("whatever", "lost-job", None))
    await redis.set(claim.key, claim.value)  # a key whose job record never came
    async with workers_running(setup.settings):
        response = await post_server(client, setup, body, **{"Idempotency-Key": "k-1"})
        await finished_job(client, setup, (await response.json())["job"]["href"])

    assert response.status == 202
    assert len(nova_servers_named(setup.projects[0], "second-chance")) == 1


async def test_the_same_key_in_another_project_is_another_request(service, api_client, workers_running):
    setup = service(projects=2, servers=0)
    client = await api_client(setup.settings)
    bodies = [await create_body(client, setup, project_index=i, name="keyed") for i in (0, 1)]
    async with workers_running(setup.settings):
        answers = [await (await post_server(client, setup, b, **{"Idempotency-Key": "k"})).json()
                   for b in bodies]
        for answer in answers:
            await finished_job(client, setup, answer["job"]["href"])

    assert answers[0]["job"]["id"] != answers[1]["job"]["id"]
    assert all(len(nova_servers_named(p, "keyed")) == 1 for p in setup.projects)


async def test_a_flavor_can_be_named_by_id_as_well_as_by_name(service, api_client):
    setup = service(servers=0, create_wait=0)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, flavor_id="2")

    response = await post_server(client, setup, body)

    assert response.status == 202 and (await response.json())["id"] is None


async def test_an_image_missing_from_an_older_snapshot_is_looked_up_again_before_a_422(
        service, api_client, redis):
    setup = service(servers=0, create_wait=0)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)  # the images snapshot is taken now
    body["image_id"] = setup.projects[0].emulator.add_private_image(setup.project_id, "just-uploaded")

    images_listing = layout.listing(setup.project_id, "images")

    await redis.hset(images_listing, ListingField.TAKEN_AT, repr(time.time()))
    await changed_behind_the_api(client, redis, setup.project_id)
    fresh = await post_server(client, setup, body)  # a snapshot just taken is trusted
    await redis.hset(images_listing, ListingField.TAKEN_AT, repr(time.time() - 60))
    await changed_behind_the_api(client, redis, setup.project_id)
    older = await post_server(client, setup, body)

    assert fresh.status == 422 and "image_id" in (await fresh.json(content_type=None))["errors"]
    assert older.status == 202
    images = await (await client.get(f"/cloud/images?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    assert "just-uploaded" in {i["name"] for i in images}  # the lookup refreshed the snapshot


async def test_concurrent_requests_with_one_key_make_one_job(service, api_client):
    setup = service(servers=0, create_wait=0)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="racing")

    rounds = [await asyncio.gather(*(post_server(client, setup, body, **{"Idempotency-Key": f"r-{n}"})
                                     for _ in range(3))) for n in range(15)]

    for answers in rounds:
        jobs = {(await answer.json())["job"]["id"] for answer in answers}
        assert [a.status for a in answers] == [202] * 3 and len(jobs) == 1


async def test_the_services_own_metadata_keys_stay_in_nova_and_out_of_answers_and_events(
        started, workers_running, redis):
    setup, client = started
    body = await create_body(client, setup, name="own-keys")
    async with workers_running(setup.settings):
        created = await (await post_server(client, setup, body, **{"Idempotency-Key": "own"})).json()
        server_id = (await finished_job(client, setup, created["job"]["href"]))["server_id"]
        setup.projects[0].emulator.set_server_status(server_id, "SHUTOFF")  # a poll sees it too

        async def polled():
            listed = await (await client.get(f"/cloud/servers?project_id={setup.project_id}&name=own-keys",
                                             headers=setup.headers())).json()
            return listed if listed and listed[0]["status"] == "SHUTOFF" else None

        listed = await eventually(polled, timeout=20)
        shown = await (await client.get(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                        headers=setup.headers())).json()
    events = await EventStream(redis).after(setup.project_id, "0-0", 100)
    about = [e.data["server"]["metadata"] for e in events
             if (e.data.get("server") or {}).get("id") == server_id]
    in_nova = nova_servers_named(setup.projects[0], "own-keys")[0].metadata

    assert shown["metadata"] == listed[0]["metadata"] == {"team": "search"}
    assert about and all(metadata == {"team": "search"} for metadata in about)
    assert set(in_nova) == {"team", "cloud-servers-job", "cloud-servers-idempotency"}
    assert await redis.hget(layout.server_tags(setup.project_id), server_id) == \
        in_nova["cloud-servers-idempotency"].encode()
