"""Typed application keys under which the emulator keeps its state."""
from aiohttp import web

from .cloud import Cloud
from .faults import FaultBook
from .requestlog import RequestLog

CLOUD = web.AppKey("cloud", Cloud)
FAULTS = web.AppKey("faults", FaultBook)
REQUEST_LOG = web.AppKey("request_log", RequestLog)
