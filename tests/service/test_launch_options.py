"""Launching what people launch: cloud-init user data (never shown back), security groups, and
boot from volume; and the security-group and volume lists."""
import base64
import logging

from app.events.stream import EventStream
from app.process.settings import Settings
from app.store import redis_layout as layout
from tests.service.writing import create_body, finished_job, post_server
from tests.support import ServiceSetup, service_environ, write_service_files

SECRET = "chpasswd: {list: 'root:hunter2-do-not-log'}"
USER_DATA = f"#cloud-config\n{SECRET}\nruncmd: [echo hello]\n"


def inspect(project, server_id):
    """What the emulated Nova keeps of a server (user data, security groups, volumes)."""
    return project.emulator.call("GET", f"/servers/{server_id}")


async def test_user_data_reaches_nova_base64_encoded_and_is_never_shown_back(
        service, api_client, workers_running, redis, service_log):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    answers = []
    service_log.configure("DEBUG")  # as the service configures itself, with LOG_LEVEL=DEBUG
    job = await _create_with_user_data(client, setup, workers_running, answers)
    stored = {key: value async for key in redis.scan_iter("cs:*") if await redis.type(key) == b"hash"
              for value in [await redis.hgetall(key)]}
    events = await EventStream(redis).read(setup.project_id)

    assert job["status"] == "succeeded"
    assert inspect(setup.projects[0], job["server_id"])["user_data"] == base64.b64encode(
        USER_DATA.encode()).decode()
    encoded = base64.b64encode(USER_DATA.encode()).decode()
    for text in (SECRET, encoded):
        assert text not in service_log.text()
        assert not [a for a in answers if text in a]
        assert text not in repr(events)
        assert not [k for k, v in stored.items() if text.encode() in b"".join(v.values())]  # job done
    assert logging.getLogger("app").isEnabledFor(logging.DEBUG)  # the scenario ran logging at DEBUG


async def _create_with_user_data(client, setup, workers_running, answers):
    async with workers_running(setup.settings):
        created = await post_server(client, setup, await create_body(client, setup, user_data=USER_DATA))
        answers.append(await created.text())
        job = await finished_job(client, setup, (await created.json())["job"]["href"])
        for path in (f"/cloud/jobs/{job['id']}?project_id={setup.project_id}",
                     f"/cloud/jobs?project_id={setup.project_id}&server_id={job['server_id']}",
                     f"/cloud/servers/{job['server_id']}?project_id={setup.project_id}",
                     f"/cloud/servers?project_id={setup.project_id}"):
            answers.append(await (await client.get(path, headers=setup.headers())).text())
    return job


async def test_user_data_too_large_once_encoded_is_a_422(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    answer = await post_server(client, setup, await create_body(client, setup, user_data="x" * 50_000))

    assert answer.status == 422 and list((await answer.json())["errors"]) == ["user_data"]


async def test_a_known_security_group_by_name_reaches_nova_and_an_unknown_one_is_a_422(
        service, api_client, workers_running):
    setup = service(servers=0)
    project = setup.projects[0]
    project.emulator.call("POST", f"/projects/{project.id}/security-groups", {
        "name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "port_range_min": 443,
                                  "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"}]})
    client = await api_client(setup.settings)

    unknown = await post_server(client, setup, await create_body(client, setup,
                                                                 security_groups=["web", "no-such"]))
    async with workers_running(setup.settings):
        created = await post_server(client, setup, await create_body(client, setup,
                                                                     security_groups=["web"]))
        job = await finished_job(client, setup, (await created.json())["job"]["href"])
    groups = await (await client.get(f"/cloud/security-groups?project_id={project.id}",
                                     headers=setup.headers())).json()

    assert unknown.status == 422 and (await unknown.json())["errors"] == {
        "security_groups": ["No security group 'no-such' (by id or name) in this project."]}
    assert job["status"] == "succeeded"
    assert inspect(project, job["server_id"])["security_groups"] == ["web"]
    web = next(g for g in groups if g["name"] == "web")
    assert web["rules"] == [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
                             "port_range_min": 443, "port_range_max": 443,
                             "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None}]
    assert {g["name"] for g in groups} == {"default", "web"}


async def boot_from_volume(client, setup, keep: bool):
    body = await create_body(client, setup, boot_volume={"size_gb": 2, "delete_on_termination": not keep})
    created = await post_server(client, setup, body)
    job = await finished_job(client, setup, (await created.json())["job"]["href"])
    server = await (await client.get(f"/cloud/servers/{job['server_id']}?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    return job, server


async def test_boot_from_volume_gives_a_volume_server_and_its_volume_goes_or_stays_as_asked(
        service, api_client, workers_running):
    setup = service(servers=0)
    project = setup.projects[0]
    client = await api_client(setup.settings)

    async with workers_running(setup.settings):
        results = {keep: await boot_from_volume(client, setup, keep) for keep in (True, False)}
        for job, _ in results.values():
            deleted = await client.delete(f"/cloud/servers/{job['server_id']}?project_id={project.id}",
                                          headers=setup.headers())
            await finished_job(client, setup, deleted.headers["Link"].split(">")[0].lstrip("<"))

    volumes = {v.id: v for v in project.conn.block_storage.volumes(details=True)}
    for keep, (job, server) in results.items():
        assert job["status"] == "succeeded" and server["image"] is None
        [attached] = server["volumes_attached"]
        assert attached["delete_on_termination"] is (not keep)
        if keep:
            assert volumes[attached["id"]].status == "available" and volumes[attached["id"]].size == 2
        else:
            assert attached["id"] not in volumes


async def test_a_boot_volume_smaller_than_the_image_needs_is_a_422(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    images = await (await client.get(f"/cloud/images?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    ubuntu = next(i for i in images if i["name"].startswith("ubuntu"))

    answer = await post_server(client, setup, await create_body(
        client, setup, image_id=ubuntu["id"], flavor_id="m1.small",
        boot_volume={"size_gb": ubuntu["min_disk"] - 1}))

    assert answer.status == 422
    assert list((await answer.json())["errors"]) == ["boot_volume.size_gb"]


async def test_a_boot_volume_past_the_volume_quota_is_a_422(service, api_client):
    setup = service(servers=0)
    setup.projects[0].emulator.update_project(setup.project_id, quota_volume_gb=5)
    client = await api_client(setup.settings)

    answer = await post_server(client, setup, await create_body(client, setup,
                                                                boot_volume={"size_gb": 10}))

    assert answer.status == 422 and (await answer.json())["errors"] == {"boot_volume.size_gb": [
        "The project may have 5 GiB of volumes and has 0 GiB; 10 GiB more do not fit."]}


async def test_a_boot_volume_the_quota_refuses_after_the_check_fails_the_job_with_cinders_message(
        service, api_client, workers_running):
    setup = service(servers=0, create_wait=0)
    client = await api_client(setup.settings)
    created = await post_server(client, setup, await create_body(client, setup,
                                                                 boot_volume={"size_gb": 10}))
    setup.projects[0].emulator.update_project(setup.project_id, quota_volume_gb=5)  # meanwhile

    async with workers_running(setup.settings):
        job = await finished_job(client, setup, (await created.json())["job"]["href"])

    assert created.status == 202
    assert job["status"] == "failed" and "exceeds allowed gigabytes quota" in job["error"]


async def test_the_security_group_and_volume_lists_follow_the_snapshot_and_access_rules(
        service, api_client):
    setup = service(projects=2, servers=2)
    client = await api_client(setup.settings)

    for path in ("security-groups", "volumes"):
        url = f"/cloud/{path}?project_id={setup.project_id}"
        first = await client.get(url, headers=setup.headers())
        again = await client.get(url, headers=setup.headers(**{"If-None-Match": first.headers["ETag"]}))
        outsider = await client.get(url, headers=setup.headers("p1"))
        body = await first.json()

        assert first.status == 200 and "X-Snapshot-Age" in first.headers, path
        assert again.status == 304 and outsider.status == 403, path
        assert body, path
    volumes = await (await client.get(f"/cloud/volumes?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    volume_server = next(s for s in servers if s["image"] is None)
    assert [(v["attachments"], v["bootable"], v["status"]) for v in volumes] == [
        ([volume_server["id"]], True, "in-use")]
    assert set(volumes[0]) == {"id", "name", "size", "status", "attachments", "bootable", "volume_type",
                               "created", "updated"}
    assert volumes[0]["volume_type"] == "__DEFAULT__" and volumes[0]["created"].endswith("Z")
    assert layout.listing(setup.project_id, "volumes")  # kept in the snapshot like the others


async def test_a_boot_volume_frees_the_image_from_the_flavors_disk(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    images = await (await client.get(f"/cloud/images?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    golden = next(i for i in images if i["name"].endswith("-golden"))  # needs 10 GiB; m1.tiny has 1

    on_disk = await post_server(client, setup, await create_body(
        client, setup, image_id=golden["id"], flavor_id="m1.tiny"))
    on_volume = await post_server(client, setup, await create_body(
        client, setup, image_id=golden["id"], flavor_id="m1.tiny", boot_volume={"size_gb": 10}))

    refused = await on_disk.json()
    assert on_disk.status == 422 and list(refused["errors"]) == ["flavor_id"]
    assert "too small" in refused["errors"]["flavor_id"][0]
    assert refused["detail"] == ("This server cannot be launched in the project as asked: flavor_id "
                                 "(each explained under errors).")  # not "does not exist": it does
    assert on_volume.status == 202


async def test_a_cloud_without_cinder_lists_no_volumes_and_still_boots_from_volume(
        start_emulator, project_factory, api_client, redis_server, tmp_path):
    no_cinder = start_emulator("--without-cinder", "--build-delay", "1")
    project = project_factory(servers=0, client=no_cinder)
    clouds_file, tokens_file, tokens = write_service_files(tmp_path, [project])
    settings = Settings.from_env(service_environ(redis_server.url, clouds_file, tokens_file))
    client = await api_client(settings)
    setup = ServiceSetup(settings, {}, [project], tokens)

    volumes = await client.get(f"/cloud/volumes?project_id={project.id}", headers=setup.headers())
    created = await post_server(client, setup, await create_body(client, setup, boot_volume={"size_gb": 2}))

    assert volumes.status == 200 and await volumes.json() == []
    assert created.status == 202  # the quota is not checked where Cinder is not in the catalog


async def test_an_api_the_cloud_lacks_is_skipped_or_a_503_never_the_resources_404(service, api_client):
    setup = service(projects=2, servers=0)
    first, second = setup.projects
    client = await api_client(setup.settings)
    body = await create_body(client, setup, boot_volume={"size_gb": 2})
    first.emulator.set_faults(first.id, missing_paths="/limits")
    second.emulator.set_faults(second.id, missing_paths="/security-groups")

    created = await post_server(client, setup, body)
    groups = await client.get(f"/cloud/security-groups?project_id={second.id}", headers=setup.headers())
    problem = await groups.json()

    assert created.status == 202  # no limits API: the quota is Cinder's to enforce
    assert groups.status == 503 and problem["status"] == 503
    assert "404" in problem["detail"]
    assert "/v2.0" not in problem["detail"] and second.id not in problem["detail"]  # no OpenStack path
