"""Operations endpoints, open without a token: liveness, readiness, metrics, OpenAPI."""
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from ..appkeys import ACCESS, HTTP_METRICS, METRICS_REGISTRY, OPENAPI, SERVICES

logger = logging.getLogger(__name__)
_RETRY_AFTER = {"Retry-After": "5"}


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when Redis answers, the clouds.yaml in force is the file as it is, and every trusted
    JWT issuer's keys were fetched at least once (a replica that could verify no JWT of an issuer
    takes no traffic; one with cached keys stays ready while the issuer is down); 503 otherwise."""
    jwts = request.app[ACCESS].jwts
    keyless = [keys.issuer.issuer for keys in jwts.issuers() if keys.fetched_at is None] if jwts else []
    if keyless:
        return web.json_response({"status": "unavailable", "reason": "no keys fetched yet from "
                                  f"{', '.join(keyless)}"}, status=503, headers=_RETRY_AFTER)
    directory = request.app[SERVICES].directory
    directory.reload_if_changed()
    if directory.rejection is not None:
        return web.json_response({"status": "unavailable", "reason": f"clouds.yaml rejected: "
                                  f"{directory.rejection}; the last good one is in force"},
                                 status=503, headers=_RETRY_AFTER)
    try:
        await request.app[SERVICES].redis.ping()
    except (RedisError, OSError) as error:
        logger.warning("not ready: Redis does not answer: %s", error)
        return web.json_response({"status": "unavailable", "redis": "unreachable"}, status=503,
                                 headers=_RETRY_AFTER)
    return web.json_response({"status": "ok", "redis": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition; the count of workers alive is read from Redis now."""
    try:
        request.app[HTTP_METRICS].workers_alive.set(await request.app[SERVICES].heartbeats.alive())
    except (RedisError, OSError) as error:
        logger.warning("workers alive not counted: Redis does not answer: %s", error)
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3 document, generated from the schemas that validate and shape."""
    return web.json_response(request.app[OPENAPI])
