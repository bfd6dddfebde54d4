"""Cinder v3: version discovery, the project's volumes (list, detail, show, create blank or from
an image, delete), volume types and limits, with Cinder's statuses, error JSON and texts."""
from typing import Any

from aiohttp import web

from .api_errors import ApiError
from .clock import isotime, parse_isotime
from .cloud_records import Volume
from .service import public, service_app
from .state_keys import CLOUD

MICROVERSIONS = ("3.0", "3.70")
VOLUME_TYPES = ("__DEFAULT__", "ssd")


def render_error(error: ApiError) -> web.Response:
    """Cinder's error document: ``{"itemNotFound": {"code", "message"}}`` and the like."""
    kind = error.kind or {400: "badRequest", 403: "forbidden", 404: "itemNotFound",
                          413: "overLimit", 429: "overLimit"}.get(error.status, "computeFault")
    return web.json_response({kind: {"code": error.status, "message": error.message}},
                             status=error.status, headers=error.headers)


def create_app() -> web.Application:
    """The Cinder sub-application, mounted at ``/volume``."""
    app = service_app("volume", render_error)
    app.router.add_get("/", versions)
    app.router.add_get("/v3/", version)
    app.router.add_get("/v3/{project_id}/volumes", list_volumes)
    app.router.add_get("/v3/{project_id}/volumes/detail", list_volumes)
    app.router.add_get("/v3/{project_id}/volumes/{volume_id}", show_volume)
    app.router.add_post("/v3/{project_id}/volumes", create_volume)
    app.router.add_delete("/v3/{project_id}/volumes/{volume_id}", delete_volume)
    app.router.add_get("/v3/{project_id}/types", list_types)
    app.router.add_get("/v3/{project_id}/limits", show_limits)
    return app


def _version_entry(request: web.Request) -> dict[str, Any]:
    low, high = MICROVERSIONS
    return {"id": "v3.0", "status": "CURRENT", "version": high, "min_version": low,
            "updated": "2023-07-17T00:00:00Z",
            "links": [{"rel": "self", "href": f"{request.url.origin()}/volume/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


@public
async def versions(request: web.Request) -> web.Response:
    """``GET /volume/``: Cinder answers its versions with 300 Multiple Choices."""
    return web.json_response({"versions": [_version_entry(request)]}, status=300)


@public
async def version(request: web.Request) -> web.Response:
    """``GET /volume/v3/``: the v3 version document."""
    return web.json_response({"versions": [_version_entry(request)]})


def volume_body(volume: Volume, origin: str) -> dict[str, Any]:
    """Cinder's volume document (the detailed form)."""
    attachments = [] if volume.server_id is None else [{
        "id": volume.id, "attachment_id": volume.id[::-1], "volume_id": volume.id,
        "server_id": volume.server_id, "host_name": None, "device": "/dev/vda",
        "attached_at": isotime(volume.created_at)}]
    body: dict[str, Any] = {
        "id": volume.id, "name": volume.name, "size": volume.size, "status": volume.status,
        "bootable": "true" if volume.bootable else "false", "attachments": attachments,
        "volume_type": volume.volume_type, "availability_zone": "nova",
        "description": volume.description, "created_at": isotime(volume.created_at),
        "updated_at": isotime(max(volume.updated_at, volume.created_at)),
        "metadata": dict(volume.metadata), "multiattach": False, "encrypted": False, "snapshot_id": None,
        "source_volid": None, "replication_status": None, "consistencygroup_id": None,
        "os-vol-tenant-attr:tenant_id": volume.project_id, "user_id": None,
        "links": [{"rel": "self", "href": f"{origin}/volume/v3/{volume.project_id}/volumes/{volume.id}"}],
    }
    if volume.image_id:
        body["volume_image_metadata"] = {"image_id": volume.image_id}
    return body


_TIME_FILTERS = {"gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__,
                 "eq": float.__eq__, "neq": float.__ne__}


def _volume_microversion(request: web.Request) -> tuple[int, int]:
    """The volume API microversion asked for (``OpenStack-API-Version: volume 3.60``; 3.0 if none)."""
    asked = request.headers.get("OpenStack-API-Version", "")
    _, _, version = asked.partition("volume ")
    major, _, minor = version.strip().partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (3, 0)


def _passes_time_filters(request: web.Request, volume: Volume) -> bool:
    """Cinder's ``created_at``/``updated_at`` filters (``gte:<time>`` and the like), from 3.60;
    before it, Cinder refuses them (400)."""
    for name in ("created_at", "updated_at"):
        wanted = request.query.get(name)
        if wanted is None:
            continue
        if _volume_microversion(request) < (3, 60):
            raise ApiError(400, f"Invalid filter keys: {name}")
        operator, _, moment = wanted.partition(":")
        if operator not in _TIME_FILTERS:
            raise ApiError(400, f"Invalid input received: Invalid filter: {wanted}")
        value = volume.created_at if name == "created_at" else max(volume.updated_at, volume.created_at)
        if not _TIME_FILTERS[operator](float(int(value)), parse_isotime(moment)):
            return False
    return True


def _own_project(request: web.Request) -> str:
    """The URL's project, which must be the token's (Cinder's policy answers 403 otherwise)."""
    if request.match_info["project_id"] != request["project_id"]:
        raise ApiError(403, "Policy doesn't allow volume:get_all to be performed.")
    return request["project_id"]


async def list_volumes(request: web.Request) -> web.Response:
    """``GET /v3/{project}/volumes[/detail]``: the project's volumes, newest first."""
    project_id = _own_project(request)
    cloud = request.config_dict[CLOUD]
    volumes = sorted((v for v in cloud.settled_volumes(project_id) if _passes_time_filters(request, v)),
                     key=lambda v: v.created_at, reverse=True)
    bodies = [volume_body(v, str(request.url.origin())) for v in volumes]
    if not request.path.endswith("/detail"):
        bodies = [{"id": b["id"], "name": b["name"], "links": b["links"]} for b in bodies]
    return web.json_response({"volumes": bodies})


async def show_volume(request: web.Request) -> web.Response:
    """``GET /v3/{project}/volumes/{id}``."""
    return web.json_response({"volume": volume_body(_volume(request), str(request.url.origin()))})


def _volume(request: web.Request) -> Volume:
    """The URL's volume of the project, settled to now; Cinder's 404 if there is none."""
    project_id = _own_project(request)
    volume_id = request.match_info["volume_id"]
    volume = next((v for v in request.config_dict[CLOUD].settled_volumes(project_id) if v.id == volume_id),
                  None)
    if volume is None:
        raise ApiError(404, f"Volume {volume_id} could not be found.")
    return volume


async def create_volume(request: web.Request) -> web.Response:
    """``POST /v3/{project}/volumes``: a blank volume or one made from an image, ``creating``
    and then ``available``; Cinder's 400 for a bad size, type or image, 413 past the quota."""
    cloud, project_id = request.config_dict[CLOUD], _own_project(request)
    try:
        wanted = (await request.json())["volume"]
        size = int(wanted["size"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Invalid input received: 'size' is a required property") from None
    if size < 1:
        raise ApiError(400, f"Invalid input received: Invalid input for field/attribute size. Value: {size}.")
    volume_type = wanted.get("volume_type") or VOLUME_TYPES[0]
    if volume_type not in VOLUME_TYPES:
        raise ApiError(404, f"Volume type with name {volume_type} could not be found.")
    image_id = wanted.get("imageRef")
    if image_id is not None:
        image = cloud.images.get(image_id)
        if image is None or not image.visible_to(project_id):
            raise ApiError(400, "Invalid image identifier or unable to access requested image.")
    project = cloud.projects[project_id]
    used = cloud.used_gigabytes(project_id)
    if used + size > project.quota_volume_gb:
        raise ApiError(413, f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds "
                            f"allowed gigabytes quota. Requested {size}G, quota is "
                            f"{project.quota_volume_gb}G and {used}G has been consumed.")
    now = cloud.clock.now()
    volume = Volume(cloud.new_uuid(), project_id, wanted.get("name") or "", size, now, status="creating",
                    bootable=image_id is not None, image_id=image_id, volume_type=volume_type,
                    description=wanted.get("description"), metadata=dict(wanted.get("metadata") or {}),
                    updated_at=now, ready_at=now + cloud.config.action_delay)
    cloud.volumes[volume.id] = volume
    return web.json_response({"volume": volume_body(volume, str(request.url.origin()))}, status=202)


async def delete_volume(request: web.Request) -> web.Response:
    """``DELETE /v3/{project}/volumes/{id}``: ``deleting``, then gone; Cinder's 400 for a volume
    attached or not in a state it deletes from."""
    cloud, volume = request.config_dict[CLOUD], _volume(request)
    if volume.status not in ("available", "error", "error_restoring", "error_extending") or volume.server_id:
        raise ApiError(400, "Invalid volume: Volume status must be available or error or error_restoring "
                            "or error_extending or error_managing and must not be migrating, attached, "
                            "belong to a group, have snapshots, awaiting a transfer, or be disassociated "
                            "from snapshots after volume transfer.")
    now = cloud.clock.now()
    volume.status, volume.updated_at, volume.gone_at = "deleting", now, now + cloud.config.delete_delay
    return web.Response(status=202)


async def list_types(request: web.Request) -> web.Response:
    """``GET /v3/{project}/types``: the volume types."""
    _own_project(request)
    return web.json_response({"volume_types": [
        {"id": name, "name": name, "description": None, "is_public": True, "extra_specs": {}}
        for name in VOLUME_TYPES]})


async def show_limits(request: web.Request) -> web.Response:
    """``GET /v3/{project}/limits``: the project's volume quota and what it uses."""
    cloud = request.config_dict[CLOUD]
    project = cloud.projects[_own_project(request)]
    volumes = cloud.volumes.group(project.id)
    return web.json_response({"limits": {"rate": [], "absolute": {
        "maxTotalVolumeGigabytes": project.quota_volume_gb, "maxTotalVolumes": -1,
        "maxTotalSnapshots": 10, "maxTotalBackups": 10, "maxTotalBackupGigabytes": 1000,
        "totalGigabytesUsed": cloud.used_gigabytes(project.id), "totalVolumesUsed": len(volumes),
        "totalSnapshotsUsed": 0, "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}}})
