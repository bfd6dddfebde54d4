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

from app.process.settings import Settings
from app.store.redis_layout import RESOURCE_KINDS
from devtools.emulator_client import EmulatorClient, EmulatorProcess
from devtools.localredis import LocalRedis
from devtools.processes import start_logged, stop_process

from .polling import THREADS, cpu_seconds
from .stack import wait_until_warm

RESULTS = Path(__file__).with_name("SCALE.md")
# A window lasts as many poll cycles as there are polls between a project's full listings, so
# that it holds each project's full listing once (the projects, seeded together, take theirs in
# the same cycle: a shorter window would see all of them or none).
CYCLES = Settings.full_resync_every
TARGET_PROJECTS = 100_000
# A project's resources refresh lists each kind (flavors, images…) once every RESOURCES_INTERVAL.
# The run lists them once (the first fetch) so that its windows measure server polls alone; the
# projection adds their refresh at the service's default interval.
RESOURCE_LISTS, RESOURCES_INTERVAL = len(RESOURCE_KINDS), Settings.resources_interval
RUN_RESOURCES_INTERVAL = 86_400
# A worker fetches a token for each project it polls the first time. One costs it as much CPU as
# dozens of polls, so a window is measured once they are at most this share of the requests.
WARM_SHARE = 0.002


def _workers(count: int, workdir: Path, environ: dict[str, str], tag: str) -> list[Any]:
    return [start_logged([sys.executable, "-m", "workers"], workdir / f"{tag}-{n}.log", environ)
            for n in range(count)]


def _scheduled_polls(client: redis.Redis) -> int:
    """Successful polls so far, summed over the projects' poll cycles."""
    keys = list(client.scan_iter(match="cs:{*}:poll", count=1000))
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hget(key, "cycle")
        return sum(int(cycle or 0) for cycle in pipe.execute())


def _redis_cpu(client: redis.Redis) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _window(client: redis.Redis, emulator: EmulatorClient, workers: list[Any],
            polls_wanted: int) -> dict[str, float]:
    """In a window of ``polls_wanted`` polls: project polls and emulator requests per second,
    and the CPU milliseconds a poll cost the workers and Redis."""
    polls, requests, began = _scheduled_polls(client), emulator.last_request_seq(), time.monotonic()
    workers_cpu, redis_cpu = sum(cpu_seconds(w.pid) for w in workers), _redis_cpu(client)
    while emulator.last_request_seq() - requests < polls_wanted:  # one request an idle poll
        time.sleep(2)
    elapsed = time.monotonic() - began
    done = max(1, _scheduled_polls(client) - polls)
    return {"polls_per_second": done / elapsed,
            "nova_per_second": (emulator.last_request_seq() - requests) / elapsed,
            "worker_cpu_ms": 1000 * (sum(cpu_seconds(w.pid) for w in workers) - workers_cpu) / done,
            "redis_cpu_ms": 1000 * (_redis_cpu(client) - redis_cpu) / done}


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
        client_of_emulator = emulator.start(timeout=3600)  # it listens once every project is seeded
        client_of_emulator.timeout = 300  # new workers' first requests keep it busy for a while
        seeded_in = time.monotonic() - seeding
        environ = {"REDIS_URL": store.url, "OS_CLIENT_CONFIG_FILE": str(clouds), "LOG_LEVEL": "WARNING",
                   "WORKER_METRICS_PORT": "0", "POLL_INTERVAL": "1", "OPENSTACK_THREADS": str(THREADS),
                   "POLL_LEASE": "120", "RESOURCES_INTERVAL": str(RUN_RESOURCES_INTERVAL)}
        client = redis.Redis.from_url(store.url)
        try:
            for count in (2, 4):
                workers = _workers(count, workdir, environ, f"w{count}")
                try:
                    began, first = time.monotonic(), _scheduled_polls(client)
                    while _scheduled_polls(client) < first + arguments.projects:
                        time.sleep(5)  # every project fetched (in full, the first time)
                        if time.monotonic() - began > 3600:
                            raise RuntimeError("the workers did not poll every project in an hour")
                    wait_until_warm(client_of_emulator, share=WARM_SHARE)
                    figures[count] = _window(client, client_of_emulator, workers,
                                             CYCLES * arguments.projects)
                finally:
                    for worker in workers:
                        stop_process(worker, timeout=30)
                figures[count]["cycle_seconds"] = arguments.projects / figures[count]["polls_per_second"]
                memory = int(client.info("memory")["used_memory"])
                _write(arguments.projects, arguments.servers, seeded_in, figures, memory)  # so far
        finally:
            client.close()
            emulator.stop()
    print(RESULTS.read_text())


def _write(projects: int, servers: int, seeded_in: float, figures: dict[int, dict[str, float]],
           memory: int) -> None:
    per_project = memory / projects
    lines = [
        "# Scale simulation (`make bench-scale`)", "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores: "
        f"{projects:,} projects × {servers} servers in the emulator (seeded in {seeded_in:.0f} s), "
        f"idle (nothing changes), polled with `POLL_INTERVAL=1` so that the workers are always "
        f"behind: their throughput is the measure. The supporting resources are listed at the "
        f"first fetch only (`RESOURCES_INTERVAL={RUN_RESOURCES_INTERVAL}`), so the windows "
        f"measure server polls; the projection adds their refresh. Everything (Redis, the "
        f"emulator, the workers) shares the same {os.cpu_count()} cores. Each figure is one "
        f"window of {CYCLES} poll cycles (each project's full listing, one poll in {CYCLES}, "
        f"falls in it), once every project has been polled and the workers hold their "
        f"tokens (token requests under {WARM_SHARE:.1%} of what the emulator sees). Every "
        f"worker fetches a token for each project it polls, so a fleet holds workers × projects "
        f"tokens.", "",
        "| worker processes | project polls/s | full poll cycle | OpenStack requests/s | "
        "worker CPU per poll | Redis CPU per poll |",
        "|---|---|---|---|---|---|",
        *[f"| {count} | {f['polls_per_second']:,.0f} | {f['cycle_seconds']:,.1f} s | "
          f"{f['nova_per_second']:,.0f} | {f['worker_cpu_ms']:.2f} ms | {f['redis_cpu_ms']:.3f} ms |"
          for count, f in figures.items()], "",
        *([_processes_sentence(figures), ""] if 4 in figures else
          ["The run with four worker processes did not finish.", ""]),
        f"Redis after the runs: {memory / 2**20:,.0f} MiB ({per_project / 1024:,.1f} KiB per project, "
        f"{per_project / servers:,.0f} bytes per server, with the events streams and poll state).", "",
        f"## Projection to {TARGET_PROJECTS:,} projects", "",
        *_projection(per_project, figures[2]), ""]
    RESULTS.write_text("\n".join(lines))


def _processes_sentence(figures: dict[int, dict[str, float]]) -> str:
    gain = figures[4]["polls_per_second"] / figures[2]["polls_per_second"]
    return (f"Four worker processes poll {gain:.2f}× as fast as two"
            + (": on two cores, which the emulator and Redis share, the cores are the bound, so the "
               "projection below scales by the CPU a poll costs, not by processes."
               if gain < 1.5 else "."))


def _projection(per_project: float, measured: dict[str, float]) -> list[str]:
    memory = per_project * TARGET_PROJECTS
    lines = []
    for interval in (30, 60):
        rate = TARGET_PROJECTS / interval
        cores = rate * measured["worker_cpu_ms"] / 1000
        redis_cores = rate * measured["redis_cpu_ms"] / 1000
        masters = math.ceil(redis_cores / 0.5)  # a Redis thread kept at half a core or less
        lines.append(
            f"- A {interval}-s poll interval: {rate:,.0f} polls/s, so Nova sees {rate:,.0f} "
            f"requests/s when nothing changes (one each; a change adds its servers to that "
            f"answer, not requests). At {measured['worker_cpu_ms']:.1f} ms of worker CPU a poll, "
            f"that is ≈ {math.ceil(cores)} worker cores (one worker process each, with "
            f"`OPENSTACK_THREADS` threads), and ≈ {redis_cores:.1f} cores of Redis at "
            f"{measured['redis_cpu_ms']:.2f} ms a poll: "
            + ("one Redis keeps up." if masters <= 1 else
               f"more than one Redis thread gives, so a cluster of ≥ {masters} "
               "masters (`redis+cluster://`; the schedule's 16 buckets spread the claims)."))
    resources = TARGET_PROJECTS * RESOURCE_LISTS / RESOURCES_INTERVAL
    lines.append(f"- The supporting resources: {RESOURCE_LISTS} lists a project every "
                 f"`RESOURCES_INTERVAL` ({RESOURCES_INTERVAL:g} s by default) is {resources:,.0f} "
                 "requests/s over Nova, Glance, Neutron and Cinder, as much as the idle server polls "
                 f"at a {RESOURCES_INTERVAL / RESOURCE_LISTS:.0f}-s poll interval. At this scale, "
                 f"raise it: at 3,600 s it is {TARGET_PROJECTS * RESOURCE_LISTS / 3600:,.0f} requests/s.")
    lines.append(f"- Redis memory: ≈ {memory / 2**30:,.1f} GiB at {per_project / 1024:,.1f} KiB a "
                 "project of this size; one Redis holds that, a cluster spreads it.")
    lines.append("- These are idle projects measured on 2 shared cores, with the emulator taking "
                 "part of them; a real Nova's API tier must take the requests above, and it is the "
                 "bound long before the workers are.")
    return lines


if __name__ == "__main__":
    main()
