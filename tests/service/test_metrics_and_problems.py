"""What standard tools see: metrics that Prometheus's own parser reads (one namespace, no
``_created`` series, the process collectors, buckets past the OpenStack timeout), requests the
parser rejects counted, and every 503 saying when to come back."""
import uuid

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.process.metrics_registry import new_registry
from tests.service.test_malformed_http import exchange, parse
from workers.metrics import WorkerMetrics

STANDARD_PREFIXES = ("cloud_servers_", "process_", "python_")


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def check_exposition(text: str) -> dict:
    found = families(text)
    assert found and all(name.startswith(STANDARD_PREFIXES) for name in found), sorted(found)
    assert not [s.name for f in found.values() for s in f.samples if s.name.endswith("_created")]
    assert "process_resident_memory_bytes" in found and "python_info" in found
    return found


async def test_the_apis_metrics_parse_with_one_namespace_and_long_enough_buckets(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    rejected = parse(await exchange(client.server.port, b"BREW /cloud/servers HTTP/1.1\r\nHost: x\r\n\r\n"))

    found = check_exposition(await (await client.get("/metrics")).text())

    latency = found["cloud_servers_http_request_duration_seconds"]
    bounds = {float(s.labels["le"]) for s in latency.samples if s.name.endswith("_bucket")}
    assert {30.0, 60.0} <= bounds
    requests = {(s.labels["route"], s.labels["status"]): s.value
                for s in found["cloud_servers_http_requests"].samples}
    assert requests[("/cloud/servers", "200")] == 1.0
    assert rejected[0] == 400
    unparsed = found["cloud_servers_http_unparsed_requests"].samples
    assert [(s.labels["status"], s.value) for s in unparsed if s.name.endswith("_total")] == [("400", 1.0)]


def test_the_workers_metrics_parse_with_one_namespace():
    metrics = WorkerMetrics(new_registry())
    metrics.job_finished("create", "succeeded", 1, 0.0)
    metrics.snapshot_ages.set([3.0, float("inf")])

    found = check_exposition(generate_latest(metrics.registry).decode())

    assert "cloud_servers_jobs_finished" in found and "cloud_servers_snapshot_age_seconds" in found


async def test_every_503_has_retry_after_and_problems_are_not_cached(service, api_client):
    setup = service(servers=0, webhook_keys_file="")
    project = setup.projects[0]
    client = await api_client(setup.settings)
    project.emulator.set_faults(project.id, outage=True)
    try:
        unreachable = await client.get(f"/cloud/servers/{uuid.uuid4()}?project_id={project.id}",
                                       headers=setup.headers())
    finally:
        project.emulator.clear_faults(project.id)
    unconfigured = await client.get(f"/cloud/webhooks?project_id={project.id}", headers=setup.headers())
    not_found = await client.get(f"/cloud/jobs/{uuid.uuid4()}?project_id={project.id}",
                                 headers=setup.headers())

    for answer in (unreachable, unconfigured):
        assert answer.status == 503 and int(answer.headers["Retry-After"]) > 0, await answer.text()
    for answer in (unreachable, unconfigured, not_found):
        assert answer.headers["Cache-Control"] == "no-store"
    assert not_found.status == 404 and "Retry-After" not in not_found.headers


async def test_a_path_or_method_no_route_serves_is_a_problem_counted_as_unmatched(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    missing = await client.get("/cloud/nothing-here", headers={"X-Request-Id": "r-404"})
    wrong_method = await client.put(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())

    assert missing.status == 404 and missing.content_type == "application/problem+json"
    assert missing.headers["X-Request-Id"] == "r-404" and missing.headers["Server"]
    assert (await missing.json())["status"] == 404
    assert wrong_method.status == 405 and (await wrong_method.json())["status"] == 405
    assert set(wrong_method.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
    found = families(await (await client.get("/metrics")).text())
    requests = {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
                for s in found["cloud_servers_http_requests"].samples}
    assert requests[("GET", "unmatched", "404")] == 1.0 and requests[("PUT", "unmatched", "405")] == 1.0
