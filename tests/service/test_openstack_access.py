"""How the service reaches OpenStack: credentials from clouds.yaml, one session per project."""
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from app.openstack.clouds import CloudDirectory, CloudsFileError
from app.process.settings import Settings
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from tests.support import eventually, service_environ, write_service_files


async def test_application_credential_entry_named_after_its_project(service, api_client, tmp_path):
    setup = service(servers=2)
    project = setup.projects[0]
    setup.settings.clouds_file.write_text(yaml.safe_dump({"clouds": {
        project.id: project.access["cloud_application_credential"]}}))
    client = await api_client(setup.settings)

    response = await client.get(f"/cloud/servers?project_id={project.id}", headers=setup.headers())

    assert response.status == 200 and len(await response.json()) == 2


def test_entries_without_a_project_id_are_skipped_and_a_file_of_none_is_refused(tmp_path):
    credential = {"auth": {"auth_url": "http://127.0.0.1:1/v3", "application_credential_id": "x",
                           "application_credential_secret": "y"}, "auth_type": "v3applicationcredential"}
    project_id = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"nameless": credential, project_id: credential}}))
    none = tmp_path / "none.yaml"
    none.write_text(yaml.safe_dump({"clouds": {"nameless": credential}}))

    assert CloudDirectory(clouds, api_timeout=5, connections_per_host=2).project_ids == [project_id]
    with pytest.raises(CloudsFileError, match="names no project"):
        CloudDirectory(none, api_timeout=5, connections_per_host=2)


async def test_one_keystone_authentication_serves_many_requests(service, api_client):
    setup = service(servers=2, show_freshness=0.001)  # each show its own Nova read
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()
    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()

    for _ in range(3):
        for server in servers:
            response = await client.get(f"/cloud/servers/{server['id']}?project_id={setup.project_id}",
                                        headers=setup.headers())
            assert response.status == 200

    calls = emulator.requests(project_id=setup.project_id, after=after)
    assert [c["path"] for c in calls].count("/v3/auth/tokens") == 1
    assert [c["path"] for c in calls].count(f"/compute/v2.1/servers/{servers[0]['id']}") == 3


async def test_the_poller_reads_every_page_and_never_lists_other_tenants(
        start_emulator, project_factory, redis_server, redis, workers_running, api_client, tmp_path):
    small_pages = start_emulator("--max-limit", "5")
    project = project_factory(servers=12, quota_instances=20, client=small_pages)
    clouds_file, tokens_file, tokens = write_service_files(tmp_path, [project])
    settings = Settings.from_env(service_environ(redis_server.url, clouds_file, tokens_file))
    client = await api_client(settings)
    after = small_pages.last_request_seq()
    async with workers_running(settings):
        async def listed_twelve():
            response = await client.get(f"/cloud/servers?project_id={project.id}",
                                        headers={"Authorization": f"Bearer {tokens['admin']}"})
            return len(await response.json()) == 12

        await eventually(listed_twelve)
    queries = [c["query"] for c in small_pages.requests(project_id=project.id, after=after)
               if c["path"] == "/compute/v2.1/servers/detail"]
    assert any("marker=" in q for q in queries)
    assert not any("all_tenants" in q or "project_id" in q for q in queries)


async def test_a_slow_project_does_not_hold_up_the_others(service, workers_running, redis):
    setup = service(projects=2, servers=1, openstack_timeout=8, poll_lease=20)
    slow, quick = setup.projects
    slow.emulator.set_faults(slow.id, latency=3)
    async with workers_running(setup.settings):
        async def quick_polled_often():
            return int(await redis.hget(layout.poll_state(quick.id), PollField.CYCLE) or 0) >= 4

        await eventually(quick_polled_often, timeout=15)
        slow_cycles = int(await redis.hget(layout.poll_state(slow.id), PollField.CYCLE) or 0)

    assert slow_cycles <= 1


async def test_a_project_added_to_clouds_yaml_is_served_without_a_restart(service, api_client,
                                                                          project_factory):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    newcomer = project_factory(servers=2)
    before = await client.get(f"/cloud/servers?project_id={newcomer.id}", headers=setup.headers())
    clouds = yaml.safe_load(setup.settings.clouds_file.read_text())
    clouds["clouds"]["newcomer"] = newcomer.access["cloud"]
    setup.settings.clouds_file.write_text(yaml.safe_dump(clouds))

    after = await client.get(f"/cloud/servers?project_id={newcomer.id}", headers=setup.headers())
    kept = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())

    assert (before.status, after.status, kept.status) == (404, 200, 200)
    assert len(await after.json()) == 2


def _two_entries_for_one_project(project) -> dict:
    return {"clouds": {"member": project.access["cloud"],
                       "admin-too": dict(project.access["cloud"])}}


def test_two_entries_for_one_project_are_refused_at_start_naming_both(project, tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump(_two_entries_for_one_project(project)))

    with pytest.raises(CloudsFileError) as refused:
        CloudDirectory(clouds, api_timeout=5, connections_per_host=2)

    assert "'member'" in str(refused.value) and "'admin-too'" in str(refused.value)


def test_a_reload_with_two_entries_for_one_project_keeps_the_last_good_file(project, project_factory,
                                                                           tmp_path, caplog):
    other = project_factory(servers=0)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"member": project.access["cloud"]}}))
    directory = CloudDirectory(clouds, api_timeout=5, connections_per_host=2)
    broken = _two_entries_for_one_project(project)
    broken["clouds"]["other"] = other.access["cloud"]
    clouds.write_text(yaml.safe_dump(broken))

    reloaded = [directory.reload_if_changed() for _ in range(3)]

    assert reloaded == [False] * 3 and directory.project_ids == [project.id]
    assert not directory.knows(other.id)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "'admin-too'" in errors[0].getMessage()  # logged once, not per call


async def test_after_a_bad_reload_the_api_is_not_ready_and_serves_the_last_good_projects(
        service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    good = setup.settings.clouds_file.read_text()
    assert (await client.get("/readyz")).status == 200

    setup.settings.clouds_file.write_text("clouds: {}\n")  # empty: no project at all
    not_ready = await client.get("/readyz")
    served = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    setup.settings.clouds_file.write_text(good + "\n")  # fixed (and changed, so it is re-read)
    ready_again = await client.get("/readyz")

    assert not_ready.status == 503 and "clouds.yaml" in (await not_ready.json())["reason"]
    assert served.status == 200
    assert ready_again.status == 200


def _connections_to(port: int) -> int:
    """Established TCP connections whose far end is the loopback ``port`` (Linux's table)."""
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[3] == "01" and int(row[2].split(":")[1], 16) == port)


def test_the_calls_of_many_projects_share_a_few_connections(project_factory, tmp_path):
    """A worker's connections to an endpoint are bounded by its threads, not by its projects."""
    projects = [project_factory(servers=0) for _ in range(6)]
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {p.id: p.access["cloud"] for p in projects}}))
    directory = CloudDirectory(clouds, api_timeout=5, connections_per_host=1)
    port = urlsplit(projects[0].access["auth_url"]).port
    before = _connections_to(port)
    try:
        for project in projects:
            directory.connection(project.id).compute.get("/servers/detail").raise_for_status()
        held = _connections_to(port) - before
    finally:
        directory.close()

    assert held == 1


def test_a_projects_first_call_after_another_projects_costs_its_token_alone(project_factory, tmp_path):
    """API version discovery is shared by every project's connection: the second project's first
    call asks Keystone for its token and nothing else."""
    first, second = project_factory(servers=0), project_factory(servers=0)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {p.id: p.access["cloud"] for p in (first, second)}}))
    directory = CloudDirectory(clouds, api_timeout=5, connections_per_host=1)
    try:
        directory.connection(first.id).compute.get("/servers/detail").raise_for_status()
        after = first.emulator.last_request_seq()
        directory.connection(second.id).compute.get("/servers/detail").raise_for_status()
    finally:
        directory.close()

    sent = [(r["method"], r["path"]) for r in first.emulator.requests(after=after)
            if r["service"] != "control"]
    assert sent == [("POST", "/v3/auth/tokens"), ("GET", "/compute/v2.1/servers/detail")]
