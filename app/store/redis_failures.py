"""Telling Redis's failures apart: a full Redis refuses writes but still answers reads."""
from redis.exceptions import OutOfMemoryError, RedisError


def out_of_memory(error: RedisError) -> bool:
    """Whether Redis refused a write because it is at ``maxmemory`` (also inside a script, where
    the refusal comes back wrapped in a script error)."""
    return isinstance(error, OutOfMemoryError) or "OOM command not allowed" in str(error)
