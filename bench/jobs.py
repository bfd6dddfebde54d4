"""Creates at a sustained rate: the time from a job's enqueue (its creation, in Redis) to Nova's
create request (the server's creation time in the emulator), and whether every job finished."""
import asyncio
import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import redis

from devtools.emulator_client import EmulatorClient
from devtools.processes import stop_process

from .stack import Projects, get_json, make_projects, start_api, start_workers

RATE, SECONDS, PROJECTS = 50, 30, 10
WORKERS = 2
# A create holds its slot until the server is ACTIVE (seconds): 50/s needs 100+ slots in all,
# where the default (16 a worker) takes about 32 / (build time) creates a second.
JOB_CONCURRENCY = 100


async def _send_creates(api_url: str, projects: Projects,
                        body_of: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``RATE`` creates a second for ``SECONDS`` s, spread over the projects; their answers."""
    headers = {"Authorization": f"Bearer {projects.token}"}
    answers: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(headers=headers) as session:

        async def create(number: int) -> None:
            project_id = projects.ids[number % len(projects.ids)]
            body = {**body_of[project_id], "name": f"bench-{number}"}
            async with session.post(f"{api_url}/cloud/servers", json=body) as answer:
                answers.append({**(await answer.json()), "http_status": answer.status})

        began = time.monotonic()
        sent = []
        for number in range(RATE * SECONDS):
            await asyncio.sleep(max(0.0, began + number / RATE - time.monotonic()))
            sent.append(asyncio.create_task(create(number)))
        await asyncio.gather(*sent)
    return answers


def _create_body(api_url: str, projects: Projects, project_id: str) -> dict[str, Any]:
    def listed(kind: str) -> list[dict[str, Any]]:
        return list(get_json(f"{api_url}/cloud/{kind}?project_id={project_id}", projects.token))

    return {"project_id": project_id, "flavor_id": "m1.small",
            "image_id": next(i["id"] for i in listed("images") if i["name"].startswith("cirros")),
            "network_ids": [next(n["id"] for n in listed("networks") if n["name"] == "private")]}


def measure_jobs(workdir: Path, redis_url: str, emulator: EmulatorClient) -> dict[str, Any]:
    """Enqueue-to-Nova latencies of ``RATE`` × ``SECONDS`` creates with two workers."""
    projects = make_projects(workdir / "jobs", emulator, [0] * PROJECTS, quota_instances=100_000)
    api = start_api(projects, redis_url, workdir / "jobs-api.log", writes_per_minute=1_000_000,
                    create_wait=0)
    workers = start_workers(projects, redis_url, [workdir / f"jobs-worker-{n}.log" for n in range(WORKERS)],
                            build_poll_interval=1, job_concurrency=JOB_CONCURRENCY)
    try:
        bodies = {p: _create_body(api.url, projects, p) for p in projects.ids}
        answers = asyncio.run(_send_creates(api.url, projects, bodies))
        accepted = [a for a in answers if a["http_status"] == 202]
        client = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + 300
        while True:
            states = [_job(client, a) for a in accepted]
            if all(s["status"] in ("succeeded", "failed") for s in states) or time.monotonic() > deadline:
                break
            time.sleep(2)
        client.close()
    finally:
        for worker in workers:
            stop_process(worker, timeout=20)
        api.stop()
    delays = sorted(_nova_created_at(emulator, s["server_id"]) - float(s["created_at"])
                    for s in states if s["server_id"])
    return {"sent": len(answers), "accepted": len(accepted),
            "succeeded": sum(1 for s in states if s["status"] == "succeeded"),
            "failed": sum(1 for s in states if s["status"] == "failed"),
            "unfinished": sum(1 for s in states if s["status"] not in ("succeeded", "failed")),
            "p50_ms": 1000 * statistics.median(delays), "p99_ms": 1000 * delays[int(len(delays) * 0.99) - 1]}


def _job(client: redis.Redis, answer: dict[str, Any]) -> dict[str, str]:
    project_id = answer["job"]["href"].rpartition("project_id=")[2]
    stored = client.hgetall(f"cs:{{{project_id}}}:job:{answer['job']['id']}")
    return {k.decode(): v.decode() for k, v in stored.items()}


def _nova_created_at(emulator: EmulatorClient, server_id: str) -> float:
    with urllib.request.urlopen(f"{emulator.base_url}/_emulator/servers/{server_id}", timeout=10) as answer:
        return float(json.loads(answer.read())["created_at"])
