"""``DELETE /cloud/servers/{id}``: 204, deleting in the list, then gone; once per server."""

import pytest

from app.events.stream import EventStream
from app.store import redis_layout as layout
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually


def delete_path(setup, server_id):
    return f"/cloud/servers/{server_id}?project_id={setup.project_id}"


async def listed_ids(client, setup):
    response = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    return {s["id"]: s for s in await response.json()}


async def test_delete_shows_deleting_then_the_server_is_gone(listed_service, workers_running, redis):
    setup, client, listed = listed_service
    target = listed[0]["id"]

    response = await client.delete(delete_path(setup, target), headers=setup.headers("p0"))
    deleting = (await listed_ids(client, setup))[target]
    async with workers_running(setup.settings):
        async def gone():
            return target not in await listed_ids(client, setup)

        await eventually(gone)

    assert response.status == 204 and deleting["task_state"] == "deleting"
    assert target not in {s.id for s in setup.projects[0].conn.compute.servers()}
    events = await EventStream(redis).read(setup.project_id)
    assert [e["server_id"] for e in events if e["type"] == "server.deleted"] == [target]  # once
    assert not await redis.exists(layout.deleting(setup.project_id, target))


async def test_a_second_delete_is_204_without_a_second_job(listed_service, workers_running):
    setup, client, listed = listed_service
    target = listed[0]["id"]
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()

    first = await client.delete(delete_path(setup, target), headers=setup.headers())
    second = await client.delete(delete_path(setup, target), headers=setup.headers())
    async with workers_running(setup.settings):
        async def gone():
            return target not in await listed_ids(client, setup)

        await eventually(gone)

    assert first.status == second.status == 204
    deletes = [r for r in emulator.requests(project_id=setup.project_id, after=after)
               if r["method"] == "DELETE"]
    assert len(deletes) == 1


async def test_unknown_server_is_404_and_another_projects_server_too(listed_service, project_factory):
    setup, client, _ = listed_service
    stranger = next(project_factory(servers=1).conn.compute.servers())

    unknown = await client.delete(delete_path(setup, "00000000-0000-4000-8000-000000000000"),
                                  headers=setup.headers())
    foreign = await client.delete(delete_path(setup, stranger.id), headers=setup.headers())

    assert unknown.status == foreign.status == 404


async def test_a_server_not_yet_in_the_snapshot_is_found_live(listed_service, workers_running):
    setup, client, _ = listed_service
    fresh = setup.projects[0].boot("made-elsewhere")

    response = await client.delete(delete_path(setup, fresh.id), headers=setup.headers())
    async with workers_running(setup.settings):
        async def gone():
            return fresh.id not in {s.id for s in setup.projects[0].conn.compute.servers()}

        await eventually(gone)

    assert response.status == 204


async def test_a_live_read_before_the_delete_reaches_nova_still_says_deleting(listed_service):
    setup, client, listed = listed_service
    target = listed[0]["id"]

    await client.delete(delete_path(setup, target), headers=setup.headers())  # no worker runs
    shown = await (await client.get(delete_path(setup, target), headers=setup.headers())).json()

    assert shown["task_state"] == "deleting"
    assert (await listed_ids(client, setup))[target]["task_state"] == "deleting"


async def test_the_204_names_its_delete_job_and_the_server_lists_its_jobs(listed_service,
                                                                         workers_running):
    setup, client, listed = listed_service
    target = listed[0]["id"]

    first = await client.delete(delete_path(setup, target), headers=setup.headers())
    again = await client.delete(delete_path(setup, target), headers=setup.headers())
    href = first.headers["Link"].split(";")[0].strip("<>")
    async with workers_running(setup.settings):
        async def done():
            job = await (await client.get(href, headers=setup.headers())).json()
            return job if job["status"] == "succeeded" else None

        job = await eventually(done)
    jobs = await client.get(f"/cloud/jobs?project_id={setup.project_id}&server_id={target}",
                            headers=setup.headers())

    assert first.headers["Link"].endswith('; rel="monitor"')
    assert again.headers["Link"] == first.headers["Link"]
    assert job["kind"] == "delete" and job["server_id"] == target
    assert jobs.status == 200 and [j["id"] for j in await jobs.json()] == [job["id"]]


async def test_a_servers_jobs_come_newest_first(listed_service, workers_running):
    setup, client, _ = listed_service
    body = await create_body(client, setup, name="short-lived")
    async with workers_running(setup.settings):
        created = await (await post_server(client, setup, body)).json()
        await finished_job(client, setup, created["job"]["href"])
        deleted = await client.delete(delete_path(setup, created["id"]), headers=setup.headers())
        await finished_job(client, setup, deleted.headers["Link"].split(";")[0].strip("<>"))

    jobs = await (await client.get(f"/cloud/jobs?project_id={setup.project_id}&server_id={created['id']}",
                                   headers=setup.headers())).json()

    assert [j["kind"] for j in jobs] == ["delete", "create"]


@pytest.mark.parametrize("query", ["", "&server_id=nope", "&server_id=a&server_id=b"])
async def test_listing_jobs_needs_one_server_id(listed_service, query):
    setup, client, _ = listed_service

    response = await client.get(f"/cloud/jobs?project_id={setup.project_id}{query}",
                                headers=setup.headers())

    assert response.status == 400
    assert "server_id" in (await response.json(content_type="application/problem+json"))["errors"]
