"""``POST /cloud/volumes`` and ``DELETE /cloud/volumes/{id}``: queued jobs."""
from aiohttp import web

from ...access.scope import WRITES
from ..appkeys import CALLER, SERVICES
from ..authorization import authorized_query
from ..json_body import accepted, authorized_body, loaded
from ..path_ids import volume_id_of
from ..schemas import ProjectQuerySchema, VolumeCreateAnswerSchema, VolumeCreateSchema, job_href
from .server_writes import idempotency_key_of

_CREATE, _ANSWER, _PROJECT = VolumeCreateSchema(), VolumeCreateAnswerSchema(), ProjectQuerySchema()


async def create_volume(request: web.Request) -> web.Response:
    """Check, queue a volume create job, answer 202 with the volume's id once Cinder has given it."""
    project_id, body = await authorized_body(request, WRITES)
    key = idempotency_key_of(request)
    volume = loaded(_CREATE, body, "The request body")
    volume.pop("project_id")
    outcome = await request.app[SERVICES].writer.create_volume(project_id, volume, key, request[CALLER])
    return accepted(_ANSWER.dump(outcome), outcome.replayed)


async def delete_volume(request: web.Request) -> web.Response:
    """Queue a volume delete job; 204 (again while it is being deleted); 404 if Cinder does not
    have it; 409 while it is attached. ``Link: <job>; rel="monitor"`` names the job."""
    query = await authorized_query(request, _PROJECT, WRITES)
    project_id = query["project_id"]
    job_id = await request.app[SERVICES].writer.delete_volume(project_id, volume_id_of(request),
                                                              request[CALLER])
    return web.Response(status=204, headers={"Link": f'<{job_href(project_id, job_id)}>; rel="monitor"'})
