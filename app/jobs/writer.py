"""Creating, deleting and acting on servers: validate, record a durable job, queue it, answer
quickly; and renaming them or replacing their metadata, which Nova does at once."""
import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError

from ..core.errors import Conflict, NotFound, OpenStackRejected, OpenStackUnavailable, UnprocessableRequest
from ..core.records import ActionRequest, LaunchRequest, Server, VolumeRequest, created_time
from ..core.times import Clock
from ..openstack.gateway import OpenStackGateway
from ..openstack.translation import DELETING, server_from_nova
from ..snapshot.reads import ProjectReader
from ..snapshot.recent_shows import RecentShows
from ..snapshot.recording import ServerRecorder, VolumeRecorder
from ..snapshot.snapshot_store import SnapshotStore
from ..store.redis_layout import IDEMPOTENCY_TTL
from .actions import ATTACH_VOLUME, RESIZE, VOLUME_ACTIONS, refusal, task_state_of
from .idempotency import IdempotencyStore, JobOutcome, KeyClaim, KeyUse, fingerprint, nova_tag, same_key
from .job import ACTION, CREATE, CREATE_VOLUME, DELETE, DELETE_VOLUME, Job
from .job_store import JobStore
from .launch import RESOURCE_FIELDS, resolve_launch
from .marks import ServerMarks
from .queue import JobQueue

logger = logging.getLogger(__name__)
RECHECK_AFTER = 5.0  # a snapshot older than this is refreshed once before a 422 for a missing item
WAIT_STEP = 0.05  # how often a create looks whether its job has Nova's server id yet


_KEY_REUSED = "This Idempotency-Key was used with a different request in the last 24 hours."
_KEY_REUSED_FIELD = "Already used with a different request body."


def outcome_of(job: Job) -> JobOutcome:
    """A create's outcome as the job stands now (for a volume create, the volume's id)."""
    return JobOutcome(job.project_id, job.id, job.status, _made_id(job))


def _made_id(job: Job) -> str | None:
    """The id of what a create job made, once known: a server's, or a volume's."""
    return job.server_id or (job.result or {}).get("volume_id")


def _flavor_named(flavors: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The flavor with this id or name, if any."""
    return next((f for f in flavors if wanted in (f["id"], f["name"])), None)


def _fields(errors: Mapping[str, list[str]]) -> str:
    """The fields in error, named for a detail: ``flavor_id and key_name``."""
    names = list(errors)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class ServerWriter:
    """What ``POST /cloud/servers``, ``DELETE /cloud/servers/{id}`` and its actions do."""

    def __init__(self, reader: ProjectReader, snapshot: SnapshotStore, recorder: ServerRecorder,
                 jobs: JobStore, marks: ServerMarks, queue: JobQueue, keys: IdempotencyStore,
                 gateway: OpenStackGateway, shows: RecentShows, volumes: VolumeRecorder,
                 *, create_wait: float, retention: float, clock: Clock = time.time) -> None:
        self._reader = reader
        self._volumes = volumes
        self._gateway = gateway
        self._snapshot = snapshot
        self._recorder = recorder
        self._jobs = jobs
        self._marks = marks
        self._shows = shows
        self._queue = queue
        self._keys = keys
        self._create_wait = create_wait
        self._retention = int(retention)
        self._clock = clock

    async def create(self, project_id: str, request: Mapping[str, Any], idempotency_key: str | None,
                     requested_by: str | None = None) -> JobOutcome:
        """Validate, queue a create job, and wait briefly for Nova's server id."""
        use = KeyUse(fingerprint({**request, "project_id": project_id}), "", None)
        adopted = None
        if idempotency_key:
            earlier = await self._earlier_use(project_id, idempotency_key, use)
            if earlier is not None:
                return earlier
        launch = await self.validate(project_id, request)
        if idempotency_key:
            launch["idempotency_tag"] = nova_tag(project_id, idempotency_key, use.fingerprint)
            adopted = await self._server_tagged(project_id, launch["idempotency_tag"])
        job = self._jobs.new(project_id, CREATE, launch, server_id=adopted, requested_by=requested_by)
        outcome = await self._submit_keyed(job, idempotency_key, use.fingerprint)
        if outcome is None:  # lost a race for the key: answer as its first request
            return await self.create(project_id, request, idempotency_key, requested_by)
        return outcome

    async def _submit_keyed(self, job: Job, idempotency_key: str | None,
                            request_fingerprint: str) -> JobOutcome | None:
        """Queue a create job (claiming its Idempotency-Key in the same step) and wait briefly for
        the id of what it makes; None if another request claimed the key first."""
        use = KeyUse(request_fingerprint, job.id, None)
        claim = self._keys.claim(job.project_id, idempotency_key, use) if idempotency_key else None
        if not await self._queue.submit(job, claim):
            return None
        outcome = outcome_of(await self._wait_for_server_id(job))
        if idempotency_key:
            await self._keys.record_outcome(job.project_id, idempotency_key,
                                            KeyUse(request_fingerprint, job.id, outcome))
        return outcome

    async def _server_tagged(self, project_id: str, tag: str) -> str | None:
        """A server of the last 24 h that a create with the same Idempotency-Key made, though
        Redis has no record of it (it lost its data): adopted instead of making another."""
        listing = await self._reader.listing(project_id, "servers")  # polled once if never yet
        tagged = await self._snapshot.tagged_servers(project_id)
        since = self._clock() - IDEMPOTENCY_TTL
        for server in listing.items():
            found = tagged.get(server["id"])
            created = created_time(server)
            if found and same_key(found, tag) and created is not None and created >= since:
                if found != tag:
                    raise UnprocessableRequest(_KEY_REUSED, {"Idempotency-Key": [_KEY_REUSED_FIELD]})
                logger.warning("Idempotency-Key with no record in Redis matches server %s: adopted",
                               server["id"])
                return str(server["id"])
        return None

    async def _earlier_use(self, project_id: str, key: str, use: KeyUse) -> JobOutcome | None:
        earlier = await self._keys.get(project_id, key)
        if earlier is None:
            return None
        job = await self._jobs.get(project_id, earlier.job_id)
        if job is None:  # the first request died before queueing its job: this one replaces it
            await self._keys.forget(project_id, key)
            return None
        if earlier.fingerprint != use.fingerprint:
            raise UnprocessableRequest(_KEY_REUSED, {"Idempotency-Key": [_KEY_REUSED_FIELD]})
        if earlier.outcome is None:  # the first request is still waiting for its server id
            job = await self._wait_for_server_id(job)
        first_server_id = earlier.outcome.server_id if earlier.outcome else None
        # the first answer again, with what the job knows now: its status, and the server id
        return replace(outcome_of(job), server_id=_made_id(job) or first_server_id, replayed=True)

    async def _wait_for_server_id(self, job: Job) -> Job:
        """The job once it has the id of what it makes (Nova's server, Cinder's volume) or has
        ended, or as it is after ``create_wait`` seconds (measured on the event loop's own clock:
        this is waiting, not data)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._create_wait
        while _made_id(job) is None and not job.finished and loop.time() < deadline:
            await asyncio.sleep(WAIT_STEP)
            job = await self._jobs.get(job.project_id, job.id) or job
        return job

    async def validate(self, project_id: str, request: Mapping[str, Any]) -> LaunchRequest:
        """Check that what the request names exists in the project; 422 naming each field if not.

        A missing item is looked up once more in a fresh listing when the snapshot is older than a
        few seconds, so something made moments ago is not refused.
        """
        listings = {kind: await self._reader.listing(project_id, kind) for kind in RESOURCE_FIELDS}
        launch, errors = resolve_launch(request, {k: v.items() for k, v in listings.items()})
        stale = [kind for kind in RESOURCE_FIELDS if RESOURCE_FIELDS[kind] in errors
                 and listings[kind].age(self._clock()) > RECHECK_AFTER]
        if stale:
            for kind in stale:
                listings[kind] = await self._reader.refreshed_listing(project_id, kind)
            launch, errors = resolve_launch(request, {k: v.items() for k, v in listings.items()})
        if errors:
            raise UnprocessableRequest(f"This server cannot be launched in the project as asked: "
                                       f"{_fields(errors)} (each explained under errors).", errors)
        await self._check_volume_quota(project_id, launch)
        return launch

    async def _check_volume_quota(self, project_id: str, launch: LaunchRequest) -> None:
        """A boot volume must fit in the project's volume quota (422 naming its size if not)."""
        boot_volume = launch.get("boot_volume")
        if boot_volume:
            await self._fits_quota(project_id, boot_volume["size_gb"], "boot_volume.size_gb", "boot volume")

    async def _fits_quota(self, project_id: str, size_gb: int, field: str, what: str) -> None:
        """``size_gb`` more must fit in the project's volume quota (422 naming ``field`` if not).
        Best effort: if Cinder cannot say, the job finds out, and fails with Cinder's message."""
        try:
            quota = await self._gateway.volume_quota(project_id)
        except OpenStackUnavailable as error:
            logger.info("volume quota of %s not checked: %s", project_id, error)
            return
        if quota is not None and quota[1] + size_gb > quota[0]:
            raise UnprocessableRequest(f"The {what} does not fit in the project's volume quota.", {
                field: [f"The project may have {quota[0]} GiB of volumes and has {quota[1]} GiB; "
                        f"{size_gb} GiB more do not fit."]})

    async def create_volume(self, project_id: str, request: Mapping[str, Any], idempotency_key: str | None,
                            requested_by: str | None = None) -> JobOutcome:
        """Check the type, the image and the quota (422 naming the field), queue a volume create
        job, and wait briefly for Cinder's volume id (the outcome's ``server_id``)."""
        use = KeyUse(fingerprint({**request, "project_id": project_id, "kind": CREATE_VOLUME}), "", None)
        if idempotency_key:
            earlier = await self._earlier_use(project_id, idempotency_key, use)
            if earlier is not None:
                return earlier
        volume = await self._valid_volume(project_id, request)
        if idempotency_key:
            volume["idempotency_tag"] = nova_tag(project_id, idempotency_key, use.fingerprint)
        job = self._jobs.new(project_id, CREATE_VOLUME, volume, requested_by=requested_by)
        outcome = await self._submit_keyed(job, idempotency_key, use.fingerprint)
        if outcome is None:  # lost a race for the key: answer as its first request
            return await self.create_volume(project_id, request, idempotency_key, requested_by)
        return outcome

    async def _valid_volume(self, project_id: str, request: Mapping[str, Any]) -> VolumeRequest:
        """The volume create, once its type and image exist and its size fits (422 otherwise)."""
        errors: dict[str, list[str]] = {}
        volume_type, image_id = request.get("volume_type"), request.get("image_id")
        if volume_type is not None and volume_type not in await self._gateway.volume_types(project_id):
            errors["volume_type"] = [f"No volume type {volume_type!r} in this cloud."]
        if image_id is not None:
            images = (await self._reader.listing(project_id, "images")).items()
            image = next((i for i in images if i["id"] == image_id), None)
            if image is None or image["status"] != "active":
                errors["image_id"] = [f"No active image {image_id!r} in this project."]
            elif image["min_disk"] > request["size_gb"]:
                errors["size_gb"] = [f"Image {image['name']!r} needs at least {image['min_disk']} GiB."]
        if errors:
            raise UnprocessableRequest(f"This volume cannot be made as asked: {_fields(errors)} (each "
                                       "explained under errors).", errors)
        await self._fits_quota(project_id, request["size_gb"], "size_gb", "volume")
        return {"name": request["name"], "size_gb": request["size_gb"], "volume_type": volume_type,
                "image_id": image_id, "description": request.get("description")}

    async def delete_volume(self, project_id: str, volume_id: str, requested_by: str | None = None) -> str:
        """Queue a volume delete job (one per volume; the id of the one under way if there is one);
        ``Conflict`` (409) while the volume is attached or not in a state Cinder deletes from."""
        volume = await self._reader.live_volume(project_id, volume_id)
        if volume["attachments"]:
            raise Conflict(f"Volume {volume_id} is attached to server {volume['attachments'][0]}: "
                           "detach it first.")
        if volume["status"] not in ("available", "error", "deleting"):
            raise Conflict(f"Volume {volume_id} is {volume['status']}: it can be deleted once it is "
                           "available (or in error).")
        job = self._jobs.new(project_id, DELETE_VOLUME, {"volume_id": volume_id}, requested_by=requested_by)
        pending = await self._marks.claim_delete(project_id, volume_id, job.id, self._retention)
        if pending is not None:
            return pending
        submitted = False
        try:
            await self._volumes.record(project_id, {**volume, "status": "deleting"}, volume_id)
            submitted = await self._queue.submit(job)
        finally:
            if not submitted:
                with contextlib.suppress(RedisError):
                    await self._marks.clear_delete(project_id, volume_id)
                    await self._volumes.record(project_id, volume, volume_id)
        return job.id

    async def act(self, project_id: str, server_id: str, action: ActionRequest,
                  idempotency_key: str | None, requested_by: str | None = None) -> JobOutcome:
        """Queue an action (a resize only to another flavor of the project); ``Conflict`` (409) if
        the server's state does not allow it. From then on the server shows the action's task
        state until the action is seen done."""
        use = KeyUse(fingerprint({**action, "server_id": server_id, "project_id": project_id}),
                     "", None)
        if idempotency_key:
            earlier = await self._earlier_use(project_id, idempotency_key, use)
            if earlier is not None:
                return earlier
        server = await self._known_server(project_id, server_id)
        refused = refusal(server, action)
        if refused is not None:
            raise Conflict(refused)
        if action["action"] == RESIZE:
            action = {**action, "flavor_id": await self._new_flavor(project_id, server, action["flavor_id"])}
        if action["action"] in VOLUME_ACTIONS:
            await self._check_attachment(project_id, server_id, action)
        task = task_state_of(action)
        job = self._jobs.new(project_id, ACTION, action, server_id=server_id, requested_by=requested_by)
        if not await self._marks.claim_action(project_id, server_id, task, job.id, self._retention):
            if idempotency_key:  # the same request a moment earlier holds it: answer as it was
                earlier = await self._earlier_use(project_id, idempotency_key, use)
                if earlier is not None:
                    return earlier
            raise Conflict(f"Server {server_id} has another action under way.")
        use = KeyUse(use.fingerprint, job.id, None)
        claim = self._keys.claim(project_id, idempotency_key, use) if idempotency_key else None
        if not await self._submit_shown(job, server, task,
                                        lambda: self._marks.clear_action(project_id, server_id, job.id),
                                        claim):
            # the key was claimed first: answer what that request got
            return await self.act(project_id, server_id, action, idempotency_key, requested_by)
        outcome = outcome_of(job)
        if idempotency_key:
            await self._keys.record_outcome(project_id, idempotency_key,
                                            KeyUse(use.fingerprint, job.id, outcome))
        return outcome

    async def delete(self, project_id: str, server_id: str, requested_by: str | None = None) -> str:
        """Queue a delete job (one per server); the snapshot shows the server as deleting.

        Returns the id of the server's delete job: the new one, or the one already under way.
        """
        server = await self._known_server(project_id, server_id)
        job = self._jobs.new(project_id, DELETE, server_id=server_id, requested_by=requested_by)
        pending = await self._marks.claim_delete(project_id, server_id, job.id, self._retention)
        if pending is not None:
            logger.info("server %s is already being deleted", server_id)
            return pending
        await self._submit_shown(job, server, DELETING,
                                 lambda: self._marks.clear_delete(project_id, server_id))
        return job.id

    async def _check_attachment(self, project_id: str, server_id: str, action: ActionRequest) -> None:
        """A volume attaches when it is ``available`` (to one server: multiattach is not offered)
        and detaches from the server it is attached to: ``Conflict`` (409) otherwise, a 422 for a
        volume the project does not have."""
        volume_id = action["volume_id"]
        try:
            volume = await self._reader.live_volume(project_id, volume_id)
        except NotFound:
            raise UnprocessableRequest("The action names no volume of the project.", {
                "volume_id": [f"No volume {volume_id} in this project."]}) from None
        if action["action"] == ATTACH_VOLUME and volume["attachments"]:
            raise Conflict(f"Volume {volume_id} is attached to server {volume['attachments'][0]}; a "
                           "volume attaches to one server at a time.")
        if action["action"] == ATTACH_VOLUME and volume["status"] != "available":
            raise Conflict(f"Volume {volume_id} is {volume['status']}: it must be available to attach.")
        if action["action"] != ATTACH_VOLUME and server_id not in volume["attachments"]:
            raise Conflict(f"Volume {volume_id} is not attached to server {server_id}.")

    async def _new_flavor(self, project_id: str, server: Server, wanted: str) -> str:
        """The id of the flavor a resize names (by id or name); 422 if the project has no such
        flavor (looked up once more in a fresh list if the snapshot's is old), or the server has
        it already."""
        listing = await self._reader.listing(project_id, "flavors")
        if listing.age(self._clock()) > RECHECK_AFTER and not _flavor_named(listing.items(), wanted):
            listing = await self._reader.refreshed_listing(project_id, "flavors")
        flavor = _flavor_named(listing.items(), wanted)
        if flavor is None:
            raise UnprocessableRequest("The resize names no flavor of the project.", {
                "flavor_id": [f"No flavor {wanted!r} (by id or name) in this project."]})
        if flavor["id"] == server["flavor"]["id"]:
            raise UnprocessableRequest("The server has this flavor already.", {
                "flavor_id": [f"Server {server['id']} is {flavor['name']} already."]})
        return str(flavor["id"])

    async def update(self, project_id: str, server_id: str, name: str | None,
                     metadata: dict[str, str] | None) -> Server:
        """Rename the server and/or replace its user metadata (the service's own keys stay in
        Nova): Nova answers at once, and what it then shows is written through to the snapshot
        (its ``server.updated`` event included). ``Conflict`` while it is being deleted, or
        when Nova refuses in the server's state."""
        server = await self._known_server(project_id, server_id)
        if server["task_state"] == DELETING:
            raise Conflict(f"Server {server_id} is being deleted.")
        try:
            if name is not None:
                await self._gateway.rename_server(project_id, server_id, name)
            if metadata is not None:
                await self._gateway.replace_metadata(project_id, server_id, metadata)
        except OpenStackRejected as refused:
            if refused.status == 409:
                raise Conflict(refused.detail) from None
            if refused.status in (400, 403):  # a name or metadata Nova will not take (its quota)
                raise UnprocessableRequest("Nova refused the change.", {
                    "name" if metadata is None else "metadata": [refused.detail]}) from None
            raise
        record = await self._gateway.get_server(project_id, server_id)
        changed = server_from_nova(record, await self._snapshot.flavor_ids(project_id))
        await self._recorder.record(project_id, changed, observed=False)
        await self._shows.written(project_id, server_id, self._clock())
        return await self._snapshot.server(project_id, server_id) or changed

    async def _known_server(self, project_id: str, server_id: str) -> Server:
        """The server as the snapshot has it, else as Nova has it now; ``NotFound`` if neither."""
        server = await self._snapshot.server(project_id, server_id)
        if server is None:
            server = (await self._reader.live_server(project_id, server_id)).server
        return server

    async def _submit_shown(self, job: Job, server: Server, task_state: str,
                            clear_mark: Callable[[], Awaitable[object]],
                            claim: KeyClaim | None = None) -> bool:
        """Show the server with the job's task state, then queue the job (so that the job's end
        is written last). If queueing is refused (``claim``'s key was taken first) or fails (Redis
        full, say), the mark and the display are undone: no mark stays behind without its job."""
        submitted = False
        try:
            await self._recorder.record(job.project_id, {**server, "task_state": task_state})
            await self._shows.written(job.project_id, server["id"], self._clock())
            submitted = await self._queue.submit(job, claim)
        finally:
            if not submitted:
                with contextlib.suppress(RedisError):
                    await clear_mark()
                    await self._recorder.record(job.project_id, server)
        return submitted
