"""``GET /cloud/servers`` (from the snapshot) and ``GET /cloud/servers/{id}`` (live from Nova)."""
import time

from aiohttp import web

from ..schemas import ProjectQuerySchema, ServerListQuerySchema
from ..snapshot import encode
from .access import authorized_query
from .keys import HTTP_METRICS, READER
from .snapshot_answers import JSON, listing_answer

_LIST_QUERY = ServerListQuerySchema()
_SHOW_QUERY = ProjectQuerySchema()


async def list_servers(request: web.Request) -> web.Response:
    """The project's servers from the snapshot, optionally filtered and paged."""
    query = authorized_query(request, _LIST_QUERY)
    listing = await request.app[READER].listing(query["project_id"], "servers")
    if listing.stale:
        request.app[HTTP_METRICS].stale_answers.labels("servers").inc()
    status, name = query.get("status"), query.get("name")
    keep = None
    if status or name:
        def keep(server: dict) -> bool:
            return ((not status or server["status"].upper() == status.upper())
                    and (not name or name.lower() in server["name"].lower()))
    return listing_answer(request, listing, time.time(), keep=keep, limit=query.get("limit"),
                          marker=query.get("marker"))


async def show_server(request: web.Request) -> web.Response:
    """One server, live from Nova; the snapshot's copy (marked stale) if Nova is unreachable."""
    query = authorized_query(request, _SHOW_QUERY)
    view = await request.app[READER].live_server(query["project_id"], request.match_info["server_id"])
    headers = {"Cache-Control": "private, no-cache"}
    if view.stale:
        request.app[HTTP_METRICS].stale_answers.labels("server").inc()
        headers["X-Snapshot-Stale"] = "true"
        if view.age is not None:
            headers["X-Snapshot-Age"] = str(int(view.age))
    return web.Response(text=encode(view.server), content_type=JSON, charset="utf-8",
                        headers=headers)
