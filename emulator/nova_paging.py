"""Nova's collection pages: ``limit``/``marker`` and the ``<collection>_links`` "next" link."""
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from .paging import page, parse_limit
from .state_keys import CLOUD

Item = TypeVar("Item")


def compute_base(request: web.Request) -> str:
    """The compute endpoint's root, which Nova's links are built from."""
    return f"{request.url.origin()}/compute"


def next_link(request: web.Request, marker: str) -> str:
    """The request's own URL with ``marker`` replaced, as Nova builds its next links."""
    query = dict(request.query)
    query["marker"] = marker
    return str(request.url.with_query(query))


def paged_response(request: web.Request, collection: str, items: Sequence[Item],
                   key: Callable[[Item], str],
                   render: Callable[[Item], dict[str, Any]]) -> web.Response:
    """A Nova collection page, with a "next" link whenever the page is full."""
    max_limit = request.config_dict[CLOUD].config.max_limit
    limit = parse_limit(request.query.get("limit"), max_limit, max_limit)
    chosen, full = page(items, request.query.get("marker"), limit, key)
    body: dict[str, Any] = {collection: [render(item) for item in chosen]}
    if full and chosen:
        body[f"{collection}_links"] = [{"rel": "next", "href": next_link(request, key(chosen[-1]))}]
    return web.json_response(body)
