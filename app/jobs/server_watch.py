"""Watching what a job changes in OpenStack (its server, an image) until it settles, and asking
Nova for an action on its server: the steps every kind of job shares."""
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..core.errors import NotFound, OpenStackRejected, OpenStackUnavailable
from ..core.records import Server
from ..core.times import Clock
from ..openstack.gateway import NovaRecord, OpenStackGateway
from .job import Job, JobFailure
from .job_store import JobStore

logger = logging.getLogger(__name__)
Seen = TypeVar("Seen")  # what a job watches: a server's record, an image
# The executor's steps a kind of job's steps end with: its success, and an action's end (its mark
# cleared, the server written through, the success).
Succeed = Callable[[Job, Server | None], Awaitable[Job]]
EndAction = Callable[[Job, NovaRecord | None], Awaitable[Job]]


class EndedElsewhere(Exception):
    """The job ended without its runner (an observation of its end finished it)."""


class ServerWatch:
    """Reads of a job's server (or what else it watches) every ``poll_interval`` until they
    settle; outages are waited out, up to ``build_timeout``."""

    def __init__(self, gateway: OpenStackGateway, jobs: JobStore, build_timeout: float,
                 poll_interval: float, clock: Clock = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._gateway = gateway
        self._jobs = jobs
        self.build_timeout = build_timeout
        self._poll_interval = poll_interval
        self._clock = clock
        self._sleep = sleep

    async def watch(self, job: Job, read: Callable[[], Awaitable[Seen]], settled: Callable[[Seen], bool],
                    stuck: str, ended: Callable[[], Awaitable[bool]] | None = None) -> Seen:
        """What ``read`` gives as soon as ``settled`` accepts it; ``JobFailure(stuck)`` past the
        build timeout, ``EndedElsewhere`` once ``ended`` says the job ended without this runner."""
        deadline = self._clock() + self.build_timeout
        while True:
            try:
                record = await read()
            except OpenStackUnavailable as error:
                logger.warning("job %s: cannot look now: %s", job.id, error)
            else:
                if settled(record):
                    return record
            if ended is not None and await ended():
                raise EndedElsewhere
            if self._clock() > deadline:
                raise JobFailure(stuck)
            await self._sleep(self._poll_interval)

    async def watch_server(self, job: Job, settled: Callable[[NovaRecord | None], bool], stuck: str,
                           ended: Callable[[], Awaitable[bool]] | None = None) -> NovaRecord | None:
        """Nova's record of the job's server (None once Nova no longer has it) as soon as
        ``settled`` accepts it."""
        server_id = server_of(job)

        async def read() -> NovaRecord | None:
            try:
                return await self._gateway.get_server(job.project_id, server_id)
            except NotFound:
                return None  # seen: Nova no longer has it

        return await self.watch(job, read, settled, stuck, ended)

    async def record(self, job: Job) -> NovaRecord:
        """Nova's record of the job's server; the job fails if Nova no longer has it."""
        try:
            return await self._gateway.get_server(job.project_id, server_of(job))
        except NotFound:
            raise JobFailure(f"Server {server_of(job)} no longer exists.") from None

    async def ask(self, job: Job, body: dict[str, Any]) -> None:
        """Ask Nova for an action on the job's server (its refusal fails the job)."""
        await refusal_fails(self._gateway.server_action(job.project_id, server_of(job), body))

    def stuck(self, job: Job, what: str = "") -> str:
        """Why an action's job watching too long fails."""
        return (f"Server {server_of(job)} had not finished the {what or job.action()['action']} after "
                f"{self.build_timeout:.0f} s.")

    async def ended(self, job: Job) -> bool:
        """Whether the job has ended meanwhile, without this runner."""
        stored = await self._jobs.get(job.project_id, job.id)
        return (stored or job).finished


async def refusal_fails(request: Awaitable[Seen]) -> Seen:
    """Nova's answer to a request about a job's server; its refusal in the server's state (409:
    it changed since we looked) fails the job with Nova's word."""
    try:
        return await request
    except OpenStackRejected as refused:
        if refused.status == 409:
            raise JobFailure(refused.detail) from None
        raise


def server_of(job: Job) -> str:
    """The server a job works on (a create's once Nova gave it)."""
    if job.server_id is None:
        raise JobFailure(f"Job {job.id} has no server id.")
    return job.server_id
