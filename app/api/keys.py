"""Typed application keys: everything the handlers reach through ``request.app``."""
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ..jobs import JobStore
from ..openstack.clouds import CloudDirectory
from ..reads import ProjectReader
from ..settings import Settings
from ..tokens import TokenRegistry
from ..writes import ServerWriter
from .metrics import HttpMetrics

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
DIRECTORY = web.AppKey("cloud_directory", CloudDirectory)
READER = web.AppKey("reader", ProjectReader)
WRITER = web.AppKey("writer", ServerWriter)
JOB_STORE = web.AppKey("job_store", JobStore)
TOKENS = web.AppKey("tokens", TokenRegistry)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
HTTP_METRICS = web.AppKey("http_metrics", HttpMetrics)
OPENAPI = web.AppKey("openapi", dict[str, Any])
