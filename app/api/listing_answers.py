"""Answers served from the snapshot: ETag and 304, age and staleness, filters and paging."""
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from ..core.errors import InvalidRequest
from ..snapshot.codec import etag_of
from ..snapshot.snapshot_store import Listing
from .appkeys import COMPRESSED_BODIES, DECODED_LISTS
from .compression import MIN_SIZE, accepts_gzip, gzip_etag

JSON_UTF8 = "application/json; charset=utf-8"
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
        decoded = request.app[DECODED_LISTS].decoded(listing)
        kept: Sequence[int] = (range(len(decoded.items)) if keep is None
                               else [i for i, item in enumerate(decoded.items) if keep(item)])
        positions, next_marker = _page(decoded.items, kept, limit, marker, key)
        body = decoded.body(positions)
        etag = etag_of(body)
        if next_marker is not None:
            url = request.url.with_query({**request.query, "marker": next_marker})
            link = f'<{url.path_qs}>; rel="next"'
    compressed = len(body) >= MIN_SIZE and accepts_gzip(request)
    headers = {"Content-Type": JSON_UTF8, "ETag": gzip_etag(etag) if compressed else etag,
               "X-Snapshot-Age": str(int(listing.age(now))), "Cache-Control": "private, no-cache",
               "Vary": "Accept-Encoding"}
    if listing.stale:
        headers["X-Snapshot-Stale"] = "true"
    if link:
        headers["Link"] = link
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _matches(if_none_match, etag):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    if compressed:
        headers["Content-Encoding"] = "gzip"
        body = request.app[COMPRESSED_BODIES].get(headers["ETag"], body)
    return web.Response(body=body, headers=headers)


def _page(items: list[Item], kept: Sequence[int], limit: int | None, marker: str | None,
          key: str) -> tuple[Sequence[int], str | None]:
    """The positions (in ``items``) of the page of the ``kept`` ones after ``marker``, and the
    next page's marker."""
    start = 0
    if marker is not None:
        after = next((n for n, i in enumerate(kept) if items[i].get(key) == marker), None)
        if after is None:
            raise InvalidRequest("The marker is not in this list.", {"marker": ["Unknown marker."]})
        start = after + 1
    if limit is None:
        return kept[start:], None
    chosen = kept[start:start + limit]
    more = start + limit < len(kept)
    return chosen, (items[chosen[-1]][key] if more and chosen else None)
