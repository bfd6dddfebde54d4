"""Creating and deleting servers: validate, record a durable job, queue it, answer quickly."""
import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from .errors import UnprocessableRequest
from .idempotency import IdempotencyStore, KeyUse, fingerprint
from .jobs import FAILED, Job, JobQueue, JobStore
from .openstack.gateway import JOB_TAG
from .reads import ProjectReader
from .recording import ServerRecorder
from .snapshot import SnapshotStore

logger = logging.getLogger(__name__)
RESOURCE_FIELDS = {"flavors": "flavor_id", "images": "image_id", "networks": "network_ids",
                   "keypairs": "key_name"}
RECHECK_AFTER = 5.0  # a snapshot older than this is refreshed once before a 422 for a missing item


def job_href(job: Job) -> str:
    """Where a job can be watched."""
    return f"/cloud/jobs/{job.id}?project_id={job.project_id}"


def create_answer(job: Job) -> dict[str, Any]:
    """The 202 answer to a create: the server id once known, and the job."""
    return {"id": job.server_id, "status": "ERROR" if job.status == FAILED else "BUILD",
            "job": {"id": job.id, "status": job.status, "href": job_href(job)}}


class ServerWriter:
    """What ``POST /cloud/servers`` and ``DELETE /cloud/servers/{id}`` do."""

    def __init__(self, redis: Redis, reader: ProjectReader, snapshot: SnapshotStore,
                 recorder: ServerRecorder, jobs: JobStore, queue: JobQueue, *, create_wait: float,
                 retention: float, clock: Callable[[], float] = time.time) -> None:
        self._reader = reader
        self._snapshot = snapshot
        self._recorder = recorder
        self._jobs = jobs
        self._queue = queue
        self._keys = IdempotencyStore(redis)
        self._create_wait = create_wait
        self._retention = int(retention)
        self._clock = clock

    async def create(self, project_id: str, request: dict[str, Any],
                     idempotency_key: str | None) -> dict[str, Any]:
        """Validate, queue a create job, and wait briefly for Nova's server id."""
        use = KeyUse(fingerprint({**request, "project_id": project_id}), "", None)
        if idempotency_key:
            earlier = await self._earlier_use(project_id, idempotency_key, use)
            if earlier is not None:
                return earlier
        resolved = await self.validate(project_id, request)
        job = self._jobs.new(project_id, "create", resolved)
        if idempotency_key:
            use = KeyUse(use.fingerprint, job.id, None)
            if await self._keys.claim(project_id, idempotency_key, use) is not None:
                return await self.create(project_id, request, idempotency_key)  # lost a race
        await self._queue.submit(job, self._jobs)
        answer = create_answer(await self._wait_for_server_id(job))
        if idempotency_key:
            await self._keys.record_answer(project_id, idempotency_key, use, answer)
        return answer

    async def _earlier_use(self, project_id: str, key: str, use: KeyUse) -> dict[str, Any] | None:
        earlier = await self._keys.get(project_id, key)
        if earlier is None:
            return None
        job = await self._jobs.get(project_id, earlier.job_id)
        if job is None:  # the first request died before queueing its job: this one replaces it
            await self._keys.forget(project_id, key)
            return None
        if earlier.fingerprint != use.fingerprint:
            raise UnprocessableRequest(
                "This Idempotency-Key was used with a different request in the last 24 hours.",
                {"Idempotency-Key": ["Already used with a different request body."]})
        if earlier.answer is not None:
            return earlier.answer
        return create_answer(await self._wait_for_server_id(job))

    async def _wait_for_server_id(self, job: Job) -> Job:
        deadline = self._clock() + self._create_wait
        while job.server_id is None and not job.finished and self._clock() < deadline:
            await asyncio.sleep(0.05)
            job = await self._jobs.get(job.project_id, job.id) or job
        return job

    async def validate(self, project_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """Check that what the request names exists in the project; 422 naming each field if not.

        A missing item is looked up once more in a fresh listing when the snapshot is older than a
        few seconds, so something made moments ago is not refused.
        """
        listings = {kind: await self._reader.listing(project_id, kind) for kind in RESOURCE_FIELDS}
        resolved, errors = _resolve(request, {k: v.items() for k, v in listings.items()})
        stale = [kind for kind in RESOURCE_FIELDS if RESOURCE_FIELDS[kind] in errors
                 and listings[kind].age(self._clock()) > RECHECK_AFTER]
        if stale:
            for kind in stale:
                listings[kind] = await self._reader.refreshed_listing(project_id, kind)
            resolved, errors = _resolve(request, {k: v.items() for k, v in listings.items()})
        if errors:
            raise UnprocessableRequest("The request names things that do not exist in the project.",
                                       errors)
        return resolved

    async def delete(self, project_id: str, server_id: str) -> None:
        """Queue a delete job (one per server); the snapshot shows the server as deleting."""
        server = await self._snapshot.server(project_id, server_id)
        if server is None:
            server = (await self._reader.live_server(project_id, server_id)).server  # 404 if gone
        job = self._jobs.new(project_id, "delete", {}, server_id=server_id)
        if not await self._snapshot.claim_delete(project_id, server_id, job.id, self._retention):
            logger.info("server %s is already being deleted", server_id)
            return
        await self._recorder.record(project_id, {**server, "task_state": "deleting"})
        await self._queue.submit(job, self._jobs)


def _resolve(request: dict[str, Any],
             items: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The request with the flavor resolved to its id (a name is accepted), and what is missing."""
    errors: dict[str, list[str]] = {}
    flavor = next((f for f in items["flavors"] if request["flavor_id"] in (f["id"], f["name"])), None)
    image = next((i for i in items["images"] if i["id"] == request["image_id"]), None)
    if flavor is None:
        errors["flavor_id"] = [f"No flavor {request['flavor_id']!r} (by id or name) in this project."]
    if image is None:
        errors["image_id"] = [f"No image {request['image_id']!r} in this project."]
    elif image["status"] != "active":
        errors["image_id"] = [f"Image {image['id']} is {image['status']}, not active."]
    elif flavor is not None and (image["min_disk"] > flavor["disk"] or image["min_ram"] > flavor["ram"]):
        errors["flavor_id"] = [f"Flavor {flavor['name']} ({flavor['disk']} GiB, {flavor['ram']} MiB) "
                               f"is too small for image {image['name']!r} (needs {image['min_disk']} "
                               f"GiB, {image['min_ram']} MiB)."]
    network_ids = {n["id"] for n in items["networks"]}
    missing = [n for n in request["network_ids"] if n not in network_ids]
    if missing:
        errors["network_ids"] = [f"No network {n!r} in this project." for n in missing]
    key_name = request.get("key_name")
    if key_name and key_name not in {k["name"] for k in items["keypairs"]}:
        errors["key_name"] = [f"No SSH keypair {key_name!r} in this project."]
    resolved = {"name": request["name"], "flavor_id": flavor["id"] if flavor else None,
                "image_id": request["image_id"], "network_ids": list(request["network_ids"]),
                "key_name": key_name, "metadata": dict(request.get("metadata") or {}),
                "availability_zone": request.get("availability_zone")}
    return resolved, errors


def nova_boot_request(job: Job) -> dict[str, Any]:
    """The body Nova's ``POST /servers`` gets for a create job, tagged with the job's id."""
    request = job.request
    server: dict[str, Any] = {
        "name": request["name"], "flavorRef": request["flavor_id"], "imageRef": request["image_id"],
        "networks": [{"uuid": n} for n in request["network_ids"]],
        "metadata": {**request["metadata"], JOB_TAG: job.id},
    }
    if request.get("key_name"):
        server["key_name"] = request["key_name"]
    if request.get("availability_zone"):
        server["availability_zone"] = request["availability_zone"]
    return server
