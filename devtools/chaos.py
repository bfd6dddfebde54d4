"""``make chaos``: faults on real processes on 127.0.0.1, measured against their targets.

Every scenario starts its own Redis, emulator, API and workers, does its damage, measures, and
stops them. The results table is written to ``docs/chaos.md`` (committed) and printed.
``python -m devtools.chaos <scenario>…`` runs only those, and only prints.
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

import aiohttp

from . import chaos_ha, chaos_scenarios
from .chaos_client import ChaosClient
from .chaos_outcome import Outcome, Scenario
from .chaos_stack import ChaosStack, StackPlan
from .localredis import find_redis_server

RESULTS = Path("docs/chaos.md")
SCENARIOS: list[tuple[Scenario, StackPlan]] = [
    (chaos_scenarios.worker_kills, StackPlan()), (chaos_scenarios.stopped_worker, StackPlan()),
    (chaos_scenarios.redis_restart, StackPlan()), (chaos_scenarios.openstack_outage, StackPlan()),
    (chaos_scenarios.throttling_storm, StackPlan()), (chaos_scenarios.full_redis, StackPlan()),
    (chaos_ha.master_failover, StackPlan(sentinel=True)), (chaos_ha.receiver_outage, StackPlan()),
    (chaos_ha.stopped_past_the_trim, StackPlan(settings={"EVENTS_KEPT": str(chaos_ha.TRIMMED_CAP)})),
    (chaos_scenarios.attach_under_kills, StackPlan(emulator=("--action-delay", "6"))),
]


async def run_scenario(scenario: Scenario, plan: StackPlan) -> list[Outcome]:
    """One scenario on a fresh stack; a crash of the scenario itself is a stated miss."""
    stack = ChaosStack(plan)
    try:
        await asyncio.to_thread(stack.start)
        async with aiohttp.ClientSession() as session:
            return await scenario(stack, ChaosClient(stack, session))
    except Exception as error:  # noqa: BLE001 - reported in the table, with its cause
        return [Outcome(scenario.__doc__ or scenario.__name__, "runs to its end",
                        f"crashed: {type(error).__name__}: {error}"[:200], False)]
    finally:
        await asyncio.to_thread(stack.stop)


def _header() -> str:
    redis_version = subprocess.run([find_redis_server(), "--version"], capture_output=True,
                                   text=True, check=False).stdout.split()[2]
    return (f"# `make chaos` results\n\nRun {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} "
            f"cores ({platform.machine()}), Python {platform.python_version()}, Redis "
            f"{redis_version.removeprefix('v=')}, aiohttp {version('aiohttp')}, openstacksdk "
            f"{version('openstacksdk')}, redis-py {version('redis')}. Every process ran on "
            "127.0.0.1; each scenario had its own Redis (one append-only server; for the failover, a "
            "master, a replica and three sentinels), emulator, API and two workers. Webhook "
            "deliveries are judged against the events the project's Redis stream held. Run it again "
            "with `make chaos` (docs/testing.md).\n\n")


def _table(outcomes: list[Outcome], seconds: float) -> str:
    rows = "".join(f"| {o.scenario} | {o.target} | {o.measured} | {'yes' if o.met else '**no**'} |\n"
                   for o in outcomes)
    misses = [o for o in outcomes if not o.met]
    summary = (f"\n{len(outcomes) - len(misses)} of {len(outcomes)} targets met in {seconds:.0f} s.\n"
               if outcomes else "")
    return "| scenario | target | measured | met |\n|---|---|---|---|\n" + rows + summary


async def _run(chosen: list[tuple[Scenario, StackPlan]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for scenario, plan in chosen:
        print(f"chaos: {scenario.__name__} …", flush=True)
        outcomes += await run_scenario(scenario, plan)
    return outcomes


def main() -> int:
    """Run the scenarios named (or all, and write the table), print it; exit 1 if a target was
    missed."""
    names = sys.argv[1:]
    unknown = set(names) - {scenario.__name__ for scenario, _ in SCENARIOS}
    if unknown:
        sys.exit(f"no such scenario: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    outcomes = asyncio.run(_run([(s, p) for s, p in SCENARIOS if not names or s.__name__ in names]))
    text = _header() + _table(outcomes, time.monotonic() - started)
    if not names:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text)
    print(text)
    return 0 if all(o.met for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
