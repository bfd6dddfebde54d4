"""Nova's longer server actions: ``resize`` (through ``VERIFY_RESIZE``), ``confirmResize``,
``revertResize`` and ``createImage`` (a Glance image from ``queued`` to ``active``), with Nova's
task states, refusals and answers."""
from typing import Any

from aiohttp import web

from . import lifecycle
from .api_errors import ApiError
from .cloud_records import Image, Server, Transition
from .state_keys import CLOUD

LONG_ACTIONS = ("resize", "confirmResize", "revertResize", "createImage")
_RESIZABLE = ("active", "stopped")
_SNAPSHOTTABLE = ("active", "stopped", "paused", "suspended")


def _refuse_unless(server: Server, method: str, vm_states: tuple[str, ...]) -> None:
    """Nova's 409 for an action the server's state does not allow."""
    if server.task_state is not None:
        raise ApiError(409, f"Cannot '{method}' instance {server.id} while it is in task_state "
                            f"{server.task_state}")
    if server.vm_state not in vm_states:
        raise ApiError(409, f"Cannot '{method}' instance {server.id} while it is in vm_state "
                            f"{server.vm_state}")


def long_action(request: web.Request, server: Server, name: str, argument: Any) -> web.Response:
    """Start (or, for a confirm, do) one of ``LONG_ACTIONS``."""
    cloud = request.config_dict[CLOUD]
    now, delay = cloud.clock.now(), cloud.config.action_delay
    if name == "resize":
        flavor_ref = (argument or {}).get("flavorRef") if isinstance(argument, dict) else None
        flavor = cloud.flavors.get(str(flavor_ref))
        if flavor is None:
            raise ApiError(400, f"Flavor {flavor_ref} could not be found.")
        _refuse_unless(server, "resize", _RESIZABLE)
        if flavor.id == server.flavor.id:
            raise ApiError(400, "When resizing, instances must change flavor!")
        lifecycle.plan_resize(server, flavor, now, delay, cloud.config.resize_confirm_window)
        return web.Response(status=202)
    if name in ("confirmResize", "revertResize"):
        _refuse_unless(server, name, ("resized",))
        if name == "confirmResize":
            lifecycle.end_resize(server, keep_new=True)
            server.updated_at = now
            return web.Response(status=204)
        server.task_state, server.updated_at = "resize_reverting", now
        server.pending = [Transition(now + delay, "resize_reverted")]
        return web.Response(status=202)
    image_name = (argument or {}).get("name") if isinstance(argument, dict) else None
    if not isinstance(image_name, str) or not image_name:
        raise ApiError(400, "Invalid input for field/attribute createImage. 'name' is a required property")
    _refuse_unless(server, "createImage", _SNAPSHOTTABLE)
    image = Image(cloud.new_uuid(), image_name, server.project_id, "private", now, status="queued",
                  min_disk=server.flavor.disk, min_ram=0, ready_at=now + 2 * delay,
                  properties={"image_type": "snapshot", "instance_uuid": server.id})
    cloud.images[image.id] = image
    server.task_state, server.updated_at = "image_snapshot", now
    server.pending = [Transition(now + delay / 2, "image_uploading"), Transition(now + delay, "image_done")]
    return web.json_response({"image_id": image.id}, status=202,
                             headers={"Location": f"{request.url.origin()}/image/v2/images/{image.id}"})
