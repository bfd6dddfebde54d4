"""``make chaos``: faults on real processes on 127.0.0.1, measured against their targets.

Every scenario starts its own Redis, emulator, API and workers, does its damage, measures, and
stops them. The results table is written to ``docs/chaos.md`` (committed) and printed.
"""
import asyncio
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from .chaos_scenarios import SCENARIOS, Outcome, run_scenario
from .localredis import find_redis_server

RESULTS = Path("docs/chaos.md")


def _header() -> str:
    redis_version = subprocess.run([find_redis_server(), "--version"], capture_output=True,
                                   text=True, check=False).stdout.split()[2]
    return (f"# `make chaos` results\n\nRun {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} "
            f"cores ({platform.machine()}), Python {platform.python_version()}, Redis "
            f"{redis_version.removeprefix('v=')}, aiohttp {version('aiohttp')}, openstacksdk "
            f"{version('openstacksdk')}, redis-py {version('redis')}. Every process ran on "
            "127.0.0.1; each scenario had its own Redis (append-only), emulator, API and two "
            "workers. Run it again with `make chaos`.\n\n")


def _table(outcomes: list[Outcome], seconds: float) -> str:
    rows = "".join(f"| {o.scenario} | {o.target} | {o.measured} | {'yes' if o.met else '**no**'} |\n"
                   for o in outcomes)
    misses = [o for o in outcomes if not o.met]
    summary = (f"\n{len(outcomes) - len(misses)} of {len(outcomes)} targets met in {seconds:.0f} s.\n"
               if outcomes else "")
    return "| scenario | target | measured | met |\n|---|---|---|---|\n" + rows + summary


async def _run() -> list[Outcome]:
    outcomes: list[Outcome] = []
    for scenario, settings in SCENARIOS:
        print(f"chaos: {scenario.__name__} …", flush=True)
        outcomes += await run_scenario(scenario, settings)
    return outcomes


def main() -> int:
    """Run every scenario, write and print the table; exit 1 if a target was missed."""
    started = time.monotonic()
    outcomes = asyncio.run(_run())
    text = _header() + _table(outcomes, time.monotonic() - started)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0 if all(o.met for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
