"""What ``WAIT 1`` costs an acknowledged write: creates answered one after the other by an API
whose Redis is a master with a replica behind sentinels, with ``REDIS_REPLICA_WAIT_MS`` at its
default (each create's job waits for the replica) and at 0 (no wait); p50 and p99 of the answer.

Creates are answered at once (``CREATE_WAIT=0``: no worker runs), so the time is the API's and
Redis's alone."""
import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from devtools.emulator_client import EmulatorClient
from devtools.redis_sentinel import SentinelGroup

from .stack import Projects, get_json, make_projects, start_api

CREATES = 300
WRITES = 1_000_000  # per token and minute: the rate limit out of the way


def measure_replica_wait(workdir: Path, emulator: EmulatorClient) -> dict[str, Any]:
    """p50/p99 milliseconds of a create's answer with and without the wait for the replica."""
    projects = make_projects(workdir / "replica-wait", emulator, [0])
    figures: dict[str, Any] = {"creates": CREATES}
    with SentinelGroup() as group:
        for name, wait_ms in (("waited", 1000), ("not_waited", 0)):
            api = start_api(projects, group.url, workdir / f"replica-wait-{name}.log", create_wait=0,
                            redis_replica_wait_ms=wait_ms, writes_per_minute=WRITES)
            try:
                body = _create_body(api.url, projects)
                times = sorted(_create(api.url, projects, body) for _ in range(CREATES))
            finally:
                api.stop()
            figures[f"{name}_p50_ms"] = statistics.median(times)
            figures[f"{name}_p99_ms"] = times[int(len(times) * 0.99) - 1]
    return figures


def _create_body(api_url: str, projects: Projects) -> dict[str, Any]:
    project_id = projects.ids[0]
    images = get_json(f"{api_url}/cloud/images?project_id={project_id}", projects.token)
    networks = get_json(f"{api_url}/cloud/networks?project_id={project_id}", projects.token)
    return {"project_id": project_id, "name": "waited", "flavor_id": "m1.tiny",
            "image_id": next(i["id"] for i in images if i["name"].startswith("cirros")),
            "network_ids": [n["id"] for n in networks if n["name"] == "private"]}


def _create(api_url: str, projects: Projects, body: dict[str, Any]) -> float:
    """One create's answer time in milliseconds."""
    request = urllib.request.Request(f"{api_url}/cloud/servers", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {projects.token}",
                                              "Content-Type": "application/json"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
    return 1000 * (time.perf_counter() - began)
