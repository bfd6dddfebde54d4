"""Log lines that Loki and Elasticsearch ingest as they are: the access line's parts, and the ids
a line is about, are JSON fields of their own; a job's success is logged; the emulator's log is
JSON lines too."""
import json

from app.api import access_log
from devtools.emulator_client import EmulatorProcess
from tests.service.writing import create_body, finished_job, post_server


async def test_access_and_job_lines_carry_their_parts_as_fields(service, api_client, workers_running,
                                                                 service_log):
    setup = service(servers=0)
    service_log.configure("INFO")
    client = await api_client(setup.settings)
    async with workers_running(setup.settings):
        created = await (await post_server(client, setup, await create_body(client, setup))).json()
        job = await finished_job(client, setup, created["job"]["href"])
    await client.get(f"/cloud/servers/{job['server_id']}?project_id={setup.project_id}",
                     headers=setup.headers("p0"))
    await client.close()  # the access log's buffer is written as the app stops
    lines = [json.loads(line) for line in service_log.text().splitlines()]

    access = [line for line in lines if line["logger"] == "app.access"]
    show = next(line for line in access if line.get("route") == "/cloud/servers/{server_id}")
    assert show["method"] == "GET" and show["status"] == 200 and show["caller"] == "p0"
    assert show["path"] == f"/cloud/servers/{job['server_id']}" and show["duration_ms"] >= 0
    assert show["server_id"] == job["server_id"] and show["project_id"] == setup.project_id
    assert not [line for line in access if setup.tokens["p0"] in json.dumps(line)]
    succeeded = [line for line in lines if "succeeded" in line["message"] and line.get("job_id")]
    assert [(line["job_id"], line["server_id"], line["kind"]) for line in succeeded] == [
        (job["id"], job["server_id"], "create")]


async def test_access_lines_still_buffered_are_written_as_the_app_stops(service, api_client, service_log,
                                                                       monkeypatch):
    monkeypatch.setattr(access_log, "FLUSH_EVERY", 3600.0)  # no periodic write during the test
    setup = service(servers=1)
    service_log.configure("INFO")
    client = await api_client(setup.settings)
    for _ in range(5):
        assert (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                 headers=setup.headers())).status == 200
    buffered = [line for line in service_log.text().splitlines() if '"app.access"' in line]

    await client.close()

    written = [json.loads(line) for line in service_log.text().splitlines() if '"app.access"' in line]
    assert buffered == [] and [line["route"] for line in written] == ["/cloud/servers"] * 5


def test_the_emulators_log_is_json_lines(tmp_path):
    emulator = EmulatorProcess(tmp_path)
    client = emulator.start()
    try:
        client.create_project(servers=1)
    finally:
        emulator.stop()
    lines = (tmp_path / "emulator.log").read_text().splitlines()

    assert lines and all(json.loads(line)["message"] for line in lines)
