"""Nova's load from polling, per-project polls against the cloud-wide poll (``CLOUD_READER``), at
1,000 and 10,000 projects of 3 servers: the server listings Nova answers a second at the default
``POLL_INTERVAL`` of 30 s, and how soon a change made in Nova reaches the snapshot (p50, p99).

Each size has an emulator and a Redis of its own. Two worker processes first poll each project on
its own; the same Redis then serves workers with the cloud-wide reader set, so the second mode
starts from the first's snapshot, as a deployment that turns the setting on does.
"""
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import redis

from app.store import redis_layout as layout
from app.store.redis_layout import CloudPollField, PollField
from devtools.emulator_client import CLOUD_READER, EmulatorClient, EmulatorProcess, add_cloud_reader
from devtools.localredis import LocalRedis
from devtools.processes import start_logged, stop_process

from .polling import THREADS, WORKERS

INTERVAL = 30.0  # the default POLL_INTERVAL
SERVERS = 3  # a typical project
CHANGES = 40  # servers changed in Nova, one in each of as many projects, spread over an interval
WARM_LIMIT = 1200.0  # seconds the first polls of every project may take
Row = dict[str, Any]


def measure_nova_load(workdir: Path, sizes: tuple[int, ...]) -> list[Row]:
    """A row per size and mode."""
    rows = []
    for projects in sizes:
        rows += _measure_size(workdir / f"nova-{projects}", projects)
    return rows


def _measure_size(workdir: Path, count: int) -> list[Row]:
    workdir.mkdir(parents=True)
    clouds = workdir / "clouds.yaml"
    emulator = EmulatorProcess(workdir / "emulator", "--seed-projects", str(count), "--seed-servers",
                               str(SERVERS), "--clouds-yaml", str(clouds), "--build-delay", "1")
    with LocalRedis() as store:
        client = emulator.start(timeout=600)
        client.timeout = 120
        store_client = redis.Redis.from_url(store.url)
        try:
            add_cloud_reader(clouds, client)
            environ = {"REDIS_URL": store.url, "OS_CLIENT_CONFIG_FILE": str(clouds), "LOG_LEVEL": "WARNING",
                       "WORKER_METRICS_PORT": "0", "POLL_INTERVAL": repr(INTERVAL),
                       "OPENSTACK_THREADS": str(THREADS), "POLL_LEASE": "120",
                       "RESOURCES_INTERVAL": "86400"}
            rows = []
            modes = (("per-project polls", {}), ("cloud-wide poll", {"CLOUD_READER": CLOUD_READER}))
            for mode, extra in modes:
                tokens = client.call("GET", "/health")["tokens_issued"]
                workers = [start_logged([sys.executable, "-m", "workers"], workdir / f"{mode[:5]}-{n}.log",
                                        {**environ, **extra}) for n in range(WORKERS)]
                try:
                    _wait_until_polled(store_client, count, cloud=bool(extra))
                    issued = client.call("GET", "/health")["tokens_issued"] - tokens
                    rows.append({"projects": count, "mode": mode, "tokens_per_project": issued / count,
                                 **_window(client), **_freshness(client, store_client)})
                finally:
                    for worker in workers:
                        stop_process(worker, timeout=30)
                print(f"nova load: {count} projects, {mode}: {rows[-1]}", flush=True)
            return rows
        finally:
            store_client.close()
            emulator.stop()


def _cycles(client: redis.Redis) -> dict[str, int]:
    """Each polled project's poll cycle."""
    keys = list(client.scan_iter(match="cs:{*}:poll", count=1000))
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hget(key, PollField.CYCLE)
        cycles = pipe.execute()
    return {key.decode()[4:36]: int(cycle or 0) for key, cycle in zip(keys, cycles, strict=True)}


def _wait_until_polled(client: redis.Redis, count: int, cloud: bool) -> None:
    """Until every project has been polled (twice in this mode: each has had a poll begun in it),
    and, for the cloud-wide mode, the cloud-wide poll has listed everything."""
    began, start = time.monotonic(), _cycles(client)
    while True:
        cycles = _cycles(client)
        done = sum(1 for project, cycle in cycles.items() if cycle >= start.get(project, 0) + 2)
        listed = not cloud or client.hget(layout.cloud_poll("RegionOne"), CloudPollField.TAKEN_AT)
        if done >= count and listed:
            return
        if time.monotonic() - began > WARM_LIMIT:
            raise RuntimeError(f"only {done} of {count} projects were polled in {WARM_LIMIT:.0f} s")
        time.sleep(2)


def _window(emulator: EmulatorClient) -> dict[str, float]:
    """Nova's server listings (and every request Nova, Glance, Neutron and Keystone saw) a second,
    over one poll interval."""
    after, began = emulator.last_request_seq(), time.monotonic()
    time.sleep(INTERVAL)
    elapsed = time.monotonic() - began
    seen = emulator.requests(after=after)
    listings = [r for r in seen if r["path"].endswith("/servers/detail")]
    return {"listings_per_second": len(listings) / elapsed,
            "requests_per_second": (emulator.last_request_seq() - after) / elapsed,
            "cloud_wide_listings": sum(1 for r in listings if "all_tenants" in r["query"])}


def _freshness(emulator: EmulatorClient, client: redis.Redis) -> dict[str, float]:
    """A server in each of ``CHANGES`` projects stopped in Nova, one every interval / CHANGES
    seconds; the time until each project's snapshot holds it SHUTOFF."""
    polled = sorted(_cycles(client))
    projects = polled[:: max(1, len(polled) // CHANGES)][:CHANGES]
    targets = {}
    for project_id in projects:
        for server_id, value in client.hgetall(layout.servers(project_id)).items():
            if json.loads(value)["status"] == "ACTIVE":
                targets[project_id] = server_id.decode()
                break
    changed_at: dict[str, float] = {}
    seen: dict[str, float] = {}
    spacing = INTERVAL / len(targets)
    deadline = time.monotonic() + 4 * INTERVAL
    pending = list(targets.items())
    next_change = time.monotonic()
    while (pending or len(seen) < len(changed_at)) and time.monotonic() < deadline:
        if pending and time.monotonic() >= next_change:
            project_id, server_id = pending.pop(0)
            emulator.set_server_status(server_id, "SHUTOFF")
            changed_at[project_id] = time.time()
            next_change += spacing
        waiting = [p for p in changed_at if p not in seen]
        with client.pipeline(transaction=False) as pipe:
            for project_id in waiting:
                pipe.hget(layout.servers(project_id), targets[project_id])
            values = pipe.execute()
        for project_id, value in zip(waiting, values, strict=True):
            if value and json.loads(value)["status"] == "SHUTOFF":
                seen[project_id] = time.time() - changed_at[project_id]
        time.sleep(0.05)
    delays = sorted(seen.values())
    return {"changes": len(changed_at), "missed": len(changed_at) - len(delays),
            "freshness_p50_s": statistics.median(delays) if delays else float("nan"),
            "freshness_p99_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays
            else float("nan")}


if __name__ == "__main__":  # one size alone: python -m bench.nova_load 1000
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        for row in measure_nova_load(Path(name), tuple(int(size) for size in sys.argv[1:]) or (1000,)):
            print(row)
