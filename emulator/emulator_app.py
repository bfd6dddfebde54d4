"""The emulator's application factory: Keystone at the root, the services below it."""
import logging

from aiohttp import web

from . import cinder, control, glance, keystone, neutron, nova
from .api_errors import ApiError
from .clock import Clock
from .cloud import Cloud
from .config import EmulatorConfig
from .faults import FaultBook, Faults
from .requestlog import RequestLog
from .seeding import seed_catalog
from .service import Handler, apply_faults
from .state_keys import CLOUD, FAULTS, REQUEST_LOG

logger = logging.getLogger(__name__)
_SUBAPP_PREFIXES = ("/compute", "/image", "/networking", "/volume")



@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every answered request in the request log, with when it started and ended."""
    started = request.app[CLOUD].clock.now()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        path = request.path
        default_service = "control" if path.startswith("/_emulator") else "identity"
        request.app[REQUEST_LOG].record(
            started=started, at=request.app[CLOUD].clock.now(), method=request.method, path=path,
            query=request.query_string, service=request.get("service", default_service),
            project_id=request.get("project_id"), status=status)


@web.middleware
async def identity_faults_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Cloud-wide faults reach Keystone too; Keystone and control errors are rendered here."""
    try:
        if not request.path.startswith(("/_emulator", *_SUBAPP_PREFIXES)):
            faults = request.app[FAULTS].for_call(None)
            if faults is not None:
                await apply_faults(request, faults)
        return await handler(request)
    except ApiError as error:
        return keystone.render_error(error)


def create_app(config: EmulatorConfig, faults: Faults | None = None) -> web.Application:
    """An emulated cloud with its catalog seeded and no projects yet."""
    cloud = Cloud(config, Clock())
    seed_catalog(cloud)
    app = web.Application(middlewares=[log_requests, identity_faults_and_errors])
    app[CLOUD] = cloud
    app[FAULTS] = FaultBook(faults)
    app[REQUEST_LOG] = RequestLog(config.request_log_size)
    app.add_routes(keystone.routes())
    app.add_routes(control.routes())
    _mount(app, "/compute", nova.create_app(), nova.versions)
    _mount(app, "/image", glance.create_app(), glance.versions)
    _mount(app, "/networking", neutron.create_app(), neutron.versions)
    _mount(app, "/volume", cinder.create_app(), cinder.versions)
    return app


def _mount(app: web.Application, prefix: str, service: web.Application,
           versions: Handler) -> None:
    """Mount a service; its version document answers at the bare prefix too (``GET /image``)."""
    app.router.add_get(prefix, versions)  # before the sub-application, which would claim it
    app.add_subapp(prefix, service)
