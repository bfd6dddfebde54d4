"""``POST /cloud/servers/{id}/actions``: stop, start, reboot, resize (and its confirm or revert)
or snapshot, as a queued job."""
from typing import cast

from aiohttp import web

from ...access.scope import WRITES
from ...core.records import ActionRequest
from ..appkeys import CALLER, SERVICES
from ..authorization import authorized_query
from ..json_body import accepted, json_object, loaded
from ..path_ids import server_id_of
from ..schemas import ActionAnswerSchema, ActionSchema, ProjectQuerySchema
from .server_writes import idempotency_key_of

_ACTION, _ANSWER = ActionSchema(), ActionAnswerSchema()
_PROJECT = ProjectQuerySchema()


async def act_on_server(request: web.Request) -> web.Response:
    """Validate the action against the server's state (409 if it does not allow it), queue it,
    answer 202 with the job; the server shows the action's task state from now on."""
    query = await authorized_query(request, _PROJECT, WRITES)
    server_id = server_id_of(request)
    body = await json_object(request)
    action = cast(ActionRequest, loaded(_ACTION, body, "The action"))
    outcome = await request.app[SERVICES].writer.act(query["project_id"], server_id, action,
                                                     idempotency_key_of(request), request[CALLER])
    return accepted(_ANSWER.dump({"id": outcome.server_id, "action": action["action"], "job": outcome}),
                    outcome.replayed)
