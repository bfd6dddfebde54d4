"""``POST /cloud/servers/{id}/actions``: stop, start and reboot as durable jobs, with Nova's rules."""
import signal

import pytest

from app.events.stream import EventStream
from app.store import redis_layout as layout
from tests.service.test_job_durability import _with_project
from tests.service.writing import finished_job, job_of
from tests.support import eventually


def actions_path(setup, server_id, project_id=None):
    return f"/cloud/servers/{server_id}/actions?project_id={project_id or setup.project_id}"


async def listed(client, setup, server_id):
    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    return next(s for s in servers if s["id"] == server_id)


async def act(client, setup, server_id, **body):
    return await client.post(actions_path(setup, server_id), json=body, headers=setup.headers())


async def test_stop_then_start_through_list_show_and_job(listed_service, workers_running, redis):
    setup, client, servers = listed_service
    server_id = servers[0]["id"]

    stop = await act(client, setup, server_id, action="stop")
    answer = await stop.json()
    shown_at_once = await listed(client, setup, server_id)
    async with workers_running(setup.settings):
        stopped_job = await finished_job(client, setup, stop.headers["Location"])
        stopped = await listed(client, setup, server_id)
        start = await act(client, setup, server_id, action="start")
        started_job = await finished_job(client, setup, start.headers["Location"])
    show = await (await client.get(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                   headers=setup.headers())).json()

    assert stop.status == 202 and answer["id"] == server_id and answer["action"] == "stop"
    assert answer["job"]["href"] == stop.headers["Location"] and answer["job"]["status"] == "queued"
    assert shown_at_once["task_state"] == "powering-off"
    assert (stopped_job["kind"], stopped_job["status"]) == ("action", "succeeded")
    assert (stopped["status"], stopped["power_state"], stopped["task_state"]) == ("SHUTOFF", 4, None)
    assert started_job["status"] == "succeeded"
    assert (show["status"], show["power_state"], show["task_state"]) == ("ACTIVE", 1, None)
    changes = [(e["data"]["from"], e["data"]["to"]) for e in await EventStream(redis).read(
        setup.project_id) if e["type"] == "server.status_changed" and e["server_id"] == server_id]
    assert changes == [("ACTIVE", "SHUTOFF"), ("SHUTOFF", "ACTIVE")]


async def test_an_action_outlasts_novas_errors(listed_service, workers_running):
    setup, client, servers = listed_service
    emulator = setup.projects[0].emulator
    emulator.set_faults(setup.project_id, error_rate=1.0)
    response = await act(client, setup, servers[0]["id"], action="stop")
    async with workers_running(setup.settings):
        async def retried():
            job = await job_of(client, setup, response.headers["Location"])
            return job["attempts"] >= 2 and "HTTP 500" in (job["error"] or "")

        await eventually(retried)
        emulator.clear_faults(setup.project_id)
        job = await finished_job(client, setup, response.headers["Location"])

    assert job["status"] == "succeeded"
    assert (await listed(client, setup, servers[0]["id"]))["status"] == "SHUTOFF"


@pytest.mark.parametrize(("body", "task_state"), [
    ({"action": "reboot"}, "rebooting"), ({"action": "reboot", "type": "HARD"}, "rebooting_hard")])
async def test_soft_and_hard_reboots(listed_service, workers_running, body, task_state):
    setup, client, servers = listed_service
    server_id = servers[0]["id"]
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()

    response = await act(client, setup, server_id, **body)
    shown_at_once = await listed(client, setup, server_id)
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, response.headers["Location"])

    calls = [r for r in emulator.requests(project_id=setup.project_id, after=after)
             if r["path"].endswith(f"/servers/{server_id}/action")]
    assert shown_at_once["task_state"] == task_state
    assert job["status"] == "succeeded" and len(calls) == 1
    assert (await listed(client, setup, server_id))["status"] == "ACTIVE"


async def test_actions_the_state_does_not_allow_are_409_and_queue_nothing(service, api_client, redis,
                                                                          workers_running):
    setup = service(servers=3)
    client = await api_client(setup.settings)
    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    stopped, deleting = servers[0]["id"], servers[1]["id"]
    async with workers_running(setup.settings):
        await finished_job(client, setup, (await act(client, setup, stopped, action="stop"))
                           .headers["Location"])
    await client.delete(f"/cloud/servers/{deleting}?project_id={setup.project_id}",
                        headers=setup.headers())
    queued = await redis.xlen(layout.job_queue(setup.project_id))

    refusals = [await act(client, setup, stopped, action="stop"),
                await act(client, setup, stopped, action="reboot"),
                await act(client, setup, deleting, action="start"),
                await act(client, setup, deleting, action="reboot", type="HARD"),
                await act(client, setup, servers[2]["id"], action="start")]
    problems = [await r.json(content_type="application/problem+json") for r in refusals]

    assert [r.status for r in refusals] == [409] * 5
    assert {p["type"] for p in problems} == {"/problems/conflict"}
    assert "SHUTOFF" in problems[0]["detail"] and "deleting" in problems[2]["detail"]
    assert "is ACTIVE: a start needs it SHUTOFF" in problems[4]["detail"]
    assert await redis.xlen(layout.job_queue(setup.project_id)) == queued


async def test_novas_409_after_a_race_fails_the_job_without_retrying(listed_service, workers_running):
    setup, client, servers = listed_service
    server_id = servers[0]["id"]
    setup.projects[0].emulator.set_server_status(server_id, "SHUTOFF")  # unseen by the snapshot

    response = await act(client, setup, server_id, action="stop")
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, response.headers["Location"])

    assert response.status == 202
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert f"Cannot 'stop' instance {server_id} while it is in vm_state stopped" in job["error"]


async def test_malformed_actions_are_422_and_another_projects_server_404(service, api_client):
    setup = service(projects=2, servers=1)
    client = await api_client(setup.settings)
    mine, = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                    headers=setup.headers())).json()
    theirs, = await (await client.get(f"/cloud/servers?project_id={setup.projects[1].id}",
                                      headers=setup.headers())).json()

    bad = [await act(client, setup, mine["id"], **body) for body in (
        {"action": "explode"}, {"action": "reboot", "type": "x"}, {"action": "stop", "when": "now"},
        {})]
    foreign = await act(client, setup, theirs["id"], action="stop")

    assert [r.status for r in bad] == [422] * 4 and foreign.status == 404


async def test_an_idempotent_action_is_queued_once(listed_service):
    setup, client, servers = listed_service
    headers = setup.headers(**{"Idempotency-Key": "stop-once"})

    answers = [await client.post(actions_path(setup, servers[0]["id"]), json={"action": "stop"},
                                 headers=headers) for _ in range(2)]

    jobs = [(await a.json())["job"]["id"] for a in answers]
    assert [a.status for a in answers] == [202, 202] and jobs[0] == jobs[1]


async def test_a_worker_killed_mid_action_is_replaced_and_the_action_runs_once(
        service, api_client, project_factory, slow_actions, worker_process, tmp_path):
    project = project_factory(client=slow_actions, servers=1)
    setup = _with_project(service, project, tmp_path)
    client = await api_client(setup.settings)
    server_id = next(project.conn.compute.servers()).id
    after = slow_actions.last_request_seq()
    first = worker_process(setup, job_visibility_timeout=3)

    response = await act(client, setup, server_id, action="stop")

    async def nova_has_it():  # the action reached Nova; the job waits for its end
        return [r for r in slow_actions.requests(project_id=project.id, after=after)
                if r["path"].endswith("/action")]

    await eventually(nova_has_it, timeout=20)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    worker_process(setup, job_visibility_timeout=3)

    async def taken_over():  # the new worker's runner has the job (its poll could end it too)
        return (await job_of(client, setup, response.headers["Location"]))["attempts"] == 2

    await eventually(taken_over, timeout=30)
    slow_actions.advance_clock(301)
    job = await finished_job(client, setup, response.headers["Location"], timeout=30)

    assert job["status"] == "succeeded" and job["attempts"] == 2
    assert len(await nova_has_it()) == 1
    assert (await job_of(client, setup, response.headers["Location"]))["server_id"] == server_id


@pytest.fixture
def slow_actions(start_emulator):
    """An emulator whose actions take 300 s of emulated time, finished by moving its clock."""
    return start_emulator("--build-delay", "1", "--action-delay", "300")


async def one_server(service, api_client, **overrides):
    """A set-up with one server, its client, and the server's id."""
    setup = service(servers=1, **overrides)
    client = await api_client(setup.settings)
    server_id = (await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                         headers=setup.headers())).json())[0]["id"]
    return setup, client, server_id


async def test_a_client_that_sees_the_stop_done_can_start_at_once_and_the_stop_job_is_over(
        service, api_client, workers_running):
    """The contract's agreement rule, in the exact sequence clients use: act, poll the show until
    the server idles in the state reached, act again at once. The runner looks at Nova only every
    30 s here, so the show's observation is what ends the stop's job."""
    setup, client, server_id = await one_server(service, api_client, build_poll_interval=30)
    async with workers_running(setup.settings):
        stop = await act(client, setup, server_id, action="stop")

        async def idle_and_shutoff():
            shown = await (await client.get(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                            headers=setup.headers())).json()
            return (shown["status"], shown["task_state"]) == ("SHUTOFF", None)

        await eventually(idle_and_shutoff, timeout=20, interval=0.05)
        start = await act(client, setup, server_id, action="start")
        stop_job = await job_of(client, setup, stop.headers["Location"])

    assert stop.status == 202 and start.status == 202, await start.text()
    assert stop_job["status"] == "succeeded"


async def test_a_reboot_shows_its_task_until_its_job_ends_and_then_the_next_action_is_accepted(
        service, api_client, workers_running):
    """A reboot ends where it began: no observation tells it done, so the server shows it until
    its runner (looking every 3 s here) has seen it through."""
    setup, client, server_id = await one_server(service, api_client, build_poll_interval=3)
    async with workers_running(setup.settings):
        reboot = await act(client, setup, server_id, action="reboot")
        seen = set()

        async def done():
            shown = await (await client.get(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                            headers=setup.headers())).json()
            job = await job_of(client, setup, reboot.headers["Location"])
            seen.add((shown["task_state"], job["status"]))
            return shown["task_state"] is None

        await eventually(done, timeout=20, interval=0.05)
        stop = await act(client, setup, server_id, action="stop")

    assert reboot.status == 202 and stop.status == 202, await stop.text()
    assert (None, "running") not in seen and (None, "queued") not in seen  # idle only once it ended
