"""``Idempotency-Key``: the same key in the same project within 24 h gives the first outcome."""
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from ..store import redis_layout as layout
from ..store.redis_layout import IdempotencyField


@dataclass(frozen=True)
class JobOutcome:
    """What a create or an action answered: its job as it stood then, and the server id (for a
    create, if Nova had given it)."""

    project_id: str
    job_id: str
    job_status: str
    server_id: str | None
    replayed: bool = False  # answered again to a request with the same key


@dataclass(frozen=True)
class KeyClaim:
    """An Idempotency-Key to claim (``SET NX``) in the same step as its job is queued."""

    key: str
    value: str
    ttl: int


@dataclass(frozen=True)
class KeyUse:
    """What a key was first used for: the request's fingerprint, its job and (later) its outcome."""

    fingerprint: str
    job_id: str
    outcome: JobOutcome | None


def fingerprint(request: dict[str, Any]) -> str:
    """A digest of a request body, independent of key order."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def nova_tag(project_id: str, key: str, body_fingerprint: str) -> str:
    """What a keyed create's server carries in Nova's metadata: digests of the key (never the
    key itself) and of the request, so a replay finds the server even if Redis lost everything."""
    key_digest = hashlib.sha256(f"{project_id}:{key}".encode()).hexdigest()[:32]
    return f"{key_digest}:{body_fingerprint[:32]}"


def same_key(tag: str, other: str) -> bool:
    """Whether two Nova tags name the same Idempotency-Key (whatever their requests)."""
    return tag.split(":")[0] == other.split(":")[0]


def _encode(use: KeyUse) -> str:
    return json.dumps({IdempotencyField.FINGERPRINT: use.fingerprint,
                       IdempotencyField.JOB_ID: use.job_id,
                       IdempotencyField.OUTCOME: asdict(use.outcome) if use.outcome else None})


class IdempotencyStore:
    """Keys are stored by digest, per project, for 24 hours."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @staticmethod
    def _key(project_id: str, key: str) -> str:
        return layout.idempotency(project_id, hashlib.sha256(key.encode()).hexdigest())

    async def get(self, project_id: str, key: str) -> KeyUse | None:
        """The key's first use, if it was used in the last 24 hours."""
        raw = await self._redis.get(self._key(project_id, key))
        if raw is None:
            return None
        stored = json.loads(raw)
        outcome = stored.get(IdempotencyField.OUTCOME)
        return KeyUse(stored[IdempotencyField.FINGERPRINT], stored[IdempotencyField.JOB_ID],
                      JobOutcome(**outcome) if outcome else None)

    def claim(self, project_id: str, key: str, use: KeyUse) -> KeyClaim:
        """The claim of the key's first use, made together with its job's record."""
        return KeyClaim(self._key(project_id, key), _encode(use), layout.IDEMPOTENCY_TTL)

    async def forget(self, project_id: str, key: str) -> None:
        """Drop a key whose first request never queued its job."""
        await self._redis.delete(self._key(project_id, key))

    async def record_outcome(self, project_id: str, key: str, use: KeyUse) -> None:
        """Keep the first outcome, for replays."""
        await self._redis.set(self._key(project_id, key), _encode(use), xx=True, keepttl=True)
