"""Building the domain objects the API and the workers share, from the settings."""
from redis.asyncio import Redis

from .events import EventStream
from .job_execution import JobExecutor, RetryPolicy
from .jobs import JobStore
from .openstack.clouds import CloudDirectory
from .openstack.gateway import OpenStackGateway
from .refresh import ProjectRefresher, RefreshPolicy
from .settings import Settings
from .snapshot import SnapshotStore


def open_redis(settings: Settings) -> Redis:
    """A Redis client for the configured server (closed by the caller with ``aclose``)."""
    return Redis.from_url(settings.redis_url, health_check_interval=30,
                          socket_connect_timeout=5, socket_timeout=10)


def open_gateway(settings: Settings) -> OpenStackGateway:
    """The OpenStack gateway over the configured clouds.yaml (closed with ``close``)."""
    directory = CloudDirectory(settings.clouds_file, api_timeout=settings.openstack_timeout)
    return OpenStackGateway(directory, threads=settings.openstack_threads,
                            timeout=settings.openstack_timeout)


def build_refresher(settings: Settings, redis: Redis, gateway: OpenStackGateway) -> ProjectRefresher:
    """The refresher with its snapshot and event stream."""
    policy = RefreshPolicy(full_resync_every=settings.full_resync_every,
                           resources_interval=settings.resources_interval,
                           overlap=settings.changes_since_overlap)
    return ProjectRefresher(redis, gateway, SnapshotStore(redis), EventStream(redis), policy)


def build_executor(settings: Settings, redis: Redis, gateway: OpenStackGateway) -> JobExecutor:
    """The job executor with its stores and retry policy."""
    policy = RetryPolicy(max_attempts=settings.job_max_attempts, backoff_max=settings.job_backoff_max,
                         build_timeout=settings.build_timeout,
                         poll_interval=settings.build_poll_interval)
    return JobExecutor(gateway, SnapshotStore(redis), JobStore(redis, settings.job_retention),
                       EventStream(redis), policy)
