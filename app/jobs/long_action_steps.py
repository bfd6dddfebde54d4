"""The steps of the long actions: a resize (then its confirm, unless asked not to), a confirm or
revert of one, and a snapshot to an image. The executor runs them with its retries
(``execution.py``); each looks at Nova (or Glance) before asking again on a retry."""
from dataclasses import dataclass

from ..openstack.gateway import OpenStackGateway
from ..openstack.translation import action_body, is_partial
from ..snapshot.snapshot_store import SnapshotStore
from .actions import RESIZE, SNAPSHOT
from .job import Job, JobFailure
from .job_store import JobStore
from .long_actions import RESIZING, fault_of, idle, image_settled, on_flavor, resize_over, resize_settled
from .marks import ServerMarks
from .server_watch import EndAction, ServerWatch, Succeed, refusal_fails, server_of


@dataclass(frozen=True)
class LongActionSteps:
    """What a resize, a confirm or revert, or a snapshot job does, step by step."""

    gateway: OpenStackGateway
    snapshot: SnapshotStore
    jobs: JobStore
    marks: ServerMarks
    watch: ServerWatch
    succeed: Succeed  # the executor's: the job's success recorded and announced
    end_action: EndAction  # the executor's: the mark cleared, the server written through, success

    async def run(self, job: Job) -> Job:
        """The job's long action, to its end."""
        action = job.action()
        if action["action"] == SNAPSHOT:
            return await self._snapshot_server(job, action["image_name"])
        if action["action"] == RESIZE:
            return await self._resize(job)
        record = await self.watch.record(job)  # a confirm or a revert
        if not (job.attempts > 1 and record.get("status") != "VERIFY_RESIZE"):
            await self.watch.ask(job, action_body(action))
        return await self.end_action(job, await self.watch.watch_server(
            job, resize_over, self.watch.stuck(job), lambda: self.watch.ended(job)))

    async def _resize(self, job: Job) -> Job:
        """Resize (a cloud may confirm it itself), then confirm unless asked not to."""
        server_id, action = server_of(job), job.action()
        ended = lambda: self.watch.ended(job)  # noqa: E731 - a closure the watches share
        record = await self.watch.record(job)
        flavor_ids = await self.snapshot.flavor_ids(job.project_id)
        if not (job.attempts > 1 and (record.get("status") in (*RESIZING, "VERIFY_RESIZE")
                                      or on_flavor(record, action["flavor_id"], flavor_ids))):
            await self.watch.ask(job, action_body(action))
        final = await self.watch.watch_server(job, resize_settled(action["flavor_id"], flavor_ids),
                                               self.watch.stuck(job), ended)
        if final is not None and final.get("status") == "ERROR":
            raise JobFailure(f"Server {server_id} ended in ERROR: {fault_of(final)}.")
        if final is not None and final.get("status") != "VERIFY_RESIZE" and not on_flavor(
                final, action["flavor_id"], flavor_ids):
            raise JobFailure(f"Nova did not resize server {server_id}: {fault_of(final)}.")
        if final is not None and final.get("status") == "VERIFY_RESIZE" and action.get("confirm", True):
            await self._confirm(job)
            final = await self.watch.watch_server(job, resize_over,
                                                   self.watch.stuck(job, "resize's confirm"), ended)
        return await self.end_action(job, final)

    async def _confirm(self, job: Job) -> None:
        """Confirm a resize; a 409 because the cloud confirmed it meanwhile is no failure."""
        try:
            await self.watch.ask(job, {"confirmResize": None})
        except JobFailure:
            record = await self.gateway.get_server(job.project_id, server_of(job))
            if record.get("status") == "VERIFY_RESIZE":
                raise

    async def _snapshot_server(self, job: Job, name: str) -> Job:
        """Snapshot the server to an image, shown in the images list at once; done when Glance
        has it ``active``. The image's id is the job's ``result`` from the moment Nova gives it,
        and a retry finds an image an earlier attempt asked for before asking again."""
        server_id, project_id = server_of(job), job.project_id
        image_id = (job.result or {}).get("image_id")
        if image_id is None and job.attempts > 1:
            found = await self.gateway.find_snapshot(project_id, server_id, name)
            image_id = found["id"] if found else None
        if image_id is None:
            image_id = await refusal_fails(self.gateway.create_image(project_id, server_id, name))
        ended = lambda: self.watch.ended(job)  # noqa: E731 - a closure the watches share
        image = await self.watch.watch(job, lambda: self.gateway.get_image(project_id, image_id),
                                        lambda seen: True, self.watch.stuck(job), ended)
        if image is not None:  # listed before the job names it: a client that sees it finds it
            await self.snapshot.put_resource(project_id, "images", image, image["id"])
        if job.result is None:
            job = await self.jobs.update(job, result={"image_id": image_id})
        image = await self.watch.watch(job, lambda: self.gateway.get_image(project_id, image_id),
                                        image_settled, f"Image {image_id} was not active after "
                                        f"{self.watch.build_timeout:.0f} s.", ended)
        if image is None or image["status"] != "active":
            raise JobFailure(f"Image {image_id} of server {server_id} ended "
                             f"{image['status'] if image else 'deleted'}.")
        await self.snapshot.put_resource(project_id, "images", image, image["id"])
        final = await self.watch.watch_server(job, lambda r: r is None or (not is_partial(r) and idle(r)),
                                               self.watch.stuck(job), ended)
        if final is None:  # the image is made; the server went meanwhile
            await self.marks.clear_action(project_id, server_id, job.id)
            return await self.succeed(job, None)
        return await self.end_action(job, final)
