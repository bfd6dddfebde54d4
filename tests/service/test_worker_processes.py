"""Two worker processes on one Redis: never the same project at once; a dead one's share moves."""
import os
import signal
import subprocess
import sys

import pytest

from tests.support import eventually

LEASE = 3.0


def start_worker(setup, tmp_path, name):
    environ = {**os.environ, **setup.environ, "POLL_LEASE": str(LEASE), "OPENSTACK_TIMEOUT": "2"}
    with open(tmp_path / f"{name}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "workers"], env=environ, stdout=log,
                                stderr=subprocess.STDOUT)


def listings_by_project(emulator, project_ids, after):
    calls = [c for c in emulator.requests(after=after)
             if c["project_id"] in project_ids and c["path"] == "/compute/v2.1/servers/detail"]
    by_project = {p: [] for p in project_ids}
    for call in calls:
        by_project[call["project_id"]].append((call["started"], call["at"]))
    return by_project


@pytest.fixture
def workers(service, tmp_path):
    setup = service(projects=3, servers=1)
    emulator = setup.projects[0].emulator
    for project in setup.projects:
        emulator.set_faults(project.id, latency=0.15)
    after = emulator.last_request_seq()
    processes = [start_worker(setup, tmp_path, f"worker-{n}") for n in range(2)]
    yield setup, emulator, processes, after
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(15)


async def test_two_workers_never_poll_one_project_at_once(workers):
    setup, emulator, processes, after = workers
    project_ids = [p.id for p in setup.projects]

    async def each_polled_five_times():
        polls = listings_by_project(emulator, project_ids, after)
        return polls if all(len(p) >= 5 for p in polls.values()) else None

    polls = await eventually(each_polled_five_times, timeout=30)

    for intervals in polls.values():
        intervals.sort()
        for (_, previous_end), (start, _) in zip(intervals, intervals[1:], strict=False):
            assert start >= previous_end - 1e-3, "one project was polled by two workers at once"
    assert all(p.poll() is None for p in processes)


async def test_a_killed_workers_projects_are_polled_by_the_other(workers):
    setup, emulator, processes, after = workers
    project_ids = [p.id for p in setup.projects]
    await eventually(lambda: _async(all(listings_by_project(emulator, project_ids, after).values())),
                     timeout=30)

    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(10)
    killed_at = emulator.call("GET", "/health")["now"]  # the emulator's clock stamps its log
    since = emulator.last_request_seq()

    async def all_polled_after_the_lease():
        polls = listings_by_project(emulator, project_ids, since)
        return all(any(start > killed_at + LEASE for start, _ in p) for p in polls.values())

    await eventually(all_polled_after_the_lease, timeout=30)
    assert processes[1].poll() is None


async def _async(value):
    return value
