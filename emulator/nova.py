"""Nova v2.1: version documents, flavors, keypairs, availability zones, limits; servers in nova_servers."""
from typing import Any

from aiohttp import web

from . import microversion, nova_servers, nova_views
from .api_errors import ApiError
from .nova_paging import compute_base, paged_response
from .service import Handler, public, service_app
from .state_keys import CLOUD

_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest",
                413: "overLimit", 415: "badMediaType", 429: "overLimit", 501: "notImplemented",
                503: "serviceUnavailable"}


def render_error(error: ApiError) -> web.Response:
    """Nova's fault document: ``{"itemNotFound": {"code": 404, "message": …}}``."""
    fault: dict[str, Any] = {"code": error.status, "message": error.message}
    if "Retry-After" in error.headers:
        fault["retryAfter"] = error.headers["Retry-After"]
    name = _FAULT_NAMES.get(error.status, "computeFault")
    return web.json_response({name: fault}, status=error.status, headers=error.headers)


@web.middleware
async def negotiate_microversion(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the requested microversion and report it on the answer, errors included."""
    minimum, maximum = microversion_range(request)
    version = minimum
    try:
        version = microversion.requested(request, minimum, maximum)
        request["microversion"] = version
        response = await handler(request)
    except ApiError as error:
        response = render_error(error)
    microversion.stamp(response, version)
    return response


def microversion_range(request: web.Request) -> tuple[microversion.Microversion, ...]:
    """The lowest and highest microversion this cloud speaks."""
    config = request.config_dict[CLOUD].config
    return microversion.parse(config.min_microversion), microversion.parse(config.max_microversion)


def create_app() -> web.Application:
    """The Nova sub-application, mounted at ``/compute``."""
    app = service_app("compute", render_error, negotiate_microversion)
    app.router.add_get("/", versions)
    app.router.add_get("/v2.1", version_document)
    app.router.add_get("/v2.1/", version_document)
    app.router.add_get("/v2.1/flavors", list_flavors)
    app.router.add_get("/v2.1/flavors/detail", list_flavors_detail)
    app.router.add_get("/v2.1/flavors/{flavor_id}", show_flavor)
    app.router.add_get("/v2.1/os-keypairs", list_keypairs)
    app.router.add_get("/v2.1/os-keypairs/{name}", show_keypair)
    app.router.add_get("/v2.1/os-availability-zone", list_availability_zones)
    app.router.add_get("/v2.1/limits", show_limits)
    nova_servers.add_routes(app.router)
    return app


def _version_entry(request: web.Request) -> dict[str, Any]:
    minimum, maximum = microversion_range(request)
    return {
        "id": "v2.1", "status": "CURRENT", "updated": "2013-07-23T11:33:21Z",
        "version": microversion.render(maximum), "min_version": microversion.render(minimum),
        "links": [{"rel": "self", "href": f"{compute_base(request)}/v2.1/"},
                  {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


@public
async def versions(request: web.Request) -> web.Response:
    """``GET /compute/``: the legacy v2.0 and the current v2.1 API."""
    legacy = {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
              "updated": "2011-01-21T11:33:21Z",
              "links": [{"rel": "self", "href": f"{compute_base(request)}/v2/"}]}
    return web.json_response({"versions": [legacy, _version_entry(request)]})


@public
async def version_document(request: web.Request) -> web.Response:
    """``GET /compute/v2.1``: the microversion range this cloud speaks."""
    return web.json_response({"version": _version_entry(request)})


def _visible_flavors(request: web.Request) -> list:
    cloud = request.config_dict[CLOUD]
    flavors = [f for f in cloud.flavors.values() if f.visible_to(request["project_id"])]
    if "minRam" in request.query:
        flavors = [f for f in flavors if f.ram >= _int_param(request, "minRam")]
    if "minDisk" in request.query:
        flavors = [f for f in flavors if f.disk >= _int_param(request, "minDisk")]
    return sorted(flavors, key=lambda f: f.id)


def _int_param(request: web.Request, name: str) -> int:
    try:
        return int(request.query[name])
    except ValueError:
        raise ApiError(400, f"Invalid {name} filter [{request.query[name]}]") from None


async def list_flavors(request: web.Request) -> web.Response:
    """``GET /flavors``."""
    base, version = compute_base(request), request["microversion"]
    return paged_response(request, "flavors", _visible_flavors(request), lambda f: f.id,
                          lambda f: nova_views.flavor_summary(f, base, version))


async def list_flavors_detail(request: web.Request) -> web.Response:
    """``GET /flavors/detail``."""
    base, version = compute_base(request), request["microversion"]
    return paged_response(request, "flavors", _visible_flavors(request), lambda f: f.id,
                          lambda f: nova_views.flavor_detail(f, base, version))


async def show_flavor(request: web.Request) -> web.Response:
    """``GET /flavors/{id}``."""
    flavor_id = request.match_info["flavor_id"]
    flavor = request.config_dict[CLOUD].flavors.get(flavor_id)
    if flavor is None or not flavor.visible_to(request["project_id"]):
        raise ApiError(404, f"Flavor {flavor_id} could not be found.")
    detail = nova_views.flavor_detail(flavor, compute_base(request), request["microversion"])
    return web.json_response({"flavor": detail})


def _user_keypairs(request: web.Request) -> list:
    cloud = request.config_dict[CLOUD]
    return sorted(cloud.keypairs.group(request["token"].user_id), key=lambda k: k.name)


async def list_keypairs(request: web.Request) -> web.Response:
    """``GET /os-keypairs`` (paged from 2.35 on)."""
    version = request["microversion"]
    keypairs = _user_keypairs(request)
    if version >= (2, 35):
        return paged_response(request, "keypairs", keypairs, lambda k: k.name,
                              lambda k: {"keypair": nova_views.keypair_summary(k, version)})
    return web.json_response(
        {"keypairs": [{"keypair": nova_views.keypair_summary(k, version)} for k in keypairs]})


async def show_keypair(request: web.Request) -> web.Response:
    """``GET /os-keypairs/{name}``."""
    name = request.match_info["name"]
    keypair = request.config_dict[CLOUD].keypairs.get((request["token"].user_id, name))
    if keypair is None:
        raise ApiError(404, f"Keypair {name} not found for user {request['token'].user_id}")
    return web.json_response({"keypair": nova_views.keypair_detail(keypair, request["microversion"])})


async def list_availability_zones(request: web.Request) -> web.Response:
    """``GET /os-availability-zone``."""
    zones = [{"zoneName": name, "zoneState": {"available": True}, "hosts": None}
             for name in request.config_dict[CLOUD].config.availability_zones]
    return web.json_response({"availabilityZoneInfo": zones})


async def show_limits(request: web.Request) -> web.Response:
    """``GET /limits``: the instance quota and its use."""
    cloud = request.config_dict[CLOUD]
    project = cloud.projects[request["project_id"]]
    absolute = {"maxTotalInstances": project.quota_instances,
                "totalInstancesUsed": cloud.used_instances(project.id),
                "maxTotalCores": -1, "maxTotalRAMSize": -1, "totalCoresUsed": 0,
                "totalRAMUsed": 0, "maxServerMeta": 128, "maxTotalKeypairs": 100}
    return web.json_response({"limits": {"absolute": absolute, "rate": []}})
