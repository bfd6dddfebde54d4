"""Typed application keys: everything the handlers reach through ``request.app``."""
import asyncio
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..access.scope import ProjectAccess
from ..core.times import Clock
from ..events.feed import EventFeed
from ..process.settings import Settings
from .access_log import AccessLog
from .compression import CompressedBodies
from .decoded_lists import DecodedLists
from .edge_services import ApiServices
from .http_metrics import HttpMetrics

SETTINGS = web.AppKey("settings", Settings)
BODY_READERS = web.AppKey("body_readers", asyncio.Semaphore)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
SERVICES: web.AppKey[ApiServices] = web.AppKey("services")
ACCESS = web.AppKey("access", ProjectAccess)
ACCESS_LOG = web.AppKey("access_log", AccessLog)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
HTTP_METRICS = web.AppKey("http_metrics", HttpMetrics)
OPENAPI = web.AppKey("openapi", dict[str, Any])
EVENT_FEED = web.AppKey("event_feed", EventFeed)
COMPRESSED_BODIES = web.AppKey("compressed_bodies", CompressedBodies)
DECODED_LISTS = web.AppKey("decoded_lists", DecodedLists)
CALLER = web.RequestKey("caller", str)  # the token's name, for the access log (never the token)
# The role each operation needs, by (method, path) as the router matched it (the route table's).
ROLES: web.AppKey[dict[tuple[str, str], str]] = web.AppKey("roles")
