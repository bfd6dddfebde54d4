"""The cloud-wide poll: one admin listing of every project's servers per region and interval.

With ``CLOUD_READER`` set, a worker lists a region's servers with Nova's ``all_tenants`` (and
``changes-since`` from the newest ``updated`` time it has seen, less the overlap), every page,
and writes each server into its project's snapshot by ``tenant_id``; servers of projects that have
no credentials here are dropped. One listing in ``FULL_RESYNC_EVERY`` is complete, so servers
that vanished without a ``DELETED`` record are removed too. While the poll serves a region (its
last listing succeeded within ``stale_after`` seconds), the per-project polls of that region's
projects ask Nova nothing about servers; while it fails, they list them again themselves.

One worker at a time runs a region's poll: it holds the region's claim (``cs:{cloud}:poller:<r>``)
for ``POLL_LEASE`` and renews it each round; when it dies, another takes over as the claim ends.
"""
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from redis.asyncio import Redis

from ..core.project_ids import normalize_project_id
from ..core.times import Clock
from ..openstack.gateway import NovaRecord, OpenStackGateway
from ..store import redis_layout as layout
from ..store.redis_layout import CloudPollField
from ..store.redis_scripts import LET_GO, ScriptCall, call_together
from ..store.redis_values import decode_fields
from .refresh import CloudListing, ProjectRefresher, RefreshPolicy, latest_update, minus_seconds

logger = logging.getLogger(__name__)
PROJECTS_AT_ONCE = 500  # projects whose stored servers are read in one round trip

# KEYS: the region's claim. ARGV: the claimant's token, the lease in milliseconds. Taken when free,
# renewed when the claimant's own.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class CloudPollState:
    """What a region's last cloud-wide polls left behind."""

    watermark: str | None
    cycle: int
    taken_at: float  # when the latest successful listing began (0: none yet)
    next_due: float
    failures: int  # polls failed in a row

    def serves(self, now: float, stale_after: float) -> bool:
        """Whether the per-project polls may leave servers to this poll now."""
        return self.failures == 0 and self.taken_at >= now - stale_after

    @property
    def listing(self) -> CloudListing:
        """What a project's poll takes from it."""
        return CloudListing(self.taken_at, self.watermark)


@dataclass(frozen=True)
class RoutedListing:
    """A cloud-wide listing's servers by configured project, de-duplicated."""

    by_project: dict[str, list[NovaRecord]]
    dropped: int  # servers of projects without credentials here
    unplaced: int  # records without a tenant_id (partial records): a full listing removes nothing


def route(records: list[NovaRecord], projects: frozenset[str]) -> RoutedListing:
    """Each record into its project by ``tenant_id``: the newest of a server listed twice (a
    server that changed while the pages were read), none of projects not in ``projects``."""
    newest: dict[str, dict[str, NovaRecord]] = {}
    dropped = unplaced = 0
    for record in records:
        tenant = normalize_project_id(str(record.get("tenant_id") or ""))
        if tenant is None:
            unplaced += 1
        elif tenant not in projects:
            dropped += 1
        else:
            servers = newest.setdefault(tenant, {})
            known = servers.get(record.get("id", ""))
            if known is None or str(record.get("updated", "")) >= str(known.get("updated", "")):
                servers[record.get("id", "")] = record
    return RoutedListing({p: list(servers.values()) for p, servers in newest.items()}, dropped, unplaced)


def _state(stored: dict[str, str]) -> CloudPollState:
    return CloudPollState(watermark=stored.get(CloudPollField.WATERMARK) or None,
                          cycle=int(stored.get(CloudPollField.CYCLE) or 0),
                          taken_at=float(stored.get(CloudPollField.TAKEN_AT) or 0),
                          next_due=float(stored.get(CloudPollField.NEXT_DUE) or 0),
                          failures=int(stored.get(CloudPollField.FAILURES) or 0))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class CloudWidePoll:
    """Lists every project's servers of a region at once and writes them into the snapshots."""

    def __init__(self, redis: Redis, gateway: OpenStackGateway, refresher: ProjectRefresher,
                 policy: RefreshPolicy, interval: float, stale_after: float,
                 clock: Clock = time.time) -> None:
        self._redis = redis
        self._gateway = gateway
        self._refresher = refresher
        self._policy = policy
        self._interval = interval
        self._clock = clock
        self._hold = redis.register_script(_HOLD)
        self._let_go = redis.register_script(LET_GO)
        self._stale_after = stale_after  # a poll serves while its last listing began this recently

    @property
    def regions(self) -> list[str]:
        """The regions the cloud-wide reader reads (none without ``CLOUD_READER``)."""
        return self._gateway.directory.reader_regions

    async def hold(self, region: str, token: str, lease: float) -> bool:
        """Take or renew the claim on a region's poll for ``lease`` seconds; False if another
        worker holds it."""
        return bool(await self._hold(keys=[layout.cloud_poller(region)], args=[token, int(lease * 1000)]))

    async def let_go(self, region: str, token: str) -> None:
        """Give up a claim (shutting down), so another worker takes the region over at once."""
        await self._let_go(keys=[layout.cloud_poller(region)], args=[token])

    async def state(self, region: str) -> CloudPollState:
        """A region's poll state."""
        return _state(decode_fields(await self._redis.hgetall(layout.cloud_poll(region))))

    async def serving(self) -> dict[str, CloudListing]:
        """The regions whose cloud-wide polls serve now, with what their projects' polls take from
        them (one round trip; nothing without ``CLOUD_READER``)."""
        regions = self.regions
        if not regions:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for region in regions:
                pipe.hgetall(layout.cloud_poll(region))
            stored = await pipe.execute()
        now = self._clock()
        states = [_state(decode_fields(fields)) for fields in stored]
        return {region: state.listing for region, state in zip(regions, states, strict=True)
                if state.serves(now, self._stale_after)}

    async def poll(self, region: str) -> RoutedListing:
        """One cloud-wide poll of a region, written as it ends; the servers it routed."""
        started = self._clock()
        state = await self.state(region)
        full = state.watermark is None or state.cycle % self._policy.full_resync_every == 0
        since = None if full else minus_seconds(state.watermark, self._policy.overlap)
        records = await self._gateway.list_cloud_servers(region, since)
        projects = self._gateway.directory.projects_in(region)
        routed = route(records, projects)
        # A partial record without its tenant could be any project's: nothing counts as gone.
        complete = full and not routed.unplaced
        targets = sorted(projects) if full else sorted(routed.by_project)
        for chunk in _chunks(targets, PROJECTS_AT_ONCE):
            starts = await self._refresher.poll_starts(chunk)
            writes: list[ScriptCall] = []
            for project_id in chunk:
                write = await self._refresher.apply_listing(
                    project_id, routed.by_project.get(project_id, []), starts[project_id], complete, started)
                if write is not None:
                    writes.append(write)
            if writes:
                await call_together(self._redis, writes)
        await self._redis.hset(layout.cloud_poll(region), mapping={
            CloudPollField.WATERMARK: latest_update(state.watermark, records) or "",
            CloudPollField.CYCLE: str(state.cycle + 1), CloudPollField.TAKEN_AT: repr(started),
            CloudPollField.NEXT_DUE: repr(started + self._interval), CloudPollField.FAILURES: "0",
            CloudPollField.LAST_ERROR: ""})
        logger.debug("cloud-wide poll of region %r: %d servers listed (%s), %d of unconfigured projects "
                     "dropped", region, len(records), "full" if full else "changes", routed.dropped)
        return routed

    async def record_failure(self, region: str, error: Exception, next_due: float) -> int:
        """Count a failed poll (the per-project polls take over); the failures in a row."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(layout.cloud_poll(region), CloudPollField.FAILURES, 1)
            pipe.hset(layout.cloud_poll(region), mapping={CloudPollField.LAST_ERROR: str(error)[:500],
                                                          CloudPollField.NEXT_DUE: repr(next_due)})
            failures, _ = await pipe.execute()
        return int(failures)
