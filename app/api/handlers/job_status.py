"""``GET /cloud/jobs/{id}`` and ``GET /cloud/jobs?server_id=``: where jobs stand."""
from aiohttp import web

from ...core.errors import NotFound
from ...snapshot.codec import encode
from ..appkeys import SERVICES
from ..authorization import authorized_query
from ..path_ids import job_id_of
from ..schemas import JobListQuerySchema, JobSchema, ProjectQuerySchema

_PROJECT = ProjectQuerySchema()
_LIST_QUERY = JobListQuerySchema()
_JOB = JobSchema()
_JOBS = JobSchema(many=True)


async def list_jobs(request: web.Request) -> web.Response:
    """A server's latest jobs, newest first (an empty list for a server with none kept)."""
    query = await authorized_query(request, _LIST_QUERY)
    jobs = await request.app[SERVICES].jobs.of_server(query["project_id"], query["server_id"])
    return web.json_response(_JOBS.dump(jobs), dumps=encode)


async def show_job(request: web.Request) -> web.Response:
    """A job of the project; another project's job is a 404."""
    query = await authorized_query(request, _PROJECT)
    job_id = job_id_of(request)
    job = await request.app[SERVICES].jobs.get(query["project_id"], job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist in project {query['project_id']}.")
    return web.json_response(_JOB.dump(job), dumps=encode)
