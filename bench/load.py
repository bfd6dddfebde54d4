"""``python -m bench.load``: a load generator in a process of its own: keep-alive connections
GET one URL for a while; prints requests/s, latency percentiles, bytes per answer and the
generator used as JSON. wrk (one thread) when it is on PATH, else an aiohttp client."""
import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import time
import urllib.request

import aiohttp

Figures = dict[str, float | str]
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def generator() -> str:
    """The generator ``drive`` uses here: ``wrk`` or ``aiohttp``."""
    return "wrk" if shutil.which("wrk") else "aiohttp"


async def drive_aiohttp(url: str, headers: dict[str, str], connections: int, seconds: float) -> Figures:
    """GET ``url`` from ``connections`` keep-alive connections for ``seconds`` (every request
    begun is awaited, however slow)."""
    latencies: list[float] = []
    sizes: list[int] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        deadline = time.monotonic() + seconds

        async def one_connection() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    body = await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - started)
                sizes.append(len(body))

        began = time.monotonic()
        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.monotonic() - began
    latencies.sort()
    return {"requests_per_second": len(latencies) / elapsed,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
            "bytes_per_answer": statistics.mean(sizes), "generator": "aiohttp"}


def drive_wrk(url: str, headers: dict[str, str], connections: int, seconds: float) -> Figures:
    """The same load from wrk with one thread (the other core is the server's)."""
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:  # its size, and that it answers 200
        size = len(answer.read())
    header_arguments = [a for name, value in headers.items() for a in ("-H", f"{name}: {value}")]
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
                             "--timeout", "30s", *header_arguments, url],
                            capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses|Socket errors", output):
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    return {"requests_per_second": float(_field(output, r"Requests/sec:\s+([\d.]+)")),
            "p50_ms": _milliseconds(_field(output, r"\n\s+50%\s+(\S+)")),
            "p99_ms": _milliseconds(_field(output, r"\n\s+99%\s+(\S+)")),
            "bytes_per_answer": float(size), "generator": "wrk"}


def _field(output: str, pattern: str) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}:\n{output}")
    return found.group(1)


def _milliseconds(text: str) -> float:
    """wrk's ``812.00us``, ``1.20ms`` or ``2.01s`` in milliseconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise RuntimeError(f"not a wrk duration: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def main() -> None:
    """Parse the arguments, drive the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--generator", choices=("auto", "wrk", "aiohttp"), default="auto",
                        help="aiohttp awaits every request begun (for answers slower than a run)")
    arguments = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in arguments.header)
    chosen = generator() if arguments.generator == "auto" else arguments.generator
    load = (arguments.url, headers, arguments.connections, arguments.seconds)
    print(json.dumps(drive_wrk(*load) if chosen == "wrk" else asyncio.run(drive_aiohttp(*load))))


if __name__ == "__main__":
    main()
