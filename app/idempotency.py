"""``Idempotency-Key``: the same key in the same project within 24 h answers the first answer."""
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from . import redis_layout as keys


@dataclass(frozen=True)
class KeyUse:
    """What a key was first used for: the request's fingerprint, its job and (later) its answer."""

    fingerprint: str
    job_id: str
    answer: dict[str, Any] | None


def fingerprint(request: dict[str, Any]) -> str:
    """A digest of a request body, independent of key order."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


class IdempotencyStore:
    """Keys are stored by digest, per project, for 24 hours."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @staticmethod
    def _key(project_id: str, key: str) -> str:
        return keys.idempotency(project_id, hashlib.sha256(key.encode()).hexdigest())

    async def get(self, project_id: str, key: str) -> KeyUse | None:
        """The key's first use, if it was used in the last 24 hours."""
        raw = await self._redis.get(self._key(project_id, key))
        if raw is None:
            return None
        stored = json.loads(raw)
        return KeyUse(stored["fingerprint"], stored["job_id"], stored["answer"])

    async def claim(self, project_id: str, key: str, use: KeyUse) -> KeyUse | None:
        """Record the key's first use; if it was used before, that earlier use."""
        stored = json.dumps({"fingerprint": use.fingerprint, "job_id": use.job_id, "answer": None})
        redis_key = self._key(project_id, key)
        if await self._redis.set(redis_key, stored, nx=True, ex=keys.IDEMPOTENCY_TTL):
            return None
        return await self.get(project_id, key)

    async def forget(self, project_id: str, key: str) -> None:
        """Drop a key whose first request never queued its job."""
        await self._redis.delete(self._key(project_id, key))

    async def record_answer(self, project_id: str, key: str, use: KeyUse,
                            answer: dict[str, Any]) -> None:
        """Keep the first answer, for replays."""
        stored = json.dumps({"fingerprint": use.fingerprint, "job_id": use.job_id, "answer": answer})
        await self._redis.set(self._key(project_id, key), stored, xx=True, keepttl=True)
