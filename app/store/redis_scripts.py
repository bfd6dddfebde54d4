"""Calls of registered Lua scripts, sent several in one round trip (a pipeline).

A pipeline cannot load a script, so a Redis that lost its scripts (a restart, a failover) refuses
a call with NOSCRIPT: that call is then run again alone, which loads its script. Calls after it
in the pipeline have run by then, so only until the scripts are loaded again can a refused call
land after the ones that followed it. redis-py refuses scripts in a Redis Cluster's pipelines
(their keys may live on different shards): there the calls are made one after the other.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

# KEYS: a claim (a string naming its holder). ARGV: the holder. Deletes the claim only if it is the
# holder's own: letting go never drops another worker's claim.
LET_GO = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class ScriptCall:
    """One call of a registered script: its keys and arguments."""

    script: AsyncScript
    keys: list[str]
    args: list[Any]

    async def __call__(self) -> Any:
        """Run it alone (its script is loaded first if Redis does not have it)."""
        return await self.script(keys=self.keys, args=self.args)


async def call_together(redis: Redis, calls: Sequence[ScriptCall]) -> list[Any]:
    """Run the calls in order, in one pipeline; their results."""
    if isinstance(redis, RedisCluster):
        return [await call() for call in calls]
    async with redis.pipeline(transaction=False) as pipe:
        for call in calls:
            pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
        results: list[Any] = await pipe.execute(raise_on_error=False)
    for index, (result, call) in enumerate(zip(results, calls, strict=True)):
        if isinstance(result, NoScriptError):
            results[index] = await call()
        elif isinstance(result, Exception):
            raise result
    return results
