"""Ids in paths: UUIDs only, so nothing else ever reaches a store or OpenStack."""
from aiohttp import web

from ..core.errors import NotFound
from ..core.logs import server_id_var
from ..core.project_ids import parse_uuid


def server_id_of(request: web.Request) -> str:
    """The path's server id in Nova's form (dashed, lowercase); 404 if it is no UUID."""
    parsed = parse_uuid(request.match_info["server_id"])
    if parsed is None:
        raise NotFound("No such server: server ids are UUIDs.")
    server_id_var.set(str(parsed))
    return str(parsed)


def volume_id_of(request: web.Request) -> str:
    """The path's volume id in Cinder's form (dashed, lowercase); 404 if it is no UUID."""
    parsed = parse_uuid(request.match_info["volume_id"])
    if parsed is None:
        raise NotFound("No such volume: volume ids are UUIDs.")
    return str(parsed)


def job_id_of(request: web.Request) -> str:
    """The path's job id in its stored form (32 hex digits); 404 if it is no UUID."""
    parsed = parse_uuid(request.match_info["job_id"])
    if parsed is None:
        raise NotFound("No such job: job ids are UUIDs.")
    return parsed.hex


def webhook_id_of(request: web.Request) -> str:
    """The path's webhook id (32 hex digits); 404 if it is no UUID."""
    parsed = parse_uuid(request.match_info["webhook_id"])
    if parsed is None:
        raise NotFound("No such webhook: webhook ids are UUIDs.")
    return parsed.hex


def delivery_id_of(request: web.Request) -> str:
    """The path's delivery id (32 hex digits); 404 if it is no UUID."""
    parsed = parse_uuid(request.match_info["delivery_id"])
    if parsed is None:
        raise NotFound("No such delivery: delivery ids are UUIDs.")
    return parsed.hex
