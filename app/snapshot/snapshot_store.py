"""The Redis snapshot: per project, the server list and the supporting resources, API-shaped.

Each list is stored encoded, with its ETag and the time it was taken, so that answering an
unfiltered list needs no re-encoding. Servers are also kept one by one (a hash plus a sorted set
for the order); whenever they change, a script rebuilds the encoded list inside Redis, atomically
with the change. Every write is then published on the change channel, so that the processes
keeping lists (``listing_cache``) read the project's lists again.
"""
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from ..core.records import Image, Resource, Server, Volume, created_time
from ..store import redis_layout as layout
from ..store.redis_layout import ListingField
from ..store.redis_scripts import ScriptCall
from ..store.redis_values import decode, decode_fields
from .codec import decode_server, encode, encode_server, etag_of
from .listing_cache import Listing, ListingCache
from .stored_servers import StoredServers

__all__ = ["Listing", "PollStart", "SnapshotStore", "StoredServers"]
_HEAD = [ListingField.ETAG, ListingField.TAKEN_AT, ListingField.STALE]  # a list's small fields

# KEYS: servers hash, order zset, listing hash, poll state hash, tags hash (one project: one
# cluster slot). ARGV[1]: '1' to replace every server; ARGV[2]: taken_at ('' keeps the current one);
# ARGV[3]: the project id; ARGV[4]: the number n of servers written; ARGV[5]: the number m of poll
# state values (field, value, field, value…); ARGV[6]: the number t of tag values (server id, tag…);
# then those m values, those t values, n (id, JSON, order score) triples, and the ids of servers
# removed. The change, the poll's progress, the rebuilt list and its publication
# on the change channel are one script: atomic (a process that hears of the change reads it), one
# round trip, and legal in a cluster.
_CHANGE_SERVERS = f"""
local state_values, tag_values = tonumber(ARGV[5]), tonumber(ARGV[6])
if state_values > 0 then redis.call('HSET', KEYS[4], unpack(ARGV, 7, 6 + state_values)) end
local first_server = 7 + state_values + tag_values
if ARGV[1] ~= '1' and #ARGV == first_server - 1
    and redis.call('HEXISTS', KEYS[3], '{ListingField.BODY}') == 1 then
  -- nothing changed (an idle poll): the list stays as it is, only its time moves (forward)
  if ARGV[2] ~= '' then
    local current = tonumber(redis.call('HGET', KEYS[3], '{ListingField.TAKEN_AT}') or '')
    if current == nil or tonumber(ARGV[2]) > current then
      redis.call('HSET', KEYS[3], '{ListingField.TAKEN_AT}', ARGV[2], '{ListingField.STALE}', '0')
    else
      redis.call('HSET', KEYS[3], '{ListingField.STALE}', '0')
    end
    redis.call('PUBLISH', '{layout.SNAPSHOT_CHANGES}', ARGV[3])
  end
  return 0
end
if ARGV[1] == '1' then redis.call('DEL', KEYS[1], KEYS[2], KEYS[5]) end
if tag_values > 0 then redis.call('HSET', KEYS[5], unpack(ARGV, 7 + state_values, first_server - 1)) end
local next_arg = first_server
for _ = 1, tonumber(ARGV[4]) do
  redis.call('HSET', KEYS[1], ARGV[next_arg], ARGV[next_arg + 1])
  redis.call('ZADD', KEYS[2], ARGV[next_arg + 2], ARGV[next_arg])
  next_arg = next_arg + 3
end
for removed = next_arg, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[removed])
  redis.call('ZREM', KEYS[2], ARGV[removed])
  redis.call('HDEL', KEYS[5], ARGV[removed])
end
local ids = redis.call('ZREVRANGE', KEYS[2], 0, -1)
local parts = {{}}
for start = 1, #ids, 500 do
  local chunk = {{}}
  for i = start, math.min(start + 499, #ids) do chunk[#chunk + 1] = ids[i] end
  local values = redis.call('HMGET', KEYS[1], unpack(chunk))
  for _, value in ipairs(values) do
    if value then parts[#parts + 1] = value end
  end
end
local body = '[' .. table.concat(parts, ',') .. ']'
local etag = '"' .. redis.sha1hex(body) .. '"'
if ARGV[2] == '' then
  redis.call('HSET', KEYS[3], '{ListingField.BODY}', body, '{ListingField.ETAG}', etag)
else
  redis.call('HSET', KEYS[3], '{ListingField.BODY}', body, '{ListingField.ETAG}', etag,
             '{ListingField.TAKEN_AT}', ARGV[2], '{ListingField.STALE}', '0')
end
redis.call('PUBLISH', '{layout.SNAPSHOT_CHANGES}', ARGV[3])
return #parts
"""


def _flavor_ids(flavors: Listing | None) -> dict[str, str]:
    return {f["name"]: f["id"] for f in flavors.items()} if flavors else {}


def _created_score(server: Server) -> float:
    created = created_time(server)
    return 0.0 if created is None else created


@dataclass(frozen=True)
class PollStart:
    """What a poll starts from: the project's poll state, stored servers and flavor ids."""

    poll_state: dict[str, str]
    servers: StoredServers
    flavor_ids: dict[str, str]  # flavor name -> id (Nova embeds flavors by name from 2.47)


class SnapshotStore:
    """Reads and writes the snapshot of every project."""

    def __init__(self, redis: Redis, cache: ListingCache | None = None) -> None:
        self._redis = redis
        self._change = redis.register_script(_CHANGE_SERVERS)
        self.cache = cache or ListingCache()

    async def listing(self, project_id: str, kind: str) -> Listing | None:
        """The stored list of one kind, or None if the project was never fetched.

        A list confirmed by the change channel costs no Redis read; one whose body this process
        has costs a read of three small fields; any other, one read of all of it.
        """
        confirmed = self.cache.confirmed(project_id, kind)
        if confirmed is not None:
            return confirmed
        mark = self.cache.reading()
        head = await self._redis.hmget(layout.listing(project_id, kind), _HEAD)
        return await self._listing_from(project_id, kind, head, mark)

    async def _listing_from(self, project_id: str, kind: str, head: Sequence[bytes | str | None],
                            mark: int) -> Listing | None:
        """The list whose small fields were read as ``head`` after ``mark``: its body kept by
        this process, or else read in full."""
        etag, taken_at, stale = head
        key = layout.listing(project_id, kind)
        if taken_at is None:
            return None
        kept = None if etag is None else self.cache.kept(project_id, kind, decode(etag))
        if kept is not None:
            body = kept.body
        else:  # a list this process has not read in this version: all of it, in one read
            stored = {decode(name): value for name, value in (await self._redis.hgetall(key)).items()}
            if ListingField.TAKEN_AT not in stored:
                return None
            etag, taken_at, stale = (stored[ListingField.ETAG], stored[ListingField.TAKEN_AT],
                                     stored.get(ListingField.STALE))
            raw = stored[ListingField.BODY]  # kept as bytes: served as it is
            body = raw if isinstance(raw, bytes) else raw.encode()
        listing = Listing(body=body, etag=decode(etag), taken_at=float(taken_at),
                          stale=decode(stale or b"0") == "1")
        self.cache.keep(project_id, kind, listing, mark)
        return listing

    async def _published(self, project_id: str) -> None:
        """Tell every process keeping the project's lists that they changed."""
        await self._redis.publish(layout.SNAPSHOT_CHANGES, project_id)

    async def flavor_ids(self, project_id: str) -> dict[str, str]:
        """Flavor name -> id, from the stored flavors (Nova embeds flavors by name from 2.47)."""
        return _flavor_ids(await self.listing(project_id, "flavors"))

    async def poll_starts(self, project_ids: Sequence[str]) -> dict[str, PollStart]:
        """Each project's poll state, stored servers (by id) and flavor ids, all in one round trip
        (a flavors list confirmed by the change channel is not read at all)."""
        flavors = {project_id: self.cache.confirmed(project_id, "flavors") for project_id in project_ids}
        mark = self.cache.reading()
        async with self._redis.pipeline(transaction=False) as pipe:
            for project_id in project_ids:
                pipe.hgetall(layout.poll_state(project_id))
                pipe.hgetall(layout.servers(project_id))
                if flavors[project_id] is None:
                    pipe.hmget(layout.listing(project_id, "flavors"), _HEAD)
            answers = iter(await pipe.execute())
        reads = {}
        for project_id in project_ids:
            poll_state, servers, listing = next(answers), next(answers), flavors[project_id]
            if listing is None:
                listing = await self._listing_from(project_id, "flavors", next(answers), mark)
            reads[project_id] = PollStart(decode_fields(poll_state), StoredServers(servers),
                                            _flavor_ids(listing))
        return reads

    async def server(self, project_id: str, server_id: str) -> Server | None:
        """One stored server."""
        value = await self._redis.hget(layout.servers(project_id), server_id)
        return decode_server(value) if value else None

    async def change_servers(self, project_id: str, upserts: Iterable[Server],
                             removals: Iterable[str], *, replace_all: bool = False,
                             taken_at: float | None = None) -> None:
        """Write servers and remove others, and rebuild the list, in one script (atomically).

        ``replace_all`` drops every server not in ``upserts``; ``taken_at`` (a poll's time)
        marks the list fresh, while a single write-through leaves its age alone.
        """
        await self.change_call(project_id, upserts, removals, replace_all=replace_all,
                               taken_at=taken_at)()

    def change_call(self, project_id: str, upserts: Iterable[Server], removals: Iterable[str], *,
                    replace_all: bool = False, taken_at: float | None = None,
                    poll_state: Mapping[str, str] | None = None,
                    tags: Mapping[str, str] | None = None) -> ScriptCall:
        """The script call of ``change_servers``, to be sent by the caller (with others);
        ``poll_state`` fields are set on the project's poll state with it (a poll's progress),
        and ``tags`` (server id -> Idempotency-Key tag, as Nova's metadata holds it) are kept."""
        written = list(upserts)
        triples = [value for server in written
                   for value in (server["id"], encode_server(server), repr(_created_score(server)))]
        state = [value for field in (poll_state or {}).items() for value in field]
        tag_values = [value for pair in (tags or {}).items() for value in pair]
        keys = [layout.servers(project_id), layout.server_order(project_id),
                layout.listing(project_id, "servers"), layout.poll_state(project_id),
                layout.server_tags(project_id)]
        return ScriptCall(self._change, keys, ["1" if replace_all else "0",
                                               "" if taken_at is None else repr(taken_at), project_id,
                                               len(written), len(state), len(tag_values), *state,
                                               *tag_values, *triples, *removals])

    async def tagged_servers(self, project_id: str) -> dict[str, str]:
        """Server id -> Idempotency-Key tag, for the stored servers a keyed create made."""
        return decode_fields(await self._redis.hgetall(layout.server_tags(project_id)))

    async def replace_resources(self, project_id: str, kind: str, items: list[Resource],
                                taken_at: float) -> None:
        """Store a freshly listed kind of supporting resource."""
        body = encode(items).encode()
        await self._redis.hset(layout.listing(project_id, kind), mapping={
            ListingField.BODY: body, ListingField.ETAG: etag_of(body),
            ListingField.TAKEN_AT: repr(taken_at), ListingField.STALE: "0"})
        await self._published(project_id)

    async def put_resource(self, project_id: str, kind: str, item: Image | Volume | None,
                           item_id: str, listing: Listing | None = None) -> None:
        """Write one item of a supporting list through (in its place, or first if new: a snapshot's
        image, a volume), or take the item ``item_id`` out when ``item`` is None, keeping the list's
        age; nothing before the list's first fetch, which brings it. ``listing``: the list as the
        caller just read it (else it is read here)."""
        if listing is None:
            listing = await self.listing(project_id, kind)
        if listing is None:
            return
        kept = listing.items()
        if item is not None and any(i["id"] == item_id for i in kept):
            items = [dict(item) if i["id"] == item_id else i for i in kept]
        else:
            items = [*([dict(item)] if item is not None else []), *(i for i in kept if i["id"] != item_id)]
        if items == kept:
            return  # as stored: the list and its ETag stay
        body = encode(items).encode()
        await self._redis.hset(layout.listing(project_id, kind),
                               mapping={ListingField.BODY: body, ListingField.ETAG: etag_of(body)})
        await self._published(project_id)

    async def mark_stale(self, project_id: str) -> None:
        """Flag every stored list of the project as stale (OpenStack could not be reached)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind in layout.LIST_KINDS:
                pipe.hset(layout.listing(project_id, kind), ListingField.STALE, "1")
            await pipe.execute()
        await self._published(project_id)
