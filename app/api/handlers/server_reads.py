"""``GET /cloud/servers`` (from the snapshot) and ``GET /cloud/servers/{id}`` (live from Nova)."""
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ...access.scope import LIVE_READS
from ...snapshot.codec import encode
from ..appkeys import CLOCK, HTTP_METRICS, SERVICES
from ..authorization import authorized_query
from ..listing_answers import listing_answer
from ..path_ids import server_id_of
from ..schemas import ProjectQuerySchema, ServerListQuerySchema, ServerSchema

_LIST_QUERY = ServerListQuerySchema()
_SHOW_QUERY = ProjectQuerySchema()
_SERVER = ServerSchema()


async def list_servers(request: web.Request) -> web.Response:
    """The project's servers from the snapshot, optionally filtered and paged."""
    query = await authorized_query(request, _LIST_QUERY)
    listing = await request.app[SERVICES].reader.listing(query["project_id"], "servers")
    if listing.stale:
        request.app[HTTP_METRICS].stale_answers.labels("servers").inc()
    status, name = query.get("status"), query.get("name")
    keep: Callable[[dict[str, Any]], bool] | None = None
    if status or name:
        def keep(server: dict[str, Any]) -> bool:
            return ((not status or server["status"].upper() == status.upper())
                    and (not name or name.lower() in server["name"].lower()))
    return listing_answer(request, listing, request.app[CLOCK](), keep=keep,
                          limit=query.get("limit"), marker=query.get("marker"))


async def show_server(request: web.Request) -> web.Response:
    """One server from a Nova read at most ``SHOW_FRESHNESS`` old (``Age`` says how old), shared
    by the shows of every replica; the snapshot's copy (marked stale) if Nova is unreachable."""
    query = await authorized_query(request, _SHOW_QUERY, LIVE_READS)
    view = await request.app[SERVICES].reader.live_server(query["project_id"], server_id_of(request))
    headers = {"Cache-Control": "private, no-cache"}
    if view.stale:
        request.app[HTTP_METRICS].stale_answers.labels("server").inc()
        headers["X-Snapshot-Stale"] = "true"
        if view.age is not None:
            headers["X-Snapshot-Age"] = str(int(view.age))
    else:  # how old the Nova read is: 0 when it was made for this request
        headers["Age"] = str(int(view.age or 0))
    return web.json_response(_SERVER.dump(view.server), headers=headers, dumps=encode)
