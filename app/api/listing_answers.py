"""Answers served from the snapshot: ETag and 304, age and staleness, filters and paging."""
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..errors import InvalidRequest
from ..snapshot.codec import encode, etag_of
from ..snapshot.snapshot_store import Listing
from .appkeys import COMPRESSED_BODIES, DECODED_LISTS
from .compression import MIN_SIZE, accepts_gzip, gzip_etag

JSON = "application/json"
Item = dict[str, Any]


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` names this version, in either representation."""
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or bool({etag, gzip_etag(etag)} & candidates)


def listing_answer(request: web.Request, listing: Listing, now: float, *,
                   keep: Callable[[Item], bool] | None = None, limit: int | None = None,
                   marker: str | None = None, key: str = "id") -> web.Response:
    """The list as stored (one encoded body), or filtered and paged with an RFC 8288 next link."""
    body, etag, link = listing.body, listing.etag, None
    if keep is not None or limit is not None or marker is not None:
        items = [item for item in request.app[DECODED_LISTS].items(listing) if keep is None or keep(item)]
        items, next_marker = _page(items, limit, marker, key)
        body = encode(items).encode()
        etag = etag_of(body)
        if next_marker is not None:
            url = request.url.with_query({**request.query, "marker": next_marker})
            link = f'<{url.path_qs}>; rel="next"'
    compressed = len(body) >= MIN_SIZE and accepts_gzip(request)
    headers = {"ETag": gzip_etag(etag) if compressed else etag,
               "X-Snapshot-Age": str(int(listing.age(now))), "Cache-Control": "private, no-cache",
               "Vary": "Accept-Encoding"}
    if listing.stale:
        headers["X-Snapshot-Stale"] = "true"
    if link:
        headers["Link"] = link
    if _matches(request.headers.get("If-None-Match", ""), etag):
        return web.Response(status=304, headers=headers)
    if compressed:
        headers["Content-Encoding"] = "gzip"
        body = request.app[COMPRESSED_BODIES].get(headers["ETag"], body)
    return web.Response(body=body, content_type=JSON, charset="utf-8", headers=headers)


def _page(items: list[Item], limit: int | None, marker: str | None,
          key: str) -> tuple[list[Item], str | None]:
    start = 0
    if marker is not None:
        positions = [i for i, item in enumerate(items) if item.get(key) == marker]
        if not positions:
            raise InvalidRequest("The marker is not in this list.", {"marker": ["Unknown marker."]})
        start = positions[0] + 1
    if limit is None:
        return items[start:], None
    chosen = items[start:start + limit]
    more = start + limit < len(items)
    return chosen, (chosen[-1][key] if more and chosen else None)
