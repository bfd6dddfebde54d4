"""The composition root: every service of a process, built once from the settings, closed once.

The API and the workers both open ``Services``; nothing else constructs a store. Building does
no I/O but reading ``clouds.yaml``; Redis connects on first use.
"""
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.maint_notifications import MaintNotificationsConfig

from ..access.access_file import AccessPolicy, parse_access_file
from ..access.issuer_keys import JsonFetcher
from ..access.jwt_verifier import JwtVerifier
from ..access.rate_limits import RateLimiter
from ..access.reloading_file import ReloadingFile
from ..access.scope import LIVE_READS, WRITES, ProjectAccess
from ..access.tokens import TokenRegistry
from ..core.times import Clock
from ..events.stream import EventStream
from ..jobs.agreement import ActionAgreement
from ..jobs.execution import JobExecutor, RetryPolicy
from ..jobs.idempotency import IdempotencyStore
from ..jobs.job_store import JobStore
from ..jobs.marks import ServerMarks
from ..jobs.queue import JobQueue
from ..jobs.writer import ServerWriter
from ..openstack.clouds import CloudDirectory
from ..openstack.consoles import ServerConsoles
from ..openstack.gateway import OpenStackGateway
from ..snapshot.change_feed import ChangeFollower
from ..snapshot.cloud_poll import CloudWidePoll
from ..snapshot.reads import ProjectReader
from ..snapshot.recent_shows import RecentShows
from ..snapshot.recording import ServerRecorder, VolumeRecorder
from ..snapshot.recovery import PollRecovery
from ..snapshot.refresh import ProjectRefresher, RefreshPolicy
from ..snapshot.schedule import PollSchedule
from ..snapshot.snapshot_store import SnapshotStore
from ..store.redis_address import is_cluster, sentinel_address
from ..store.redis_epoch import RedisEpoch
from ..store.replication import ReplicatedWrites
from ..webhooks.deliveries import DeliveryStore
from ..webhooks.destinations import DestinationPolicy
from ..webhooks.dispatch import DeliveryPolicy, Dispatcher
from ..webhooks.outbox import Webhooks
from ..webhooks.secret_box import SecretBox
from ..webhooks.subscriptions import SubscriptionStore
from .heartbeats import Heartbeats
from .settings import Settings


@dataclass(frozen=True)
class Services:
    """What the API and the workers work with; one of each per process."""

    settings: Settings
    clock: Clock
    redis: Redis
    gateway: OpenStackGateway
    snapshot: SnapshotStore
    snapshot_changes: ChangeFollower
    events: EventStream
    recorder: ServerRecorder
    schedule: PollSchedule
    refresher: ProjectRefresher
    cloud_poll: CloudWidePoll
    reader: ProjectReader
    jobs: JobStore
    queue: JobQueue
    writer: ServerWriter
    consoles: ServerConsoles
    executor: JobExecutor
    epoch: RedisEpoch
    webhooks: Webhooks
    heartbeats: Heartbeats
    replicated: ReplicatedWrites

    @property
    def directory(self) -> CloudDirectory:
        """Which projects have OpenStack credentials."""
        return self.gateway.directory


def _redis_clients(url: str) -> tuple[Redis, list[Redis]]:
    """The client for ``REDIS_URL``, and the sentinels' clients to close with it.

    ``redis+cluster://`` (or ``rediss+cluster://``) names one node of a Redis Cluster: redis-py's
    cluster client finds the others and routes each command by its key's slot. The stores keep
    every multi-key command within one hash tag, so the same code runs on both.
    ``redis+sentinel://`` names the sentinels: each new connection asks them for the master, so
    after a failover the connections to the old master are dropped (a failed command is not sent
    again: a write might have applied) and new ones reach the new master.
    """
    # A connection idle for 2 s is PINGed before use, so one a Redis restart closed is replaced
    # before a command is sent on it (commands are not retried: a write might apply twice).
    options: dict[str, Any] = {"health_check_interval": 2, "socket_connect_timeout": 5, "socket_timeout": 10}
    if is_cluster(url):
        return cast(Redis, RedisCluster.from_url(url.replace("+cluster", "", 1), **options)), []
    # redis-py 8 skips its check of a pooled connection before handing it out while maintenance
    # notifications (a Redis Enterprise feature) are on: a connection a restart or a failover
    # closed then fails the command sent on it. With them off, it is replaced first.
    options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    sentinels = sentinel_address(url)
    if sentinels is None:
        return Redis.from_url(url, **options), []
    secrets = {"username": sentinels.username, "password": sentinels.password, "ssl": sentinels.tls}
    asking = {**secrets, "socket_connect_timeout": 5, "socket_timeout": 5}  # the sentinels
    sentinel = Sentinel(sentinels.sentinels, sentinel_kwargs=asking,  # type: ignore[no-untyped-call]
                        **secrets, **options)
    return cast(Redis, sentinel.master_for(sentinels.master, db=sentinels.db)), list(sentinel.sentinels)


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis]:
    """A Redis client for the configured server, cluster or master behind Sentinel, closed (with
    its sentinels' clients) on exit."""
    client, sentinels = _redis_clients(settings.redis_url)
    try:
        yield client
    finally:
        for opened in (client, *sentinels):
            await opened.aclose()


def open_directory(settings: Settings) -> CloudDirectory:
    """The configured clouds.yaml, read (``CloudsFileError`` if it cannot be used)."""
    return CloudDirectory(settings.clouds_file, api_timeout=settings.openstack_timeout,
                          connections_per_host=settings.openstack_threads, reader=settings.cloud_reader)


def open_gateway(settings: Settings) -> OpenStackGateway:
    """The OpenStack gateway over the configured clouds.yaml (closed with ``close``)."""
    return OpenStackGateway(open_directory(settings), threads=settings.openstack_threads,
                            timeout=settings.openstack_timeout)


def refresh_policy(settings: Settings) -> RefreshPolicy:
    """The poll's rules, from the settings."""
    return RefreshPolicy(full_resync_every=settings.full_resync_every,
                         volume_poll_every=settings.volume_poll_every,
                         resources_interval=settings.resources_interval,
                         overlap=settings.changes_since_overlap)


def retry_policy(settings: Settings) -> RetryPolicy:
    """How jobs are retried, from the settings."""
    return RetryPolicy(budget=settings.job_retry_budget, max_attempts=settings.job_max_attempts,
                       backoff_max=settings.job_backoff_max, build_timeout=settings.build_timeout,
                       poll_interval=settings.build_poll_interval)


def build_services(settings: Settings, redis: Redis, gateway: OpenStackGateway,
                   clock: Clock = time.time) -> Services:
    """Every store and service over an open Redis client and gateway."""
    snapshot, marks = SnapshotStore(redis), ServerMarks(redis)
    events = EventStream(redis, clock, settings.events_kept)
    jobs = JobStore(redis, settings.job_retention, clock)
    agreement = ActionAgreement(marks, jobs, events)  # the tasks the snapshot shows, and their ends
    recorder = ServerRecorder(snapshot, agreement, events)
    volumes = VolumeRecorder(snapshot, events)
    schedule = PollSchedule(redis)
    refresher = ProjectRefresher(redis, gateway, snapshot, agreement, events, refresh_policy(settings),
                                 volumes, clock)
    gateway.after_success(PollRecovery(refresher, schedule, clock))
    shows = RecentShows(redis, settings.show_freshness)
    reader = ProjectReader(snapshot, refresher, gateway, recorder, schedule, shows, volumes,
                           max_age=settings.snapshot_max_age, poll_interval=settings.poll_interval,
                           clock=clock)
    replicated = ReplicatedWrites(redis, settings.redis_replica_wait_ms)
    queue = JobQueue(redis, jobs, clock, replicated)
    writer = ServerWriter(reader, snapshot, recorder, jobs, marks, queue, IdempotencyStore(redis),
                          gateway, shows, volumes, create_wait=settings.create_wait,
                          retention=settings.job_retention,
                          clock=clock)
    executor = JobExecutor(gateway, snapshot, jobs, marks, events, recorder, volumes,
                           retry_policy(settings), clock)
    box = None if settings.webhook_keys_file is None else SecretBox.from_file(settings.webhook_keys_file)
    subscriptions = SubscriptionStore(redis, box, clock, replicated)
    deliveries = DeliveryStore(redis, settings.job_retention, clock)
    dispatcher = Dispatcher(events, subscriptions, deliveries,
                            DeliveryPolicy(schedule=settings.webhook_retry_schedule,
                                           disable_after=settings.webhook_disable_after),
                            replicated, clock)
    return Services(settings=settings, clock=clock, redis=redis, gateway=gateway,
                    snapshot=snapshot, snapshot_changes=ChangeFollower(redis, snapshot.cache),
                    events=events, recorder=recorder, schedule=schedule,
                    refresher=refresher, cloud_poll=CloudWidePoll(
                        redis, gateway, refresher, refresh_policy(settings), settings.poll_interval,
                        stale_after=2 * settings.poll_interval + settings.openstack_timeout, clock=clock),
                    reader=reader, jobs=jobs, queue=queue, writer=writer,
                    consoles=ServerConsoles(gateway), executor=executor, epoch=RedisEpoch(redis),
                    webhooks=Webhooks(subscriptions, deliveries, dispatcher,
                                      DestinationPolicy(settings.webhook_allow_http,
                                                        settings.webhook_allowed_networks)),
                    heartbeats=Heartbeats(redis, clock), replicated=replicated)


@asynccontextmanager
async def open_services(settings: Settings, clock: Clock = time.time) -> AsyncIterator[Services]:
    """The process's services; on exit the gateway's threads and connections, then Redis, close."""
    async with open_redis(settings) as redis:
        gateway = open_gateway(settings)
        try:
            yield build_services(settings, redis, gateway, clock)
        finally:
            gateway.close()


@asynccontextmanager
async def open_api_services(settings: Settings, clock: Clock,
                            fetch: JsonFetcher) -> AsyncIterator[tuple[Services, ProjectAccess]]:
    """The API's services and its access check (issuers' keys fetched with ``fetch``), for the
    app's life."""
    async with open_services(settings, clock) as services:
        yield services, project_access(settings, services, fetch)


def project_access(settings: Settings, services: Services, fetch: JsonFetcher) -> ProjectAccess:
    """The API's access check: the tokens file and the access file's issuers and grants against
    the configured projects, and the per-caller rate limits."""
    if settings.tokens_file is None and settings.access_file is None:
        raise RuntimeError("API_TOKENS_FILE or ACCESS_FILE is required to serve the API")
    tokens = None if settings.tokens_file is None else TokenRegistry(settings.tokens_file)
    jwts = None if settings.access_file is None else JwtVerifier(open_access_file(settings), fetch,
                                                                 services.clock)
    return ProjectAccess(tokens, jwts, services.directory.knows,
                         RateLimiter(services.redis, services.clock),
                         {WRITES: settings.writes_per_minute,
                          LIVE_READS: settings.live_reads_per_minute})


def open_access_file(settings: Settings) -> ReloadingFile[AccessPolicy]:
    """The access file, read now and again whenever it changes (``AccessFileError`` if it cannot
    be used now)."""
    if settings.access_file is None:
        raise RuntimeError("ACCESS_FILE is not set")
    return ReloadingFile(settings.access_file, functools.partial(parse_access_file,
                                                                  allow_http=settings.oidc_allow_http),
                         "access file")
