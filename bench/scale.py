"""``python -m bench.scale`` (``make bench-scale``): 10,000 projects of 50 servers in the emulator,
polled by 2 and then 4 worker processes; the poll cycle, Redis's memory and the requests Nova
sees, with a projection to 100,000 projects; writes ``bench/SCALE.md``."""
import argparse
import datetime
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from devtools.emulator_client import EmulatorProcess
from devtools.localredis import LocalRedis
from devtools.processes import start_logged, stop_process

from .polling import THREADS

RESULTS = Path(__file__).with_name("SCALE.md")
WINDOW = 30.0
TARGET_PROJECTS = 100_000


def _workers(count: int, workdir: Path, environ: dict[str, str], tag: str) -> list[Any]:
    return [start_logged([sys.executable, "-m", "workers"], workdir / f"{tag}-{n}.log", environ)
            for n in range(count)]


def _scheduled_polls(client: redis.Redis) -> int:
    """Successful polls so far, summed over the projects' poll cycles."""
    total = 0
    for key in client.scan_iter(match="cs:{*}:poll", count=1000):
        cycle = client.hget(key, "cycle")
        total += int(cycle or 0)
    return total


def _polls_in(client: redis.Redis, seconds: float) -> float:
    before = _scheduled_polls(client)
    began = time.monotonic()
    time.sleep(seconds)
    return (_scheduled_polls(client) - before) / (time.monotonic() - began)


def _nova_rate(emulator_log_seq: Any, seconds: float) -> float:
    first = emulator_log_seq()
    time.sleep(seconds)
    return (emulator_log_seq() - first) / seconds


def main() -> None:
    """Seed, poll with 2 then 4 workers, measure, project, write ``bench/SCALE.md``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=50)
    arguments = parser.parse_args()
    figures: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as name, LocalRedis() as store:
        workdir = Path(name)
        clouds = workdir / "clouds.yaml"
        emulator = EmulatorProcess(workdir / "emulator", "--seed-projects", str(arguments.projects),
                                   "--seed-servers", str(arguments.servers), "--clouds-yaml", str(clouds),
                                   "--quota-instances", str(arguments.servers * 2))
        seeding = time.monotonic()
        client_of_emulator = emulator.start()
        seeded_in = time.monotonic() - seeding
        environ = {"REDIS_URL": store.url, "OS_CLIENT_CONFIG_FILE": str(clouds), "LOG_LEVEL": "WARNING",
                   "WORKER_METRICS_PORT": "0", "POLL_INTERVAL": "1", "OPENSTACK_THREADS": str(THREADS),
                   "POLL_LEASE": "120"}
        client = redis.Redis.from_url(store.url)
        try:
            for count in (2, 4):
                workers = _workers(count, workdir, environ, f"w{count}")
                try:
                    began = time.monotonic()
                    while _scheduled_polls(client) < arguments.projects * (2 if count == 2 else 4):
                        time.sleep(5)  # every project fetched in full, then polled idly
                        if time.monotonic() - began > 3600:
                            raise RuntimeError("the workers did not poll every project in an hour")
                    polls = _polls_in(client, WINDOW)
                    nova = _nova_rate(client_of_emulator.last_request_seq, WINDOW)
                finally:
                    for worker in workers:
                        stop_process(worker, timeout=30)
                figures[count] = {"polls_per_second": polls, "cycle_seconds": arguments.projects / polls,
                                  "nova_per_second": nova}
            memory = int(client.info("memory")["used_memory"])
        finally:
            client.close()
            emulator.stop()
    _write(arguments.projects, arguments.servers, seeded_in, figures, memory)
    print(RESULTS.read_text())


def _write(projects: int, servers: int, seeded_in: float, figures: dict[int, dict[str, float]],
           memory: int) -> None:
    per_project = memory / projects
    per_worker = figures[4]["polls_per_second"] / 4
    lines = [
        "# Scale simulation (`make bench-scale`)", "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores: "
        f"{projects:,} projects × {servers} servers in the emulator (seeded in {seeded_in:.0f} s), "
        f"idle (nothing changes), polled with `POLL_INTERVAL=1` so that the workers are always "
        f"behind: their throughput is the measure. Everything (Redis, the emulator, the workers) "
        f"shares the same {os.cpu_count()} cores. Each figure is one {WINDOW:g}-s window.", "",
        "| worker processes | project polls/s | full poll cycle | OpenStack requests/s |",
        "|---|---|---|---|",
        *[f"| {count} | {f['polls_per_second']:,.0f} | {f['cycle_seconds']:,.1f} s | "
          f"{f['nova_per_second']:,.0f} |" for count, f in figures.items()], "",
        f"Redis after the runs: {memory / 2**20:,.0f} MiB ({per_project / 1024:,.1f} KiB per project, "
        f"{per_project / servers:,.0f} bytes per server, with the events streams and poll state).", "",
        f"## Projection to {TARGET_PROJECTS:,} projects", "",
        *_projection(per_project, per_worker), ""]
    RESULTS.write_text("\n".join(lines))


def _projection(per_project: float, per_worker: float) -> list[str]:
    memory = per_project * TARGET_PROJECTS
    lines = []
    for interval in (30, 60):
        rate = TARGET_PROJECTS / interval
        workers = math.ceil(rate / per_worker)
        lines.append(f"- A {interval}-s poll interval means {rate:,.0f} polls/s, so {rate:,.0f} "
                     f"Nova requests/s when idle (one each), and ≈ {workers} worker processes at "
                     f"the {per_worker:,.0f} polls/s one reached here. The bound is Nova: that is "
                     "the load a real Nova's API tier must take.")
    lines.append(f"- Redis: ≈ {memory / 2**30:,.1f} GiB. One Redis holds that; a cluster "
                 "(`redis+cluster://`) spreads it, and the schedule's 16 buckets spread the "
                 "scheduling over the shards.")
    lines.append("- The emulator answered every request here on one core; a real Nova scales out, "
                 "so the workers' figure per process is the one to scale by.")
    return lines


if __name__ == "__main__":
    main()
