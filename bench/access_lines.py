"""What one access line costs the event loop, before and after the lean path: through
``logging`` (a ``LogRecord``, the JSON formatter and a synchronous write, as the API did) against
``AccessLog.write`` (the line built once into a buffer; the write happens later, off the loop)."""
import io
import logging
import time

from app.api.access_log import AccessLog
from app.core.logs import JsonFormatter

LINES = 20_000
FIELDS = {"method": "GET", "route": "/cloud/servers", "path": "/cloud/servers", "status": 200,
          "duration_ms": 0.4, "caller": "bench"}


def measure_access_lines() -> dict[str, float]:
    """Microseconds of the event loop's time per access line, each way."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bench.access-before")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    began = time.perf_counter()
    for _ in range(LINES):
        logger.info("%s %s %d %.1f ms", "GET", "/cloud/servers", 200, 0.4, extra={"fields": FIELDS})
    before = time.perf_counter() - began
    access = AccessLog()
    logging.getLogger("app.access").setLevel(logging.INFO)
    began = time.perf_counter()
    for _ in range(LINES):
        access.write(*FIELDS.values())
    after = time.perf_counter() - began
    return {"logging_us": before / LINES * 1e6, "lean_us": after / LINES * 1e6}
