"""``GET /cloud/flavors``, ``/images``, ``/networks``, ``/ssh-keypairs``, ``/security-groups``,
``/volumes``: lists from the snapshot."""
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..appkeys import CLOCK, HTTP_METRICS, SERVICES
from ..authorization import authorized_query
from ..listing_answers import listing_answer
from ..schemas import ProjectQuerySchema

_QUERY = ProjectQuerySchema()


def resource_list_handler(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler answering one kind of supporting resource."""

    async def list_resources(request: web.Request) -> web.Response:
        query = await authorized_query(request, _QUERY)
        listing = await request.app[SERVICES].reader.listing(query["project_id"], kind)
        if listing.stale:
            request.app[HTTP_METRICS].stale_answers.labels(kind).inc()
        return listing_answer(request, listing, request.app[CLOCK]())

    list_resources.__doc__ = f"The project's {kind} from the snapshot."
    return list_resources
