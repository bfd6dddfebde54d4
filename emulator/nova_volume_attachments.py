"""Nova's ``/servers/{id}/os-volume_attachments``: attach a Cinder volume (``attaching``, then
``in-use``) and detach it (``detaching``, then ``available``), with Nova's refusals."""
from collections.abc import Callable

from aiohttp import web

from .api_errors import ApiError
from .cloud_records import Server, VolumeAttachment
from .state_keys import CLOUD

_ATTACHABLE = ("active", "paused", "stopped", "suspended")  # vm_states Nova attaches in


def add_routes(router: web.UrlDispatcher, server_of: Callable[[web.Request], Server]) -> None:
    """Register the routes; ``server_of(request)`` is the project's server or Nova's 404."""
    async def attach(request: web.Request) -> web.Response:
        return await attach_volume(request, server_of(request))

    async def listed(request: web.Request) -> web.Response:
        server = server_of(request)
        return web.json_response({"volumeAttachments": [_attachment(server, a.id) for a in server.volumes]})

    async def detach(request: web.Request) -> web.Response:
        return await detach_volume(request, server_of(request))

    router.add_post("/v2.1/servers/{server_id}/os-volume_attachments", attach)
    router.add_get("/v2.1/servers/{server_id}/os-volume_attachments", listed)
    router.add_delete("/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}", detach)


def _attachment(server: Server, volume_id: str) -> dict[str, object]:
    index = next((n for n, a in enumerate(server.volumes) if a.id == volume_id), 0)
    return {"id": volume_id, "serverId": server.id, "volumeId": volume_id, "tag": None,
            "device": f"/dev/vd{chr(ord('a') + index)}", "delete_on_termination": False}


async def attach_volume(request: web.Request, server: Server) -> web.Response:
    """``POST …/os-volume_attachments`` ``{"volumeAttachment": {"volumeId"}}``: 200 with the
    attachment; Nova's 400 for a volume not ``available``, 409 for a server it will not change."""
    cloud = request.config_dict[CLOUD]
    try:
        volume_id = (await request.json())["volumeAttachment"]["volumeId"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Invalid input for field/attribute volumeAttachment. 'volumeId' is a "
                            "required property") from None
    volume = next((v for v in cloud.settled_volumes(server.project_id) if v.id == volume_id), None)
    if volume is None:
        raise ApiError(404, f"Volume {volume_id} could not be found.")
    if server.task_state is not None or server.vm_state not in _ATTACHABLE:
        state = f"task_state {server.task_state}" if server.task_state else f"vm_state {server.vm_state}"
        raise ApiError(409, f"Cannot 'attach_volume' instance {server.id} while it is in {state}")
    if volume.status != "available":
        raise ApiError(400, f"Invalid volume: volume {volume_id} status must be available, but current "
                            f"status is: {volume.status}.")
    now = cloud.clock.now()
    volume.status, volume.updated_at, volume.attach_at = "attaching", now, now + cloud.config.action_delay
    volume.attaching_to = server.id
    server.volumes.append(VolumeAttachment(volume.id, False))
    server.updated_at = now
    return web.json_response({"volumeAttachment": _attachment(server, volume.id)})


async def detach_volume(request: web.Request, server: Server) -> web.Response:
    """``DELETE …/os-volume_attachments/{volume_id}``: 202; Nova's 404 for a volume not attached
    to the server, 400 for its root volume."""
    cloud, volume_id = request.config_dict[CLOUD], request.match_info["volume_id"]
    if not any(a.id == volume_id for a in server.volumes):
        raise ApiError(404, f"Volume {volume_id} is not attached to the server.")
    if server.volumes[0].id == volume_id and not server.image_id:
        raise ApiError(400, "Cannot detach a root device volume")
    volume = next(v for v in cloud.settled_volumes(server.project_id) if v.id == volume_id)
    if volume.status != "in-use":
        raise ApiError(400, "Invalid volume: Unable to detach volume. Volume status must be 'in-use' "
                            "and attach_status must be 'attached' to detach.")
    now = cloud.clock.now()
    volume.status, volume.updated_at, volume.detach_at = "detaching", now, now + cloud.config.action_delay
    return web.Response(status=202)
