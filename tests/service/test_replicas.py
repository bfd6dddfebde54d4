"""Several replicas on one machine, as on Kubernetes: 2 API processes and 2 worker processes on
one Redis and the emulator. Creates, lists and deletes go through both APIs; one worker is
SIGKILLed mid-way. Nothing is lost, no project is polled by two workers at once, and the dead
worker's projects and jobs move to the survivor within two lease periods."""
import asyncio
import signal
import sys
import time
import urllib.request

import aiohttp

from devtools.localredis import free_port
from devtools.processes import start_logged, stop_process
from tests.service.test_worker_processes import LEASE, listings_by_project, start_worker
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually

VISIBILITY = 3.0  # seconds before a dead worker's job is taken over


def start_api(setup, tmp_path, name):
    port = free_port()
    process = start_logged([sys.executable, "-m", "app"], tmp_path / f"{name}.log",
                           {**setup.environ, "PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/readyz", timeout=1).close()
            return process, url
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.1)


async def test_two_apis_and_two_workers_lose_nothing_when_a_worker_dies(service, tmp_path):
    setup = service(projects=3, servers=1, job_visibility_timeout=VISIBILITY, openstack_timeout=2,
                    poll_lease=LEASE)
    emulator = setup.projects[0].emulator
    for project in setup.projects:
        emulator.set_faults(project.id, latency=0.15)
    after = emulator.last_request_seq()
    apis = [start_api(setup, tmp_path, f"api-{n}") for n in range(2)]
    workers = [start_worker(setup, tmp_path, f"worker-{n}") for n in range(2)]
    project_ids = [p.id for p in setup.projects]
    sessions = [aiohttp.ClientSession(base_url=url) for _, url in apis]
    try:
        polled = listings_by_project
        await eventually(lambda: asyncio.sleep(0, all(polled(emulator, project_ids, after).values())),
                         timeout=30)
        jobs = []
        for number in range(6):  # two creates per project, through one API and then the other
            client, index = sessions[number % 2], number % 3
            body = await create_body(client, setup, index, name=f"replica-{number}")
            answer = await post_server(client, setup, body)
            assert answer.status == 202
            jobs.append((index, (await answer.json())["job"]["href"]))
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        killed_at = emulator.call("GET", "/health")["now"]
        since = emulator.last_request_seq()

        finished = [await finished_job(sessions[n % 2], setup, href, timeout=60)
                    for n, (_, href) in enumerate(jobs)]
        created = {job["server_id"] for job in finished}

        async def listed_by_both(present: bool):
            for client in sessions:
                for project in setup.projects:
                    listed = await (await client.get(f"/cloud/servers?project_id={project.id}",
                                                     headers=setup.headers())).json()
                    ids = {server["id"] for server in listed}
                    mine = {job["server_id"] for job, (index, _) in zip(finished, jobs, strict=True)
                            if setup.projects[index] is project}
                    if (mine <= ids) != present or (not present and mine & ids):
                        return False
            return True

        await eventually(lambda: listed_by_both(True), timeout=20)
        deletes = []
        for number, (job, (index, _)) in enumerate(zip(finished, jobs, strict=True)):
            answer = await sessions[(number + 1) % 2].delete(
                f"/cloud/servers/{job['server_id']}?project_id={setup.projects[index].id}",
                headers=setup.headers())
            assert answer.status == 204
            deletes.append(answer.headers["Link"].split(">")[0].lstrip("<"))
        deleted = [await finished_job(sessions[n % 2], setup, href, timeout=60)
                   for n, href in enumerate(deletes)]
        await eventually(lambda: listed_by_both(False), timeout=20)

        def polled_since_the_kill():  # the jobs may all be done before the dead worker's leases end
            moved = listings_by_project(emulator, project_ids, since)
            return all(any(start > killed_at for start, _ in intervals) for intervals in moved.values())

        await eventually(lambda: asyncio.sleep(0, polled_since_the_kill()), timeout=4 * LEASE)
    finally:
        for session in sessions:
            await session.close()
        for process, _ in apis:
            stop_process(process)
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)

    assert [job["status"] for job in finished + deleted] == ["succeeded"] * 12
    assert len(created) == 6 and workers[1].returncode == 0
    polls = listings_by_project(emulator, project_ids, after)
    for intervals in polls.values():
        intervals.sort()
        for (_, previous_end), (start, _) in zip(intervals, intervals[1:], strict=False):
            assert start >= previous_end - 1e-3, "one project was polled by two workers at once"
    moved = listings_by_project(emulator, project_ids, since)
    for project_id, intervals in moved.items():  # each project polled by the survivor in time
        first = min(start for start, _ in intervals if start > killed_at)
        assert first <= killed_at + 2 * LEASE, (project_id, killed_at, sorted(intervals))
