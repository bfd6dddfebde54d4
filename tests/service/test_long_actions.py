"""Resize (confirmed by the job, by the client, or by the cloud itself; or reverted) and snapshot,
as durable action jobs against the emulator through openstacksdk."""
import signal

import pytest

from tests.service.test_job_durability import _with_project
from tests.service.writing import finished_job, job_of
from tests.support import eventually


def path(setup, server_id: str, suffix: str = "") -> str:
    return f"/cloud/servers/{server_id}{suffix}?project_id={setup.project_id}"


async def first_server(client, setup) -> dict:
    return (await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                    headers=setup.headers())).json())[0]


async def act(client, setup, server_id: str, **body):
    return await client.post(path(setup, server_id, "/actions"), json=body, headers=setup.headers())


async def shown(client, setup, server_id: str) -> dict:
    return await (await client.get(path(setup, server_id), headers=setup.headers())).json()


async def flavor_id(client, setup, name: str) -> str:
    flavors = await (await client.get(f"/cloud/flavors?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    return next(f["id"] for f in flavors if f["name"] == name)


async def test_a_resize_is_confirmed_by_its_job_and_the_server_shows_its_new_flavor(
        service, api_client, workers_running):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server = await first_server(client, setup)
    small = await flavor_id(client, setup, "m1.small")

    resize = await act(client, setup, server["id"], action="resize", flavor_id="m1.small")
    at_once = await shown(client, setup, server["id"])
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, resize.headers["Location"], timeout=30)
    after = await shown(client, setup, server["id"])

    assert resize.status == 202 and (await resize.json())["action"] == "resize"
    assert at_once["task_state"] == "resize_prep"
    assert job["status"] == "succeeded", job["error"]
    assert (after["status"], after["task_state"], after["flavor"]["id"]) == ("ACTIVE", None, small)
    assert setup.projects[0].conn.compute.get_server(server["id"]).flavor["original_name"] == "m1.small"


@pytest.mark.parametrize("then, flavor", [("confirm_resize", "m1.small"), ("revert_resize", "m1.tiny")])
async def test_a_resize_left_unconfirmed_waits_for_the_client_to_confirm_or_revert(
        service, api_client, workers_running, then, flavor):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server = await first_server(client, setup)
    expected = await flavor_id(client, setup, flavor)
    async with workers_running(setup.settings):
        resize = await act(client, setup, server["id"], action="resize", flavor_id="m1.small",
                           confirm=False)
        resized = await finished_job(client, setup, resize.headers["Location"], timeout=30)
        waiting = await shown(client, setup, server["id"])
        early = await act(client, setup, server["id"], action="stop")
        ending = await act(client, setup, server["id"], action=then)
        ended = await finished_job(client, setup, ending.headers["Location"], timeout=30)
    after = await shown(client, setup, server["id"])

    assert resized["status"] == "succeeded"
    assert (waiting["status"], waiting["task_state"]) == ("VERIFY_RESIZE", None)
    assert early.status == 409 and "VERIFY_RESIZE" in (await early.json())["detail"]
    assert ending.status == 202 and ended["status"] == "succeeded", ended["error"]
    assert (after["status"], after["flavor"]["id"]) == ("ACTIVE", expected)


async def test_a_cloud_that_confirms_resizes_itself_does_not_fail_the_job(
        service, api_client, project_factory, start_emulator, workers_running, tmp_path):
    cloud = start_emulator("--build-delay", "1", "--action-delay", "1", "--resize-confirm-window", "0.5")
    setup = _with_project(service, project_factory(client=cloud, servers=1), tmp_path,
                          build_poll_interval=2)  # the runner looks after the cloud confirmed it
    client = await api_client(setup.settings)
    server = await first_server(client, setup)
    async with workers_running(setup.settings):
        resize = await act(client, setup, server["id"], action="resize", flavor_id="m1.small")
        job = await finished_job(client, setup, resize.headers["Location"], timeout=30)

    assert job["status"] == "succeeded", job["error"]
    small = await flavor_id(client, setup, "m1.small")
    assert (await shown(client, setup, server["id"]))["flavor"]["id"] == small


async def test_bad_resizes_and_snapshots_are_refused_before_a_job_is_made(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server = await first_server(client, setup)

    same = await act(client, setup, server["id"], action="resize", flavor_id="m1.tiny")
    unknown = await act(client, setup, server["id"], action="resize", flavor_id="m9.huge")
    bare = await act(client, setup, server["id"], action="resize")
    stray = await act(client, setup, server["id"], action="stop", image_name="x")
    nameless = await act(client, setup, server["id"], action="snapshot")
    confirm = await act(client, setup, server["id"], action="confirm_resize")

    assert [a.status for a in (same, unknown, bare, stray, nameless)] == [422] * 5
    assert (await same.json())["errors"] == {"flavor_id": [f"Server {server['id']} is m1.tiny already."]}
    assert list((await unknown.json())["errors"]) == ["flavor_id"]
    assert (await bare.json())["errors"] == {"flavor_id": ["Required by this action."]}
    assert (await stray.json())["errors"] == {"image_name": ["Not an argument of stop."]}
    assert (await nameless.json())["errors"] == {"image_name": ["Required by this action."]}
    assert confirm.status == 409 and "VERIFY_RESIZE" in (await confirm.json())["detail"]


async def test_a_snapshot_job_gives_its_image_which_the_images_list_shows_at_once(
        service, api_client, workers_running):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server = await first_server(client, setup)
    await client.get(f"/cloud/images?project_id={setup.project_id}", headers=setup.headers())
    async with workers_running(setup.settings):
        snapshot = await act(client, setup, server["id"], action="snapshot", image_name="nightly")
        at_once = await shown(client, setup, server["id"])

        async def has_image():
            return (await job_of(client, setup, snapshot.headers["Location"]))["result"]

        result = await eventually(has_image, timeout=20, interval=0.05)

        async def listed():  # the API hears of the write on the change channel within moments
            images = await (await client.get(f"/cloud/images?project_id={setup.project_id}",
                                             headers=setup.headers())).json()
            return next((i for i in images if i["id"] == result["image_id"]), None)

        listed_early = await eventually(listed, timeout=2, interval=0.02)
        job = await finished_job(client, setup, snapshot.headers["Location"], timeout=30)
    images = await (await client.get(f"/cloud/images?project_id={setup.project_id}",
                                     headers=setup.headers())).json()

    assert snapshot.status == 202 and at_once["task_state"] == "image_snapshot"
    assert listed_early["name"] == "nightly" and listed_early["status"] in ("queued", "saving", "active")
    assert job["status"] == "succeeded" and job["result"] == result
    assert next(i for i in images if i["id"] == result["image_id"])["status"] == "active"
    assert (await shown(client, setup, server["id"]))["task_state"] is None
    assert setup.projects[0].conn.image.get_image(result["image_id"]).status == "active"


@pytest.fixture
def slow_cloud(start_emulator):
    """Actions that take 300 s of emulated time, finished by moving the emulator's clock."""
    return start_emulator("--build-delay", "1", "--action-delay", "300")


@pytest.mark.parametrize("body", [{"action": "snapshot", "image_name": "kept-once"},
                                  {"action": "resize", "flavor_id": "m1.small"}])
async def test_a_worker_killed_mid_resize_or_snapshot_is_replaced_and_nova_is_asked_once(
        service, api_client, project_factory, slow_cloud, worker_process, tmp_path, body):
    project = project_factory(client=slow_cloud, servers=1)
    setup = _with_project(service, project, tmp_path)
    client = await api_client(setup.settings)
    server = await first_server(client, setup)
    after = slow_cloud.last_request_seq()
    first = worker_process(setup, job_visibility_timeout=3)
    answer = await act(client, setup, server["id"], **body)

    async def asked():  # the resize's confirm comes only once the clock moves on: not yet
        return [r for r in slow_cloud.requests(project_id=project.id, after=after)
                if r["path"].endswith("/action") and r["method"] == "POST"]

    await eventually(asked, timeout=20)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    worker_process(setup, job_visibility_timeout=3)

    async def taken_over():
        return (await job_of(client, setup, answer.headers["Location"]))["attempts"] == 2

    await eventually(taken_over, timeout=30)
    asked_before_the_end = await asked()
    slow_cloud.advance_clock(601)
    job = await finished_job(client, setup, answer.headers["Location"], timeout=30)

    assert job["status"] == "succeeded", job["error"]
    assert len(asked_before_the_end) == 1  # the new worker found Nova's work under way
    if body["action"] == "snapshot":
        images = [i for i in project.conn.image.images(owner=project.id) if i.name == "kept-once"]
        assert [i.id for i in images] == [job["result"]["image_id"]]
