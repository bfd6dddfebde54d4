"""What the API works with, handed to it by the entry point: the edge never builds the domain."""
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from redis.asyncio import Redis

from ..access.issuer_keys import JsonFetcher
from ..access.scope import ProjectAccess
from ..core.times import Clock
from ..events.stream import EventStream
from ..jobs.job_store import JobStore
from ..jobs.writer import ServerWriter
from ..openstack.clouds import CloudDirectory
from ..openstack.consoles import ServerConsoles
from ..openstack.gateway import OpenStackGateway
from ..process.heartbeats import Heartbeats
from ..process.settings import Settings
from ..snapshot.change_feed import ChangeFollower
from ..snapshot.reads import ProjectReader
from ..store.redis_epoch import RedisEpoch
from ..store.replication import ReplicatedWrites
from ..webhooks.outbox import Webhooks


class ApiServices(Protocol):
    """The parts of the composition root the handlers and the app's lifecycle use."""

    @property
    def redis(self) -> Redis: ...
    @property
    def gateway(self) -> OpenStackGateway: ...
    @property
    def directory(self) -> CloudDirectory: ...
    @property
    def reader(self) -> ProjectReader: ...
    @property
    def writer(self) -> ServerWriter: ...
    @property
    def consoles(self) -> ServerConsoles: ...
    @property
    def jobs(self) -> JobStore: ...
    @property
    def events(self) -> EventStream: ...
    @property
    def webhooks(self) -> Webhooks: ...
    @property
    def epoch(self) -> RedisEpoch: ...
    @property
    def snapshot_changes(self) -> ChangeFollower: ...
    @property
    def heartbeats(self) -> Heartbeats: ...
    @property
    def replicated(self) -> ReplicatedWrites: ...


# Opens the API's services and its access check for the app's life, fetching issuers' keys with
# the fetcher given (the entry point passes the composition root's ``open_api_services``).
OpenApiServices = Callable[[Settings, Clock, JsonFetcher],
                           AbstractAsyncContextManager[tuple[ApiServices, ProjectAccess]]]
