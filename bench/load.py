"""``python -m bench.load``: a load generator in a process of its own: keep-alive connections
GET one URL for a while; prints requests/s, latency percentiles and bytes per answer as JSON."""
import argparse
import asyncio
import json
import statistics
import time

import aiohttp


async def drive(url: str, headers: dict[str, str], connections: int, seconds: float) -> dict[str, float]:
    """GET ``url`` from ``connections`` keep-alive connections for ``seconds``."""
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
            "bytes_per_answer": statistics.mean(sizes)}


def main() -> None:
    """Parse the arguments, drive the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in arguments.header)
    print(json.dumps(asyncio.run(drive(arguments.url, headers, arguments.connections, arguments.seconds))))


if __name__ == "__main__":
    main()
