"""The Redis snapshot: per project, the server list and the supporting resources, API-shaped.

Each list is stored encoded, with its ETag and the time it was taken, so that answering an
unfiltered list is one ``HGETALL`` and no re-encoding. Servers are also kept one by one (a hash
plus a sorted set for the order); whenever they change, a script rebuilds the encoded list
inside Redis, atomically with the change.
"""
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from . import redis_layout as keys
from .schemas import RESOURCE_SCHEMAS
from .times import parse_iso

# KEYS: servers hash, order zset, listing hash. ARGV[1]: taken_at ('' keeps the current one).
_REBUILD_SERVER_LIST = """
local ids = redis.call('ZREVRANGE', KEYS[2], 0, -1)
local parts = {}
for start = 1, #ids, 500 do
  local chunk = {}
  for i = start, math.min(start + 499, #ids) do chunk[#chunk + 1] = ids[i] end
  local values = redis.call('HMGET', KEYS[1], unpack(chunk))
  for _, value in ipairs(values) do
    if value then parts[#parts + 1] = value end
  end
end
local body = '[' .. table.concat(parts, ',') .. ']'
local etag = '"' .. redis.sha1hex(body) .. '"'
if ARGV[1] == '' then
  redis.call('HSET', KEYS[3], 'body', body, 'etag', etag)
else
  redis.call('HSET', KEYS[3], 'body', body, 'etag', etag, 'taken_at', ARGV[1], 'stale', '0')
end
return #parts
"""


def encode(value: Any) -> str:
    """Compact JSON, as stored and served."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def etag_of(body: bytes) -> str:
    """A strong ETag for a body the API renders itself (a filtered page)."""
    return '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'


@dataclass(frozen=True)
class Listing:
    """An encoded list as the snapshot holds it."""

    body: bytes
    etag: str
    taken_at: float
    stale: bool

    def age(self, now: float) -> float:
        """Seconds since the list was last confirmed against OpenStack."""
        return max(0.0, now - self.taken_at)

    def items(self) -> list[dict[str, Any]]:
        """The decoded list (for filtering and paging)."""
        return json.loads(self.body)


def _created_score(server: dict[str, Any]) -> float:
    try:
        return parse_iso(str(server.get("created")))
    except ValueError:
        return 0.0


class SnapshotStore:
    """Reads and writes the snapshot of every project."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._rebuild = redis.register_script(_REBUILD_SERVER_LIST)
        self._dumpers = {kind: schema(many=True) for kind, schema in RESOURCE_SCHEMAS.items()}
        self._server_dumper = RESOURCE_SCHEMAS["servers"]()

    async def listing(self, project_id: str, kind: str) -> Listing | None:
        """The stored list of one kind, or None if the project was never fetched."""
        fields = await self._redis.hgetall(keys.listing(project_id, kind))
        if b"taken_at" not in fields:
            return None
        return Listing(body=fields[b"body"], etag=fields[b"etag"].decode(),
                       taken_at=float(fields[b"taken_at"]), stale=fields.get(b"stale") == b"1")

    async def flavor_ids(self, project_id: str) -> dict[str, str]:
        """Flavor name -> id, from the stored flavors (Nova embeds flavors by name from 2.47)."""
        listing = await self.listing(project_id, "flavors")
        return {f["name"]: f["id"] for f in listing.items()} if listing else {}

    async def servers(self, project_id: str) -> dict[str, dict[str, Any]]:
        """Every stored server of the project, by id."""
        stored = await self._redis.hgetall(keys.servers(project_id))
        return {k.decode(): json.loads(v) for k, v in stored.items()}

    async def server(self, project_id: str, server_id: str) -> dict[str, Any] | None:
        """One stored server."""
        value = await self._redis.hget(keys.servers(project_id), server_id)
        return json.loads(value) if value else None

    async def claim_delete(self, project_id: str, server_id: str, job_id: str, ttl: float) -> bool:
        """Mark the server as having a delete job; False if one is already pending."""
        return bool(await self._redis.set(keys.deleting(project_id, server_id), job_id, nx=True,
                                          ex=int(ttl)))

    async def delete_pending(self, project_id: str, server_id: str) -> bool:
        """Whether a delete job for the server is queued or running."""
        return bool(await self._redis.exists(keys.deleting(project_id, server_id)))

    async def clear_delete(self, project_id: str, server_id: str) -> None:
        """The server's delete job has ended (removed or failed)."""
        await self._redis.delete(keys.deleting(project_id, server_id))

    async def with_pending_deletes(self, project_id: str, servers: list[dict[str, Any]],
                                   before: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """The servers, where one shown as deleting has a delete job that has not reached Nova
        yet, still deleting: the list says so until Nova confirms the removal."""
        kept = []
        for server in servers:
            stored = before.get(server["id"])
            if (stored and stored["task_state"] == "deleting" and server["task_state"] is None
                    and await self.delete_pending(project_id, server["id"])):
                server = {**server, "task_state": "deleting"}
            kept.append(server)
        return kept

    async def change_servers(self, project_id: str, upserts: Iterable[dict[str, Any]],
                             removals: Iterable[str], *, replace_all: bool = False,
                             taken_at: float | None = None) -> None:
        """Write servers and remove others, and rebuild the list, in one transaction.

        ``replace_all`` drops every server not in ``upserts``; ``taken_at`` (a poll's time)
        marks the list fresh, while a single write-through leaves its age alone.
        """
        servers_key, order_key = keys.servers(project_id), keys.server_order(project_id)
        dumped = [self._server_dumper.dump(server) for server in upserts]
        async with self._redis.pipeline(transaction=True) as pipe:
            if replace_all:
                pipe.delete(servers_key, order_key)
            if dumped:
                pipe.hset(servers_key, mapping={s["id"]: encode(s) for s in dumped})
                pipe.zadd(order_key, {s["id"]: _created_score(s) for s in dumped})
            removed = list(removals)
            if removed:
                pipe.hdel(servers_key, *removed)
                pipe.zrem(order_key, *removed)
            await self._rebuild(keys=[servers_key, order_key, keys.listing(project_id, "servers")],
                                args=["" if taken_at is None else repr(taken_at)], client=pipe)
            await pipe.execute()

    async def replace_resources(self, project_id: str, kind: str, items: list[dict[str, Any]],
                                taken_at: float) -> None:
        """Store a freshly listed kind of supporting resource."""
        body = encode(self._dumpers[kind].dump(items)).encode()
        await self._redis.hset(keys.listing(project_id, kind), mapping={
            "body": body, "etag": etag_of(body), "taken_at": repr(taken_at), "stale": "0"})

    async def mark_stale(self, project_id: str) -> None:
        """Flag every stored list of the project as stale (OpenStack could not be reached)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind in keys.LIST_KINDS:
                pipe.hset(keys.listing(project_id, kind), "stale", "1")
            await pipe.execute()
