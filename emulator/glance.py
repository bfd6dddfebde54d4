"""Glance v2: version discovery and the image list (paged the Glance way, with a ``next`` field)."""
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .api_errors import ApiError
from .clock import isotime
from .cloud_records import Image
from .paging import page, parse_limit
from .service import public, service_app
from .state_keys import CLOUD

_TITLES = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Request Entity Too Large",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
_FILTERS = ("name", "status", "owner", "disk_format", "container_format")


def render_error(error: ApiError) -> web.Response:
    """Glance's (webob's) JSON error document."""
    title = _TITLES.get(error.status, "Error")
    return web.json_response(
        {"message": error.message, "code": f"{error.status} {title}", "title": title},
        status=error.status, headers=error.headers)


def create_app() -> web.Application:
    """The Glance sub-application, mounted at ``/image``."""
    app = service_app("image", render_error)
    app.router.add_get("/", versions)
    app.router.add_get("/v2/images", list_images)
    app.router.add_get("/v2/images/{image_id}", show_image)
    return app


@public
async def versions(request: web.Request) -> web.Response:
    """``GET /image/``: Glance answers its versions with 300 Multiple Choices."""
    href = f"{request.url.origin()}/image/v2/"
    entries = [{"id": f"v2.{minor}", "status": "CURRENT" if minor == 17 else "SUPPORTED",
                "links": [{"rel": "self", "href": href}]} for minor in (17, 16, 15)]
    return web.json_response({"versions": entries}, status=300)


def image_body(image: Image) -> dict[str, Any]:
    """Glance's image document."""
    return {
        "id": image.id, "name": image.name, "status": image.status,
        "visibility": image.visibility, "owner": image.owner,
        "min_disk": image.min_disk, "min_ram": image.min_ram,
        "disk_format": image.disk_format, "container_format": image.container_format,
        "size": image.size, "virtual_size": None, "checksum": None,
        "os_hash_algo": None, "os_hash_value": None,
        "protected": False, "os_hidden": image.os_hidden, "tags": [],
        "created_at": isotime(image.created_at), "updated_at": isotime(image.created_at),
        "self": f"/v2/images/{image.id}", "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image", **image.properties,
    }


def _visible(image: Image, project_id: str, visibility: str | None) -> bool:
    if visibility in (None, "all"):
        shown = image.visibility != "community" or visibility == "all"
        return shown and image.visible_to(project_id) and not image.os_hidden
    return image.visibility == visibility and image.visible_to(project_id)


async def list_images(request: web.Request) -> web.Response:
    """``GET /v2/images``: newest first; ``next`` is given whenever a page is full."""
    cloud = request.config_dict[CLOUD]
    query = request.query
    now = cloud.clock.now()
    images = [i.settle(now) for i in cloud.images.group(request["project_id"])
              if _visible(i, request["project_id"], query.get("visibility"))
              and all(str(getattr(i, f)) == query[f] for f in _FILTERS if f in query)]
    images.sort(key=lambda i: (i.created_at, i.id), reverse=True)
    limit = parse_limit(query.get("limit"), cloud.config.glance_default_limit, cloud.config.max_limit)
    chosen, full = page(images, query.get("marker"), limit, lambda i: i.id)
    params = {k: v for k, v in query.items() if k != "marker"}
    body: dict[str, Any] = {"images": [image_body(i) for i in chosen],
                            "first": "/v2/images" + (f"?{urlencode(params)}" if params else ""),
                            "schema": "/v2/schemas/images"}
    if full and chosen:
        body["next"] = "/v2/images?" + urlencode({**params, "marker": chosen[-1].id})
    return web.json_response(body)


async def show_image(request: web.Request) -> web.Response:
    """``GET /v2/images/{id}``."""
    image_id = request.match_info["image_id"]
    cloud = request.config_dict[CLOUD]
    image = cloud.images.get(image_id)
    if image is None or not image.visible_to(request["project_id"]):
        raise ApiError(404, f"No image found with ID {image_id}")
    return web.json_response(image_body(image.settle(cloud.clock.now())))
