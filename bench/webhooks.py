"""Webhook delivery at scale: 1,000 subscriptions (100 projects × 10), events appended at 10 a
second (each to every subscription of its project: 100 deliveries a second) for ``SECONDS``,
one worker process sending them to a receiver on 127.0.0.1; the lag from an event's append to
its arrival, p50 and p99, and the deliveries that arrived. The appends begin once the worker's
first polls of the 100 projects are done: that start-up holds its process for a second or two,
and would otherwise be measured as the lag of the first events (up to 1.8 s).

``python -m bench.webhooks --port-file <file> --arrivals <file>`` is the receiver: it answers 204
and writes each arrival's event id and time to the arrivals file.
"""
import argparse
import asyncio
import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from app.events.server_events import ServerEvent
from app.events.stream import EventStream
from devtools.dev_webhooks import write_webhook_keys
from devtools.emulator_client import EmulatorClient
from devtools.local_serving import serve_until_stopped
from devtools.processes import start_serving, stop_process

from .stack import Projects, make_projects, start_api, start_workers, wait_until_idle

PROJECTS, PER_PROJECT = 100, 10
EVENTS_PER_SECOND, SECONDS = 10, 30.0
SETTLE = 30.0  # seconds the deliveries may take to arrive after the last append


def measure_webhooks(workdir: Path, redis_url: str, emulator: EmulatorClient) -> dict[str, Any]:
    """Deliveries a second, their lag p50/p99, and how many arrived of those due."""
    projects = make_projects(workdir / "webhooks", emulator, [0] * PROJECTS)
    keys = write_webhook_keys(workdir / "webhook-keys")
    service = {"webhook_keys_file": keys, "webhook_allow_http": "true", "poll_interval": 3600,
               "webhook_allowed_networks": "127.0.0.1/32", "writes_per_minute": 1_000_000}
    arrivals = workdir / "arrivals.jsonl"
    receiver, receiver_url = start_serving("bench.webhooks", workdir / "receiver",
                                           "--arrivals", str(arrivals))
    api = start_api(projects, redis_url, workdir / "webhooks-api.log", **service)
    workers = start_workers(projects, redis_url, [workdir / "webhooks-worker.log"], **service)
    try:
        for project_id in projects.ids:
            for number in range(PER_PROJECT):
                _subscribe(api.url, projects, project_id, f"{receiver_url}/{number}")
        wait_until_idle(emulator)
        appended = asyncio.run(_append_events(redis_url, projects))
        deadline = time.monotonic() + SETTLE
        expected = len(appended) * PER_PROJECT
        while _count(arrivals) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for worker in workers:
            stop_process(worker, timeout=20)
        api.stop()
        stop_process(receiver, timeout=5)
    lags = sorted(arrived - appended[event_id] for event_id, arrived in _arrivals(arrivals)
                  if event_id in appended)
    return {"subscriptions": PROJECTS * PER_PROJECT, "deliveries_per_second": expected / SECONDS,
            "expected": expected, "arrived": len(lags),
            "lag_p50_s": statistics.median(lags) if lags else float("nan"),
            "lag_p99_s": lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")}


def _subscribe(api_url: str, projects: Projects, project_id: str, url: str) -> None:
    body = json.dumps({"project_id": project_id, "url": url, "events": ["server.status_changed"]})
    request = urllib.request.Request(f"{api_url}/cloud/webhooks", data=body.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {projects.token}",
                                              "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()


async def _append_events(redis_url: str, projects: Projects) -> dict[str, float]:
    """``EVENTS_PER_SECOND`` status changes a second, round the projects; each event's append time."""
    appended: dict[str, float] = {}
    async with Redis.from_url(redis_url) as redis:
        stream = EventStream(redis)
        began = time.monotonic()
        for number in range(int(EVENTS_PER_SECOND * SECONDS)):
            await asyncio.sleep(max(0.0, began + number / EVENTS_PER_SECOND - time.monotonic()))
            event = ServerEvent(projects.ids[number % PROJECTS], "server.status_changed",
                                f"server-{number}", f"ACTIVE-{number}", {"status": "ACTIVE"})
            appended[event.id] = time.time()
            await stream.append([event])
    return appended


def _arrivals(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    return [(entry["id"], entry["at"]) for entry in map(json.loads, path.read_text().splitlines())]


def _count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _receiver_app(file: Path) -> web.Application:
    """Answers 204 to every POST and writes each arrival's event id and time, a line each."""
    output = file.open("a", buffering=1)

    async def hook(request: web.Request) -> web.Response:
        payload = await request.json()
        output.write(json.dumps({"id": payload["id"], "at": time.time()}) + "\n")
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{number}", hook)
    return app


def main() -> None:
    """Receive on 127.0.0.1 until stopped; the URL goes to the port file once listening."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--arrivals", type=Path, required=True)
    arguments = parser.parse_args()
    asyncio.run(serve_until_stopped(_receiver_app(arguments.arrivals), arguments.port_file))


if __name__ == "__main__":
    main()
