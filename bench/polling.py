"""The poller with many idle projects and two worker processes: polls per second, Nova requests
per poll, the same thread pool calling openstacksdk directly, and how soon a change made in Nova
is seen in the list."""
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openstack
from openstack.config import OpenStackConfig

from devtools.emulator_client import EmulatorClient
from devtools.processes import stop_process

from .stack import Projects, get_json, make_projects, start_api, start_workers, wait_until_warm

WORKERS, THREADS = 2, 8  # worker processes; OPENSTACK_THREADS of each
WINDOW = 15.0  # seconds measured, once every project has been polled
FRESHNESS_SAMPLES, FRESHNESS_INTERVAL = 20, 5.0


def _requests_by_service(emulator: EmulatorClient, after: int) -> dict[str, list[dict[str, Any]]]:
    """The emulator's requests after ``after``, by service (``compute``, ``volume``…)."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for request in emulator.requests(after=after):
        by_service.setdefault(request["service"], []).append(request)
    return by_service


def _polled_everything(emulator: EmulatorClient, projects: Projects, after: int) -> bool:
    listed = {r["project_id"] for r in _requests_by_service(emulator, after).get("compute", [])
              if r["path"].endswith("/servers/detail")}
    return listed >= set(projects.ids)


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
        while not _polled_everything(emulator, projects, started):  # the first, full fetches
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not poll every project in 10 minutes")
            time.sleep(1)
        wait_until_warm(emulator)
        after = emulator.last_request_seq()
        cpu_before = sum(cpu_seconds(worker.pid) for worker in workers)
        time.sleep(WINDOW)
        cpu = sum(cpu_seconds(worker.pid) for worker in workers) - cpu_before
        by_service = _requests_by_service(emulator, after)
        window, cinder = by_service.get("compute", []), by_service.get("volume", [])
    finally:
        for worker in workers:
            stop_process(worker, timeout=20)
    polls = [r for r in window if r["path"].endswith("/servers/detail")]
    raw, raw_cpu_ms = _raw_calls_per_second(projects)
    freshness = _measure_freshness(workdir, redis_url, emulator, projects)
    return {"projects": count, "polls_per_second": len(polls) / WINDOW,
            "nova_requests_per_poll": len(window) / max(1, len(polls)),
            "cinder_requests_per_poll": len(cinder) / max(1, len(polls)),
            "poll_cpu_ms": 1000 * cpu / max(1, len(polls)),
            "raw_calls_per_second": raw, "raw_call_cpu_ms": raw_cpu_ms, **freshness}


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _raw_calls_per_second(projects: Projects) -> tuple[float, float]:
    """Two processes, each with the workers' thread pool, listing changed servers of the projects
    in turn through openstacksdk (connections made first, as the workers keep theirs): calls per
    second, and the CPU milliseconds a call cost its process."""
    arguments = [sys.executable, "-m", "bench.polling", str(projects.clouds_file), str(THREADS),
                 str(WINDOW)]
    children = [subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True) for _ in range(WORKERS)]
    results = [json.loads(child.communicate(timeout=900)[0]) for child in children]
    return (sum(r["calls_per_second"] for r in results),
            statistics.mean(r["cpu_ms_per_call"] for r in results))


def raw_calls(clouds_file: str, threads: int, seconds: float) -> dict[str, float]:
    """openstacksdk's ``servers(changes-since)`` per second over every cloud, ``threads`` at once,
    and the process's CPU per call."""
    config = OpenStackConfig(config_files=[clouds_file], load_envvars=False)
    connections = [openstack.connection.Connection(config=config.get_one(cloud))
                   for cloud in config.get_cloud_names()]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda c: c.compute.get_endpoint(), connections))  # tokens and catalogs
        calls = 0
        deadline = time.monotonic() + seconds
        cpu_began = time.process_time()

        def call(connection: openstack.connection.Connection) -> None:
            list(connection.compute.servers(changes_since=since))

        while time.monotonic() < deadline:
            batch = connections[: threads * 4]
            list(pool.map(call, batch))
            calls += len(batch)
            connections = connections[len(batch):] + batch
        cpu = time.process_time() - cpu_began
    return {"calls_per_second": calls / seconds, "cpu_ms_per_call": 1000 * cpu / max(1, calls)}


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
            emulator.set_server_status(server_id, "SHUTOFF")
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
    print(json.dumps(raw_calls(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))))
