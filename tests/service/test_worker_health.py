"""The workers' own port: live while their loops turn, ready while Redis answers, and metrics an
operator needs; the API counts the workers alive from their heartbeats."""
import dataclasses
import time

import aiohttp
from prometheus_client import CollectorRegistry

from devtools.localredis import free_port
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually
from workers import health
from workers.health import Liveness, health_app


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_a_worker_reports_health_and_the_metrics_of_its_jobs_polls_and_calls(
        service, api_client, worker_process):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    port = free_port()
    worker_process(setup, worker_metrics_port=port)
    base = f"http://127.0.0.1:{port}"
    await eventually(lambda: _answers(f"{base}/healthz"), timeout=20)

    created = await (await post_server(client, setup, await create_body(client, setup))).json()
    job = await finished_job(client, setup, created["job"]["href"], timeout=30)

    async def metrics_after_the_job():
        text = (await get(f"{base}/metrics"))[1]
        return text if 'jobs_finished_total{kind="create",status="succeeded"} 1.0' in text else None

    text = await eventually(metrics_after_the_job, timeout=20)
    shown = await client.get(f"/cloud/servers/{job['server_id']}?project_id={setup.project_id}",
                             headers=setup.headers())  # a live read: the API calls Nova itself
    api_metrics = await eventually(lambda: _text_with(client, "workers_alive 1.0"), timeout=15)

    assert job["status"] == "succeeded" and shown.status == 200
    assert (await get(f"{base}/healthz"))[0] == 200 and (await get(f"{base}/readyz"))[0] == 200
    for line in ('job_duration_seconds_count{kind="create"} 1.0', 'job_attempts_count{kind="create"} 1.0',
                 'jobs_queued{kind="create"}', "poll_duration_seconds_count",
                 'openstack_request_duration_seconds_count{outcome="ok",service="compute"}',
                 'snapshot_age_seconds_bucket{le="+Inf"} 1.0', "webhook_deliveries_total"):
        assert line in text, line
    assert 'openstack_request_duration_seconds_count{outcome="ok",service="compute"}' in api_metrics


async def _answers(url: str) -> bool:
    try:
        return (await get(url))[0] == 200
    except aiohttp.ClientError:
        return False


async def _text_with(client, line: str) -> str | None:
    text = await (await client.get("/metrics")).text()
    return text if line in text else None


async def test_a_worker_is_not_ready_without_redis_but_stays_live(service, worker_process, own_redis):
    setup = service(servers=0)
    setup = dataclasses.replace(setup, environ={**setup.environ, "REDIS_URL": own_redis.url})
    port = free_port()
    worker_process(setup, worker_metrics_port=port)
    base = f"http://127.0.0.1:{port}"
    await eventually(lambda: _answers(f"{base}/readyz"), timeout=20)

    own_redis.stop()

    async def not_ready():
        answer = await get(f"{base}/readyz")
        return answer if answer[0] == 503 else None

    ready = await eventually(not_ready, timeout=20)
    live = await get(f"{base}/healthz")

    assert "unreachable" in ready[1]
    assert live[0] == 200


async def test_a_loop_that_stops_turning_makes_the_worker_not_live(aiohttp_client, redis, monkeypatch):
    liveness = Liveness()
    liveness.beat("poller")
    liveness.beat("job runner")
    client = await aiohttp_client(health_app(CollectorRegistry(), liveness, redis))
    assert (await client.get("/healthz")).status == 200

    later = time.monotonic() + health.STALL_LIMIT + 1
    monkeypatch.setattr(health.time, "monotonic", lambda: later)
    liveness.beat("job runner")  # this one still turns
    answer = await client.get("/healthz")

    assert answer.status == 503 and (await answer.json())["loops"] == ["poller"]
