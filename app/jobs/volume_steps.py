"""The steps of the volume jobs: a create (blank, or from an image) and a delete, against Cinder
through the gateway, each change written through to the volumes list with its event. The
executor runs them with its retries (``execution.py``)."""
import contextlib
import logging
from collections.abc import Callable

from ..core.errors import NotFound, OpenStackRejected
from ..core.records import Volume
from ..openstack.gateway import NovaRecord, OpenStackGateway
from ..openstack.translation import IDEMPOTENCY_TAG, JOB_TAG
from ..snapshot.recording import VolumeRecorder
from .job import Job, JobFailure
from .job_store import JobStore
from .marks import ServerMarks
from .server_watch import EndAction, ServerWatch, Succeed

logger = logging.getLogger(__name__)
Both = tuple[Volume | None, NovaRecord | None]  # Cinder's volume and Nova's server, read together
SETTLED = ("available", "error", "in-use")  # a volume no longer being made


class VolumeSteps:
    """What a volume job does, step by step; each step can be run again after a crash."""

    def __init__(self, gateway: OpenStackGateway, volumes: VolumeRecorder, jobs: JobStore,
                 marks: ServerMarks, watch: ServerWatch, succeed: Succeed, end_action: EndAction) -> None:
        self._gateway = gateway
        self._volumes = volumes
        self._jobs = jobs
        self._marks = marks
        self._watch = watch
        self._succeed = succeed
        self._end_action = end_action

    async def attach(self, job: Job) -> Job:
        """Attach the volume to the job's server; done when Cinder shows it ``in-use`` by the
        server and Nova lists it among the server's volumes. A retry looks first."""
        return await self._attachment(job, attach=True)

    async def detach(self, job: Job) -> Job:
        """Detach the volume from the job's server; done when Cinder shows it ``available`` and
        Nova no longer lists it."""
        return await self._attachment(job, attach=False)

    async def _attachment(self, job: Job, attach: bool) -> Job:
        project_id, volume_id = job.project_id, job.action()["volume_id"]
        server_id = job.server_id or ""
        volume, record = await self._both(project_id, volume_id, server_id)
        if volume is None or record is None:
            gone = f"Volume {volume_id}" if volume is None else f"Server {server_id}"
            raise JobFailure(f"{gone} no longer exists.")
        if not (job.attempts > 1 and _on_its_way(volume, record, server_id, attach)):
            ask = self._gateway.attach_volume if attach else self._gateway.detach_volume
            try:
                await ask(project_id, server_id, volume_id)
            except OpenStackRejected as refused:
                if refused.status in (400, 409):  # Nova's or Cinder's word on the state: final
                    raise JobFailure(refused.detail) from None
                raise
        volume, record = await self._watch.watch(job, lambda: self._both(project_id, volume_id, server_id),
                                           _settled(server_id, attach),
                                           f"Volume {volume_id} was still changing after the build timeout.")
        await self._volumes.record(project_id, volume, volume_id, {"job_id": job.id})
        if volume is None or not _done(volume, record, server_id, attach):
            status = volume["status"] if volume else "gone"
            done = "attached" if attach else "detached"
            raise JobFailure(f"Volume {volume_id} was not {done}: it is {status}.")
        return await self._end_action(job, record)

    async def _both(self, project_id: str, volume_id: str, server_id: str) -> Both:
        volume = await self._gateway.get_volume(project_id, volume_id)
        try:
            return volume, await self._gateway.get_server(project_id, server_id)
        except NotFound:
            return volume, None

    async def create(self, job: Job) -> Job:
        """Make the volume (tagged with the job's id, and the Idempotency-Key's tag); done when
        Cinder shows it ``available``. A retry, or a replay whose first record Redis lost, finds
        the volume by its tag before asking Cinder again."""
        request, project_id = job.volume_request(), job.project_id
        volume_id = (job.result or {}).get("volume_id")
        if volume_id is None and job.attempts > 1:
            volume_id = await self._tagged(project_id, job.id, JOB_TAG)
        key_tag = request.get("idempotency_tag")
        if volume_id is None and key_tag:
            volume_id = await self._tagged(project_id, key_tag, IDEMPOTENCY_TAG)
        if volume_id is None:
            metadata = {JOB_TAG: job.id, **({IDEMPOTENCY_TAG: key_tag} if key_tag else {})}
            try:
                volume_id = await self._gateway.create_volume(project_id, request, metadata)
            except OpenStackRejected as refused:
                if refused.status in (400, 404, 413):  # a quota, a type or image gone meanwhile
                    raise JobFailure(refused.detail) from None
                raise
            logger.info("job %s: Cinder accepted volume %s", job.id, volume_id)
        if job.result is None:
            job = await self._jobs.update(job, result={"volume_id": volume_id})
        shown = await self._gateway.get_volume(project_id, volume_id)
        if shown is not None:  # listed at once, while Cinder makes it
            await self._volumes.record(project_id, shown, volume_id, {"job_id": job.id})
        volume = await self._watch.watch(job, lambda: self._gateway.get_volume(project_id, volume_id),
                                   lambda seen: seen is None or seen["status"] in SETTLED,
                                   f"Volume {volume_id} was still being made after the build timeout.")
        if volume is None:
            raise JobFailure(f"Volume {volume_id} disappeared while it was being made.")
        await self._volumes.record(project_id, volume, volume_id, {"job_id": job.id})
        if volume["status"] == "error":
            raise JobFailure(f"Cinder could not make volume {volume_id} (it is in error); delete it.")
        return await self._succeed(job, None)

    async def delete(self, job: Job) -> Job:
        """Delete the volume; done once Cinder has it no more."""
        project_id, volume_id = job.project_id, job.volume_request()["volume_id"]

        async def live() -> Volume | None:
            return await self._gateway.get_volume(project_id, volume_id)

        with contextlib.suppress(NotFound):  # already gone: nothing left but to confirm
            try:
                await self._gateway.delete_volume(project_id, volume_id)
            except OpenStackRejected as refused:
                if refused.status == 400:  # attached meanwhile, or in a state Cinder will not delete
                    await self._marks.clear_delete(project_id, volume_id)
                    await self._volumes.record(project_id, await live(), volume_id)
                    raise JobFailure(refused.detail) from None
                raise
        await self._watch.watch(job, live, lambda seen: seen is None,
                          f"Cinder had not removed volume {volume_id} after the build timeout.")
        await self._volumes.record(project_id, None, volume_id, {"job_id": job.id})
        await self._marks.clear_delete(project_id, volume_id)
        return await self._succeed(job, None)

    async def _tagged(self, project_id: str, value: str, tag: str) -> str | None:
        found = await self._gateway.find_tagged_volume(project_id, value, tag)
        return found["id"] if found else None


def _listed(record: NovaRecord | None, volume_id: str) -> bool:
    """Whether Nova lists the volume among the server's."""
    attached = (record or {}).get("os-extended-volumes:volumes_attached") or []
    return any(v.get("id") == volume_id for v in attached)


def _on_its_way(volume: Volume, record: NovaRecord, server_id: str, attach: bool) -> bool:
    """Whether Nova already has the attach (or detach) an earlier attempt asked for."""
    if attach:
        return volume["status"] in ("attaching", "in-use") and _listed(record, volume["id"])
    return volume["status"] in ("detaching", "available") and server_id not in volume["attachments"]


def _done(volume: Volume, record: NovaRecord | None, server_id: str, attach: bool) -> bool:
    if attach:
        return (volume["status"] == "in-use" and server_id in volume["attachments"]
                and _listed(record, volume["id"]))
    return volume["status"] == "available" and not _listed(record, volume["id"])


def _settled(server_id: str, attach: bool) -> Callable[[Both], bool]:
    """Done, or no longer moving: ``error``, or an attach Cinder gave up (``available`` again
    once it was seen on its way: right after the request it may not have left it yet)."""
    moved = [False]

    def settled(both: Both) -> bool:
        volume, record = both
        if volume is None or record is None:
            return True
        moved[0] = moved[0] or volume["status"] != "available"
        gave_up = attach and moved[0] and volume["status"] == "available"
        return _done(volume, record, server_id, attach) or gave_up or volume["status"] == "error"

    return settled
