"""gzip for clients that accept it: a stored list is compressed once per version (its ETag) and
kept in a small per-process cache; other answers above a small size are compressed as sent."""
import functools
import gzip
from collections import OrderedDict

from aiohttp import web

MIN_SIZE = 1024  # bytes: smaller answers are not worth the CPU
CACHED_BODIES = 256  # compressed list versions kept per process
LEVEL = 6


def accepts_gzip(request: web.BaseRequest) -> bool:
    """Whether the client takes gzip (``Accept-Encoding: gzip``, not refused with ``q=0``)."""
    return _takes_gzip(request.headers.get("Accept-Encoding", ""))


@functools.lru_cache(maxsize=64)  # clients send a handful of distinct values
def _takes_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.lower().split(","):
        name, _, parameters = coding.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return parameters.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzip_etag(etag: str) -> str:
    """The ETag of the gzip representation (a representation of its own, RFC 9110 8.8.3)."""
    return etag[:-1] + '-gzip"' if etag.endswith('"') else etag + "-gzip"


class CompressedBodies:
    """gzip of list bodies, by their ETag: each version is compressed once per process."""

    def __init__(self, size: int = CACHED_BODIES) -> None:
        self._size = size
        self._bodies: OrderedDict[str, bytes] = OrderedDict()

    def get(self, etag: str, body: bytes) -> bytes:
        """``body`` gzipped, from the cache when this version was compressed before."""
        compressed = self._bodies.get(etag)
        if compressed is None:
            compressed = gzip.compress(body, LEVEL, mtime=0)
            self._bodies[etag] = compressed
            if len(self._bodies) > self._size:
                self._bodies.popitem(last=False)
        else:
            self._bodies.move_to_end(etag)
        return compressed


def compress_for(request: web.Request, response: web.StreamResponse) -> None:
    """gzip a plain answer above ``MIN_SIZE`` for a client that takes it (lists come compressed
    already; event streams are never compressed)."""
    vary = response.headers.get("Vary", "")
    if "Accept-Encoding" in vary:  # the answer was made for this client's encoding (a list)
        return
    if (isinstance(response, web.Response) and "Content-Encoding" not in response.headers
            and response.body is not None and isinstance(response.body, bytes | bytearray)
            and len(response.body) >= MIN_SIZE and response.content_type != "text/event-stream"):
        response.headers.add("Vary", "Accept-Encoding")
        if accepts_gzip(request):
            response.enable_compression(web.ContentCoding.gzip)
