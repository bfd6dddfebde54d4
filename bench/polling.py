"""The poller with many idle projects and two worker processes: polls per second, Nova requests
per poll, the same thread pool calling openstacksdk directly, and how soon a change made in Nova
is seen in the list."""
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openstack
from openstack.config import OpenStackConfig

from devtools.emulator_client import EmulatorClient
from devtools.processes import stop_process

from .stack import Projects, get_json, make_projects, start_api, start_workers

WORKERS, THREADS = 2, 8  # worker processes; OPENSTACK_THREADS of each
WINDOW = 15.0  # seconds measured, once every project has been polled
FRESHNESS_SAMPLES, FRESHNESS_INTERVAL = 20, 5.0
WARM_POLLS = 4  # polls per project, on average, before the window


def _nova_requests(emulator: EmulatorClient, after: int) -> list[dict[str, Any]]:
    return [r for r in emulator.requests(after=after) if r["service"] == "compute"]


def _warm(emulator: EmulatorClient, projects: Projects, after: int) -> bool:
    """Every project polled, and polled WARM_POLLS times on average: each worker has then made
    its connections (a token and a catalog per project), as the raw baseline makes its own first."""
    polls = [r["project_id"] for r in _nova_requests(emulator, after)
             if r["path"].endswith("/servers/detail")]
    return set(polls) >= set(projects.ids) and len(polls) >= WARM_POLLS * len(projects.ids)


def measure_poller(workdir: Path, redis_url: str, emulator: EmulatorClient,
                   count: int) -> dict[str, Any]:
    """Polls/s and Nova requests per poll of two workers polling flat out; the raw baseline;
    freshness at a realistic interval."""
    projects = make_projects(workdir / "poller", emulator, [2] * count)
    logs = [workdir / f"worker-{n}.log" for n in range(WORKERS)]
    started = emulator.last_request_seq()
    workers = start_workers(projects, redis_url, logs, poll_interval=0.5, openstack_threads=THREADS)
    try:
        deadline = time.monotonic() + 600
        while not _warm(emulator, projects, started):  # the first, full fetches and connections
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not warm up in 10 minutes")
            time.sleep(1)
        time.sleep(2)
        after = emulator.last_request_seq()
        time.sleep(WINDOW)
        window = _nova_requests(emulator, after)
    finally:
        for worker in workers:
            stop_process(worker, timeout=20)
    polls = [r for r in window if r["path"].endswith("/servers/detail")]
    raw = _raw_calls_per_second(projects)
    freshness = _measure_freshness(workdir, redis_url, emulator, projects)
    return {"projects": count, "polls_per_second": len(polls) / WINDOW,
            "nova_requests_per_poll": len(window) / max(1, len(polls)),
            "raw_calls_per_second": raw, **freshness}


def _raw_calls_per_second(projects: Projects) -> float:
    """Two processes, each with the workers' thread pool, listing changed servers of the projects
    in turn through openstacksdk (connections made first, as the workers keep theirs)."""
    arguments = [sys.executable, "-m", "bench.polling", str(projects.clouds_file), str(THREADS),
                 str(WINDOW)]
    children = [subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True) for _ in range(WORKERS)]
    return sum(float(json.loads(child.communicate(timeout=900)[0])["calls_per_second"])
               for child in children)


def raw_calls(clouds_file: str, threads: int, seconds: float) -> float:
    """openstacksdk's ``servers(changes-since)`` per second over every cloud, ``threads`` at once."""
    config = OpenStackConfig(config_files=[clouds_file], load_envvars=False)
    connections = [openstack.connection.Connection(config=config.get_one(cloud))
                   for cloud in config.get_cloud_names()]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda c: c.compute.get_endpoint(), connections))  # tokens and catalogs
        calls = 0
        deadline = time.monotonic() + seconds

        def call(connection: openstack.connection.Connection) -> None:
            list(connection.compute.servers(changes_since=since))

        while time.monotonic() < deadline:
            batch = connections[: threads * 4]
            list(pool.map(call, batch))
            calls += len(batch)
            connections = connections[len(batch):] + batch
    return calls / seconds


def _measure_freshness(workdir: Path, redis_url: str, emulator: EmulatorClient,
                       projects: Projects) -> dict[str, float]:
    """With ``POLL_INTERVAL`` of ``FRESHNESS_INTERVAL`` s: a server of each of some projects is
    stopped in Nova (outside the API); the time until the API lists it SHUTOFF."""
    chosen = projects.ids[:FRESHNESS_SAMPLES]
    workers = start_workers(projects, redis_url, [workdir / f"fresh-worker-{n}.log" for n in range(WORKERS)],
                            poll_interval=FRESHNESS_INTERVAL, openstack_threads=THREADS)
    api = start_api(projects, redis_url, workdir / "fresh-api.log")
    try:
        time.sleep(2 * FRESHNESS_INTERVAL)  # every project polled at the new interval
        targets = {p: get_json(f"{api.url}/cloud/servers?project_id={p}", projects.token)[0]["id"]
                   for p in chosen}
        changed_at = {}
        for project_id, server_id in targets.items():
            request = urllib.request.Request(f"{emulator.base_url}/_emulator/servers/{server_id}",
                                             data=json.dumps({"status": "SHUTOFF"}).encode(),
                                             method="PATCH", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=10).close()
            changed_at[project_id] = time.time()
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 6 * FRESHNESS_INTERVAL
        while len(seen) < len(targets) and time.monotonic() < deadline:
            for project_id, server_id in targets.items():
                if project_id in seen:
                    continue
                listed = get_json(f"{api.url}/cloud/servers?project_id={project_id}", projects.token)
                if any(s["id"] == server_id and s["status"] == "SHUTOFF" for s in listed):
                    seen[project_id] = time.time() - changed_at[project_id]
            time.sleep(0.02)
    finally:
        api.stop()
        for worker in workers:
            stop_process(worker, timeout=20)
    delays = sorted(seen.values())
    return {"freshness_interval": FRESHNESS_INTERVAL, "freshness_samples": len(delays),
            "freshness_missed": len(targets) - len(delays),
            "freshness_p50_s": statistics.median(delays) if delays else float("nan"),
            "freshness_p99_s": _percentile(delays, 0.99)}


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


if __name__ == "__main__":  # one process of the raw baseline
    print(json.dumps({"calls_per_second": raw_calls(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))}))
