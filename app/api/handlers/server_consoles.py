"""``GET /cloud/servers/{id}/console-log`` and ``POST /cloud/servers/{id}/remote-console``, live
from Nova. A console's URL is a credential: answered once, never cached, logged or kept."""
from aiohttp import web

from ...access.scope import LIVE_READS, WRITES
from ..appkeys import SERVICES
from ..authorization import authorized_query
from ..json_body import json_object, loaded
from ..path_ids import server_id_of
from ..schemas import (
    ConsoleLogQuerySchema,
    ConsoleLogSchema,
    ProjectQuerySchema,
    RemoteConsoleAnswerSchema,
    RemoteConsoleSchema,
)

_LOG_QUERY, _LOG = ConsoleLogQuerySchema(), ConsoleLogSchema()
_PROJECT, _CONSOLE, _ANSWER = ProjectQuerySchema(), RemoteConsoleSchema(), RemoteConsoleAnswerSchema()
_NOT_KEPT = {"Cache-Control": "no-store"}


async def console_log(request: web.Request) -> web.Response:
    """The last ``lines`` lines of the server's console log, read from Nova now."""
    query = await authorized_query(request, _LOG_QUERY, LIVE_READS)
    output = await request.app[SERVICES].consoles.log(query["project_id"], server_id_of(request),
                                                      query["lines"])
    return web.json_response(_LOG.dump({"output": output}), headers=_NOT_KEPT)


async def remote_console(request: web.Request) -> web.Response:
    """A new remote console of the server (``201``); its URL is a credential."""
    query = await authorized_query(request, _PROJECT, WRITES)
    server_id = server_id_of(request)
    wanted = loaded(_CONSOLE, await json_object(request), "The request body")
    console = await request.app[SERVICES].consoles.remote(query["project_id"], server_id, wanted["protocol"])
    return web.json_response(_ANSWER.dump(console), status=201, headers=_NOT_KEPT)
