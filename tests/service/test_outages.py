"""OpenStack outages: jobs wait them out within their retry budget, a failed delete leaves no
'deleting' behind, and the first successful call ends a poll backoff."""
import asyncio

from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from tests.service.writing import create_body, finished_job, job_of, nova_servers_named, post_server
from tests.support import eventually


async def test_a_create_outlasts_an_outage_longer_than_a_few_attempts(service, api_client,
                                                                     workers_running):
    setup = service(servers=0, create_wait=0)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="patient")
    emulator = setup.projects[0].emulator
    emulator.set_faults(setup.project_id, outage=True)
    answer = await (await post_server(client, setup, body)).json()
    async with workers_running(setup.settings):
        async def retried_often():
            return (await job_of(client, setup, answer["job"]["href"]))["attempts"] >= 6

        await eventually(retried_often, timeout=20)  # backoff is capped at 1 s in tests
        emulator.clear_faults(setup.project_id)
        job = await finished_job(client, setup, answer["job"]["href"], timeout=30)

    assert job["status"] == "succeeded" and job["attempts"] >= 7
    assert len(nova_servers_named(setup.projects[0], "patient")) == 1


async def test_transient_failures_give_up_when_the_retry_budget_is_spent(service, api_client,
                                                                        workers_running):
    setup = service(servers=0, create_wait=0, job_retry_budget=2)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)
    setup.projects[0].emulator.set_faults(setup.project_id, error_rate=1.0)
    answer = await (await post_server(client, setup, body)).json()
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, answer["job"]["href"], timeout=20)

    assert job["status"] == "failed" and job["attempts"] >= 2
    assert " s: " in job["error"] and "HTTP 500" in job["error"]


async def test_a_failed_delete_clears_deleting_once_nova_is_back(listed_service, workers_running, redis):
    setup, client, listed = listed_service
    target, other = listed[0]["id"], listed[1]["id"]
    emulator = setup.projects[0].emulator
    fast_fail = setup.settings.__class__(**{**setup.settings.__dict__, "job_retry_budget": 1.0,
                                            "full_resync_every": 1000})
    emulator.advance_clock(5)  # the other server changes later: the target drops out of the
    emulator.set_server_status(other, "SHUTOFF")  # changes-since window of incremental polls
    async with workers_running(fast_fail):
        await eventually(lambda: status_of(client, setup, other, "status"))
        emulator.set_faults(setup.project_id, outage=True)
        deleted = await client.delete(f"/cloud/servers/{target}?project_id={setup.project_id}",
                                      headers=setup.headers())
        job = await finished_job(client, setup, deleted.headers["Link"].split(";")[0].strip("<>"),
                                 timeout=20)
        emulator.clear_faults(setup.project_id)

        async def shown_as_nova_has_it():
            return await status_of(client, setup, target, "task_state") == (None,)

        await eventually(shown_as_nova_has_it, timeout=15)

    assert job["status"] == "failed" and "503" in job["error"]
    assert not await redis.exists(layout.deleting(setup.project_id, target))


async def status_of(client, setup, server_id, field):
    """The listed server's field, in a tuple (so that None is a value), or None if not listed."""
    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    found = [s[field] for s in servers if s["id"] == server_id]
    return (found[0],) if found and (field != "status" or found[0] == "SHUTOFF") else None


async def test_a_successful_show_ends_the_poll_backoff_at_once(service, api_client, workers_running,
                                                              redis):
    setup = service(servers=1, poll_backoff_max=600, poll_interval=1)
    client = await api_client(setup.settings)
    server_id = (await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                         headers=setup.headers())).json())[0]["id"]
    emulator = setup.projects[0].emulator
    async with workers_running(setup.settings):
        emulator.set_faults(setup.project_id, outage=True)

        async def backing_off():
            failures = await redis.hget(layout.poll_state(setup.project_id), PollField.FAILURES)
            return int(failures or 0) >= 4  # the next try is 16 s away or more

        await eventually(backing_off, timeout=20)
        emulator.clear_faults(setup.project_id)
        show = await client.get(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                headers=setup.headers())

        async def fresh_list():
            response = await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                        headers=setup.headers())
            return "X-Snapshot-Stale" not in response.headers

        await asyncio.wait_for(eventually(fresh_list, timeout=5), 6)

    assert show.status == 200
