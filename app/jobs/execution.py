"""Carrying out jobs (creates, deletes, actions) against Nova, retrying what may succeed later.

A create tags its server with the job's id in Nova's metadata and records the server id as soon
as Nova gives it. Any attempt after the first looks for a server with its tag before creating,
so a job whose earlier attempt got an ambiguous failure (a 503 for a create Nova carried out, a
timeout, a dropped connection, a worker killed at the wrong moment) never creates twice.
"""
import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..core.errors import NotFound, OpenStackRejected, OpenStackUnavailable
from ..core.logs import server_id_var
from ..core.records import Server
from ..core.times import Clock, iso
from ..events.server_events import (
    CREATED,
    CREATED_FINGERPRINT,
    DELETED,
    DELETED_FINGERPRINT,
    JOB_FAILED,
    ServerEvent,
)
from ..events.stream import EventStream
from ..openstack.gateway import NovaRecord, OpenStackGateway
from ..openstack.translation import IDEMPOTENCY_TAG, action_body, boot_request, is_partial, server_from_nova
from ..snapshot.recording import ServerRecorder, VolumeRecorder
from ..snapshot.snapshot_store import SnapshotStore
from ..store.redis_layout import IDEMPOTENCY_TTL
from .actions import (
    ATTACH_VOLUME,
    LONG_ACTIONS,
    REBOOT,
    VOLUME_ACTIONS,
    target_status,
    task_state_of,
)
from .job import (
    ACTION,
    CREATE,
    CREATE_VOLUME,
    DELETE,
    DELETE_VOLUME,
    FAILED,
    SUCCEEDED,
    Job,
    JobFailure,
    succeeded_event,
)
from .job_store import JobStore
from .long_action_steps import LongActionSteps
from .marks import ServerMarks
from .server_watch import EndedElsewhere, ServerWatch, server_of
from .volume_steps import VolumeSteps

logger = logging.getLogger(__name__)
RETRIED = (409, 413, 429)  # a conflict that passes, or throttling (with Retry-After)
TAG_WINDOW = 120.0  # how far before the job the tag search reaches (clock skew with Nova)


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently a job is retried: transient failures for ``budget`` seconds from the job's
    first attempt (capped at ``max_attempts``), with capped, jittered backoff (the values, and
    their defaults, are the settings')."""

    budget: float
    max_attempts: int
    backoff_max: float
    build_timeout: float
    poll_interval: float

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Seconds before the next attempt: Nova's Retry-After, else 1, 2, 4… s with jitter."""
        if retry_after is not None:
            return min(self.backoff_max, retry_after)
        return min(self.backoff_max, 2.0 ** (attempt - 1)) * jitter


def _made_by(job: Job) -> dict[str, Any]:
    """What the events of a job's server change say of the job: its id and who asked for it."""
    return {"job_id": job.id, "requested_by": job.requested_by}


class JobExecutor:
    """Runs one job to its end: succeeded, or failed with a reason."""

    def __init__(self, gateway: OpenStackGateway, snapshot: SnapshotStore, jobs: JobStore,
                 marks: ServerMarks, events: EventStream, recorder: ServerRecorder,
                 volumes: VolumeRecorder, policy: RetryPolicy, clock: Clock = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._gateway = gateway
        self._snapshot = snapshot
        self._jobs = jobs
        self._marks = marks
        self._events = events
        self._recorder = recorder
        self._volumes = volumes
        self._watcher = ServerWatch(gateway, jobs, policy.build_timeout, policy.poll_interval, clock, sleep)
        self._volume_steps = VolumeSteps(gateway, volumes, jobs, marks, self._watcher, self._succeed,
                                         self._end_action)
        self._long_actions = LongActionSteps(gateway, snapshot, jobs, marks, self._watcher, self._succeed,
                                             self._end_action)
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()

    async def run(self, job: Job) -> Job:
        """Attempt the job until it succeeds, fails for good, or runs out of attempts."""
        steps = {CREATE: self._create, DELETE: self._delete, ACTION: self._act,
                 CREATE_VOLUME: self._volume_steps.create, DELETE_VOLUME: self._volume_steps.delete}[job.kind]
        if self._spent(job):  # its workers kept stopping mid-job
            return await self._give_up(job, job.error or "the workers running it stopped")
        while True:
            server_id_var.set(job.server_id)
            job = await self._jobs.count_attempt(job)
            try:
                return await steps(job)
            except EndedElsewhere:  # an observation of its end (a show, a poll) finished it
                return await self._reload(job)
            except JobFailure as failure:
                return await self._fail(await self._reload(job), str(failure))
            except OpenStackRejected as error:
                if error.status not in RETRIED:
                    return await self._fail(await self._reload(job), error.detail)
                retry_after = error.retry_after
                problem: Exception = error
            except OpenStackUnavailable as error:  # 5xx, timeouts, connection errors
                retry_after, problem = None, error
            job = await self._reload(job)
            delay = self._policy.delay(job.attempts, retry_after, self._random.uniform(0.8, 1.2))
            if self._spent(job, delay):
                return await self._give_up(job, problem)
            logger.warning("job %s attempt %d failed, retrying in %.1f s: %s",
                           job.id, job.attempts, delay, problem)
            job = await self._jobs.update(job, error=str(problem))
            await self._sleep(delay)

    def _spent(self, job: Job, wait: float = 0.0) -> bool:
        """Whether the job has used its retry budget (time since its first attempt, or attempts),
        or would after ``wait``; time spent queued does not count."""
        return (job.attempts >= self._policy.max_attempts
                or self._tried_for(job) + wait > self._policy.budget)

    async def _give_up(self, job: Job, last: object) -> Job:
        return await self._fail(job, f"Gave up after {job.attempts} attempts over "
                                     f"{self._tried_for(job):.0f} s: {last}")

    def _tried_for(self, job: Job) -> float:
        return 0.0 if job.started_at is None else self._clock() - job.started_at

    async def _reload(self, job: Job) -> Job:
        """The job as stored (a step may have recorded its server id meanwhile)."""
        return await self._jobs.get(job.project_id, job.id) or job

    async def _create(self, job: Job) -> Job:
        server_id = job.server_id
        if server_id is None and job.attempts > 1:  # an earlier attempt may have created it
            found = await self._gateway.find_tagged_server(
                job.project_id, job.id, iso(job.created_at - TAG_WINDOW))
            server_id = found["id"] if found else None
            if found and found.get("status") == "DELETED":
                raise JobFailure(f"Server {server_id} was created and then deleted.")
        key_tag = job.launch().get("idempotency_tag")
        if server_id is None and key_tag:  # another job of the same key (its record lost with
            # Redis's last writes) may have made it meanwhile: looked for just before creating
            found = await self._gateway.find_tagged_server(
                job.project_id, key_tag, iso(job.created_at - IDEMPOTENCY_TTL), tag=IDEMPOTENCY_TAG)
            if found and found.get("status") != "DELETED":
                server_id = found["id"]
                logger.warning("job %s: server %s of the same Idempotency-Key exists: adopted",
                               job.id, server_id)
        if server_id is None:
            server_id = await self._gateway.create_server(job.project_id,
                                                          boot_request(job.launch(), job.id))
            server_id_var.set(server_id)
            logger.info("job %s: Nova accepted server %s", job.id, server_id)
        if job.server_id is None:
            await self._show_building(job, server_id)
            job = await self._jobs.update(job, server_id=server_id)
        record = await self._follow_build(job)
        server = await self._write_through(job.project_id, record)
        await self._show_volumes(job, server)
        await self._announce(job, CREATED, server_id, server)
        if server["status"] == "ERROR":
            fault = (record.get("fault") or {}).get("message", "no reason given").rstrip(".")
            raise JobFailure(f"Server {server_id} ended in ERROR: {fault}. The ERROR server is "
                             "left in place; delete it to release its quota.")
        return await self._succeed(job, server)

    async def _show_volumes(self, job: Job, server: Server | None) -> None:
        """The volumes a create made (a boot volume), or a deleted server's (gone with it, or
        available again), as Cinder has them now, in the volumes list at once. Best effort: the
        next resources refresh brings them otherwise."""
        for attached in server["volumes_attached"] if server else []:
            volume_id = attached["id"]
            try:
                volume = await self._gateway.get_volume(job.project_id, volume_id)
            except OpenStackUnavailable as error:
                logger.info("job %s: volume %s not shown yet: %s", job.id, volume_id, error)
                continue
            await self._volumes.record(job.project_id, volume, volume_id, _made_by(job))

    async def _show_building(self, job: Job, server_id: str) -> None:
        """Before the API hears the id, Nova's record of the new server enters the snapshot (so
        the list shows it at once, in BUILD) and its creation becomes an event. Best effort: if
        Nova cannot show it yet, the next poll brings it."""
        known = await self._snapshot.server(job.project_id, server_id)
        if known is not None:  # a poll or a read saw it first, and a project's first poll is silent
            await self._announce(job, CREATED, server_id, known)
            return
        try:
            record = await self._gateway.get_server(job.project_id, server_id)
        except (NotFound, OpenStackUnavailable) as error:
            logger.info("job %s: server %s not shown yet: %s", job.id, server_id, error)
            return
        if not is_partial(record):
            await self._write_through(job.project_id, record, extra=_made_by(job))

    async def _follow_build(self, job: Job) -> NovaRecord:
        """Nova's record once the build is over (ACTIVE, ERROR, …)."""
        record = await self._watcher.watch_server(
            job, lambda r: r is None or (not is_partial(r) and r.get("status") != "BUILD"),
            f"Server {job.server_id} was still building after {self._policy.build_timeout:.0f} s.")
        if record is None:
            raise JobFailure(f"Server {job.server_id} disappeared while it was building.")
        return record

    async def _write_through(self, project_id: str, record: NovaRecord,
                             extra: dict[str, Any] | None = None) -> Server:
        server = server_from_nova(record, await self._snapshot.flavor_ids(project_id))
        await self._recorder.record(project_id, server, observed=False, extra=extra)
        return server

    async def _delete(self, job: Job) -> Job:
        server_id = server_of(job)
        last_known = await self._snapshot.server(job.project_id, server_id)
        with contextlib.suppress(NotFound):  # already gone: nothing left to do but confirm
            await self._gateway.delete_server(job.project_id, server_id)
        await self._watcher.watch_server(job, lambda record: record is None,
                                         f"Nova had not removed server {server_id} after "
                                         f"{self._policy.build_timeout:.0f} s.")
        await self._recorder.record(job.project_id, removed=server_id, observed=False,
                                    extra=_made_by(job))
        await self._announce(job, DELETED, server_id, last_known or {"id": server_id})
        await self._show_volumes(job, last_known)
        await self._marks.clear_delete(job.project_id, server_id)
        return await self._succeed(job, None)

    async def _act(self, job: Job) -> Job:
        """Stop, start or reboot, once: an attempt after a crash first looks whether Nova has the
        action under way (or, for stop and start, done) before asking for it again."""
        server_id, action = server_of(job), job.action()
        if action["action"] in VOLUME_ACTIONS:
            steps = self._volume_steps
            return await (steps.attach(job) if action["action"] == ATTACH_VOLUME else steps.detach(job))
        if action["action"] in LONG_ACTIONS:
            return await self._long_actions.run(job)
        target, task = target_status(action), task_state_of(action)
        record = await self._watcher.record(job)
        seen = [record.get("OS-EXT-STS:task_state") == task]
        # Only a retry may take Nova's state for its own work; a first attempt always asks, so
        # that a state changed behind the snapshot's back gets Nova's refusal.
        retry = job.attempts > 1
        done = retry and action["action"] != REBOOT and _settled_in(record, target)
        if not ((retry and seen[0]) or done):
            await self._watcher.ask(job, action_body(action))
            logger.info("job %s: Nova accepted %s of server %s", job.id, action["action"], server_id)
        before = record.get("updated")

        def settled(current: NovaRecord | None) -> bool:
            if current is None or is_partial(current):
                return current is None
            seen[0] = seen[0] or current.get("OS-EXT-STS:task_state") == task
            changed = seen[0] or current.get("updated") != before or action["action"] != REBOOT
            return changed and _settled_in(current, target)

        final = await self._watcher.watch_server(job, settled, self._watcher.stuck(job),
                                                 ended=lambda: self._watcher.ended(job))
        return await self._end_action(job, final)

    async def _end_action(self, job: Job, final: NovaRecord | None) -> Job:
        """An action job's success, with the server as Nova shows it at its end."""
        server_id, action = server_of(job), job.action()
        if final is None:
            raise JobFailure(f"Server {server_id} disappeared during the {action['action']}.")
        # the mark goes first: the write-through then shows the server as Nova has it
        await self._marks.clear_action(job.project_id, server_id, job.id)
        server = await self._write_through(job.project_id, final, extra=_made_by(job))
        return await self._succeed(job, server)

    async def _announce(self, job: Job, kind: str, server_id: str,
                        server: Server | dict[str, str]) -> None:
        """A job's outcome is always an event, even when a poll took the change in silently or
        announced it first (then the stream drops this repeat: same id)."""
        fingerprint = CREATED_FINGERPRINT if kind == CREATED else DELETED_FINGERPRINT
        await self._events.append([ServerEvent(job.project_id, kind, server_id, fingerprint,
                                               {"server": server, **_made_by(job)})])

    async def _succeed(self, job: Job, server: Server | None) -> Job:
        """Record the job's success and announce it, with the server as it ended (if it is left)."""
        job = await self._jobs.update(job, status=SUCCEEDED, error=None)
        logger.info("job %s (%s) succeeded after %d attempts", job.id, job.kind, job.attempts,
                    extra={"fields": {"kind": job.kind, "attempts": job.attempts}})
        await self._events.append([succeeded_event(job, server)])
        return job

    async def _fail(self, job: Job, reason: str) -> Job:
        job = await self._jobs.update(job, status=FAILED, error=reason)
        logger.warning("job %s (%s) failed: %s", job.id, job.kind, reason)
        if job.kind == DELETE_VOLUME:  # the volume may be deleted again
            await self._marks.clear_delete(job.project_id, job.volume_request()["volume_id"])
        if job.kind in (DELETE, ACTION):  # the server shows our task no more, but Nova's record
            if job.kind == DELETE:
                await self._marks.clear_delete(job.project_id, server_of(job))
            else:
                await self._marks.clear_action(job.project_id, server_of(job), job.id)
            await self._restore(job)
        await self._events.append([ServerEvent(job.project_id, JOB_FAILED, job.server_id or "",
                                               job.id, {"job": job.event_data()})])
        return job

    async def _restore(self, job: Job) -> None:
        """After a failed delete, the snapshot shows the server as Nova has it again."""
        try:
            await self._write_through(job.project_id,
                                      await self._gateway.get_server(job.project_id, server_of(job)))
        except (NotFound, OpenStackUnavailable) as error:
            logger.info("job %s: server %s not restored in the snapshot: %s", job.id, job.server_id, error)


def _settled_in(record: NovaRecord, status: str) -> bool:
    """Whether Nova shows the server in ``status`` with no task under way."""
    return record.get("status") == status and record.get("OS-EXT-STS:task_state") is None
