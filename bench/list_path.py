"""The list path side by side: the API (one process, and ``WEB_CONCURRENCY`` processes; with a
static token and with a JWT of a real issuer process), a bare aiohttp handler answering the same
bytes (the limit of the stack) and a live proxy calling openstacksdk per request (the design the
snapshot replaces); plus the show path against a raw openstacksdk ``get_server``, Redis's bytes
per server and the API's memory."""
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import openstack
import redis
from openstack.config import OpenStackConfig

from devtools.emulator_client import EmulatorClient
from devtools.issuer_client import IssuerProcess, write_access_file
from devtools.processes import start_serving, stop_process

from .access_lines import measure_access_lines
from .identity import measure_identity
from .polling import cpu_seconds
from .stack import Api, Projects, get_json, load, make_projects, start_api, wait_for

SMALL, BIG, TINY = 200, 2000, 3
JWT_SUBJECT, AUDIENCE = "bench", "cloud-servers-api"
CONNECTIONS, SECONDS, RUNS = 64, 5.0, 3
PAGE = 50


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: statistics.median(run[key] for run in runs) if key != "generator" else runs[0][key]
            for key in runs[0]}


def _load_timed(url: str, headers: dict[str, str], pid: int | None) -> dict[str, Any]:
    """One run's figures, with the serving process's CPU µs per answer when it is one process."""
    before = cpu_seconds(pid) if pid is not None else 0.0
    figures = load(url, headers, CONNECTIONS, SECONDS)
    answers = figures["requests_per_second"] * SECONDS
    figures["cpu_us"] = (1e6 * (cpu_seconds(pid) - before) / answers
                         if pid is not None and answers else float("nan"))
    return figures


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _bytes_per_server(redis_url: str, api: Api, projects: Projects, index: int, count: int) -> float:
    """Redis's memory for a project's snapshot (taken by the first list), per server."""
    client = redis.Redis.from_url(redis_url)
    before = int(client.info("memory")["used_memory"])
    get_json(f"{api.url}/cloud/servers?project_id={projects.ids[index]}", projects.token)
    after = int(client.info("memory")["used_memory"])
    client.close()
    return (after - before) / count


def measure_lists(workdir: Path, redis_url: str, emulator: EmulatorClient,
                  processes: int) -> dict[str, Any]:
    """Every list variant, interleaved run by run; the medians, with memory figures."""
    projects = make_projects(workdir / "lists", emulator, [SMALL, BIG, TINY])
    issuer = IssuerProcess(workdir / "issuer").start()
    access_file = write_access_file(workdir / "access.yaml", issuer.url, AUDIENCE, [
        {"subject": JWT_SUBJECT, "projects": projects.ids, "role": "reader"}])
    api = start_api(projects, redis_url, workdir / "api.log", live_reads_per_minute=1_000_000,
                    access_file=access_file, oidc_allow_http="true", log_level="INFO")  # access log on
    multi = start_api(projects, redis_url, workdir / "api-multi.log", web_concurrency=processes)
    started: list[subprocess.Popen[bytes]] = []
    try:
        per_server = _bytes_per_server(redis_url, api, projects, 1, BIG)
        auth = {"Authorization": f"Bearer {projects.token}", "Accept-Encoding": "identity"}
        bodies = {}
        for index, count in ((0, SMALL), (1, BIG), (2, TINY)):
            url = f"{api.url}/cloud/servers?project_id={projects.ids[index]}"
            with urllib.request.urlopen(urllib.request.Request(url, headers=auth), timeout=30) as answer:
                bodies[count] = answer.read()
            (workdir / f"body-{count}.json").write_bytes(bodies[count])
        bare = {}
        for count in (TINY, SMALL, BIG):
            process, url = start_serving("bench.bare", workdir / f"bare-{count}", "--body",
                                         str(workdir / f"body-{count}.json"), "--token", projects.token)
            started.append(process)
            bare[count] = (f"{url}/cloud/servers", process.pid)
        proxy, proxy_url = start_serving("bench.live_proxy", workdir / "proxy", "--cloud", "bench-0",
                                         "--token", projects.token,
                                         env={"OS_CLIENT_CONFIG_FILE": str(projects.clouds_file)})
        started.append(proxy)
        for url in (*(url for url, _ in bare.values()), f"{proxy_url}/cloud/servers"):
            wait_for(url, {"Authorization": auth["Authorization"]})
        small_url = f"{api.url}/cloud/servers?project_id={projects.ids[0]}"
        tiny_url = f"{api.url}/cloud/servers?project_id={projects.ids[2]}"
        marker = get_json(f"{small_url}&limit={PAGE}", projects.token)[-1]["id"]
        by_jwt = {**auth, "Authorization": f"Bearer {issuer.sign(sub=JWT_SUBJECT, aud=AUDIENCE)}"}
        one = api.process.pid  # the serving process whose CPU is counted (None: several)
        variants = {
            f"API, {TINY} servers": (tiny_url, auth, one),
            f"API, {TINY} servers, JWT": (tiny_url, by_jwt, one),
            f"bare aiohttp, the {TINY}-server bytes": (bare[TINY][0], auth, bare[TINY][1]),
            f"API, {SMALL} servers": (small_url, auth, one),
            f"API, {SMALL} servers, JWT": (small_url, by_jwt, one),
            f"API, {SMALL} servers, gzip": (small_url, {**auth, "Accept-Encoding": "gzip"}, one),
            f"API, {processes} processes (`WEB_CONCURRENCY`), {SMALL} servers":
                (f"{multi.url}/cloud/servers?project_id={projects.ids[0]}", auth, None),
            f"bare aiohttp, the {SMALL}-server bytes": (bare[SMALL][0], auth, bare[SMALL][1]),
            f"API, {SMALL} servers, `limit={PAGE}`": (f"{small_url}&limit={PAGE}", auth, one),
            f"API, {SMALL} servers, `limit={PAGE}&marker=`":
                (f"{small_url}&limit={PAGE}&marker={marker}", auth, one),
            f"API, {BIG:,} servers": (f"{api.url}/cloud/servers?project_id={projects.ids[1]}", auth, one),
            f"bare aiohttp, the {BIG:,}-server bytes": (bare[BIG][0], auth, bare[BIG][1]),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for _ in range(RUNS):
            for name, (url, headers, pid) in variants.items():
                runs[name].append(_load_timed(url, headers, pid))
        figures = {name: _median(results) for name, results in runs.items()}
        figures[f"live proxy (openstacksdk per request), {SMALL} servers"] = load(
            f"{proxy_url}/cloud/servers", auth, CONNECTIONS, SECONDS, "aiohttp")  # slower than a run
        show = _measure_show(api, projects)
        show.update(_measure_shared_shows(api, projects, emulator, redis_url, workdir))
        jwks_fetches = issuer.stats()["jwks"]
        identity = measure_identity(projects.tokens_file, projects.token, access_file, issuer,
                                    JWT_SUBJECT, AUDIENCE)
        access_lines = measure_access_lines()
        return {"lists": figures, "show": show, "bytes_per_server": per_server,
                "api_rss_mib": _rss_kib(api.process.pid) / 1024, "projects": projects,
                "jwks_fetches": jwks_fetches, "identity": identity, "access_lines": access_lines}
    finally:
        for process in started:
            stop_process(process)
        multi.stop()
        api.stop()
        issuer.stop()


def _measure_shared_shows(api: Api, projects: Projects, emulator: EmulatorClient, redis_url: str,
                          workdir: Path) -> dict[str, float]:
    """64 clients polling one server's show for a run: the API's shows per second and the Nova
    reads per second they cost, with reads shared for ``SHOW_FRESHNESS`` (1 s) and with it at
    1 µs (each show reads Nova, but concurrent ones in the process still share one read)."""
    server_id = get_json(f"{api.url}/cloud/servers?project_id={projects.ids[2]}&limit=1",
                         projects.token)[0]["id"]
    unshared = start_api(projects, redis_url, workdir / "api-unshared.log", show_freshness="0.000001",
                         live_reads_per_minute=1_000_000)
    figures: dict[str, float] = {}
    try:
        for name, url in (("shared", api.url), ("unshared", unshared.url)):
            after = emulator.last_request_seq()
            run = load(f"{url}/cloud/servers/{server_id}?project_id={projects.ids[2]}",
                       {"Authorization": f"Bearer {projects.token}"}, CONNECTIONS, SECONDS)
            reads = [r for r in emulator.requests(project_id=projects.ids[2], after=after)
                     if r["method"] == "GET" and r["path"] == f"/compute/v2.1/servers/{server_id}"]
            figures[f"{name}_shows_per_second"] = run["requests_per_second"]
            figures[f"{name}_nova_reads_per_second"] = len(reads) / SECONDS
            figures[f"{name}_p99_ms"] = run["p99_ms"]
    finally:
        unshared.stop()
    return figures


def _measure_show(api: Api, projects: Projects) -> dict[str, float]:
    """``GET /cloud/servers/{id}`` one at a time against openstacksdk's ``get_server`` on a reused
    connection: the medians of their latencies."""
    server_id = get_json(f"{api.url}/cloud/servers?project_id={projects.ids[0]}&limit=1",
                         projects.token)[0]["id"]
    ours = load(f"{api.url}/cloud/servers/{server_id}?project_id={projects.ids[0]}",
                {"Authorization": f"Bearer {projects.token}"}, 1, SECONDS, "aiohttp")  # Python, as raw
    config = OpenStackConfig(config_files=[str(projects.clouds_file)], load_envvars=False)
    connection = openstack.connection.Connection(config=config.get_one("bench-0"))
    connection.compute.get_server(server_id)  # the token and the endpoint, as a warm service has
    latencies = []
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        began = time.perf_counter()
        connection.compute.get_server(server_id)
        latencies.append(1000 * (time.perf_counter() - began))
    connection.close()
    return {"api_p50_ms": ours["p50_ms"], "raw_p50_ms": statistics.median(latencies)}
