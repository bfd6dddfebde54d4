"""``GET /cloud/jobs/{id}``: where a create or delete stands."""
from aiohttp import web

from ..errors import NotFound
from ..snapshot.codec import encode
from .appkeys import SERVICES
from .authorization import authorized_query
from .schemas import JobSchema, ProjectQuerySchema

_PROJECT = ProjectQuerySchema()
_JOB = JobSchema()
MAX_JOB_ID = 64


async def show_job(request: web.Request) -> web.Response:
    """A job of the project; another project's job is a 404."""
    query = authorized_query(request, _PROJECT)
    job_id = request.match_info["job_id"]
    job = None
    if len(job_id) <= MAX_JOB_ID:
        job = await request.app[SERVICES].jobs.get(query["project_id"], job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist in project {query['project_id']}.")
    return web.json_response(_JOB.dump(job), dumps=encode)
