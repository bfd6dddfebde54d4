"""The one way the service calls OpenStack: openstacksdk in a bounded thread pool, with timeouts.

openstacksdk is synchronous, so no call ever runs on the event loop. Servers are read as Nova's
raw JSON at one pinned microversion (so partial records from a down cell stay recognisable);
flavors, images, networks and keypairs through the SDK's resources.
"""
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from keystoneauth1 import exceptions as keystone_errors
from openstack import exceptions as sdk_errors
from openstack.block_storage.v3.volume import Volume as SdkVolume
from openstack.connection import Connection

from ..core.errors import NotFound, OpenStackRejected, OpenStackTimeout, OpenStackUnavailable, ServiceError
from ..core.records import Image, Resource, Volume, VolumeRequest
from .clouds import CloudDirectory
from .translation import (
    JOB_TAG,
    RESERVED_METADATA_KEYS,
    image_record,
    is_partial,
    read_resources,
    volume_record,
)

logger = logging.getLogger(__name__)
Result = TypeVar("Result")

# 2.69: servers in a cell that is down come back as partial records instead of vanishing.
# Its server bodies embed the flavor (2.47) instead of linking it by id.
COMPUTE_MICROVERSION = "2.69"
NovaRecord = dict[str, Any]  # a server as Nova's JSON has it
CLOUD_PAGE = 1000  # servers a page of a cloud-wide listing (Nova's default max_limit)
VOLUME_TIME_FILTERS = "3.60"  # Cinder filters volumes by created_at / updated_at from this one
COMPUTE, IMAGE, NETWORK, VOLUME = "compute", "image", "network", "volume"
_SERVICE_OF_KIND = {"flavors": COMPUTE, "keypairs": COMPUTE, "images": IMAGE, "networks": NETWORK,
                    "security_groups": NETWORK, "volumes": VOLUME}
# Observes each call: the service, its outcome (ok, an HTTP status, timeout, unavailable), seconds.
CallObserver = Callable[[str, str, float], None]


def _outcome(error: ServiceError) -> str:
    """A failed call's outcome, as a metric label."""
    if isinstance(error, NotFound):
        return "404"
    if isinstance(error, OpenStackRejected):
        return str(error.status)
    return "timeout" if isinstance(error, OpenStackTimeout) else "unavailable"


class OpenStackGateway:
    """Async access to each project's OpenStack, through its cached SDK connection."""

    def __init__(self, directory: CloudDirectory, *, threads: int, timeout: float) -> None:
        self.directory = directory
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="openstack")
        # Waiting for a free thread happens here, before the timeout starts: a busy pool makes
        # calls wait, never time out unstarted.
        self._free_threads = asyncio.Semaphore(threads)
        self._after_success: Callable[[str], Awaitable[None]] | None = None
        self._observe: CallObserver = lambda service, outcome, seconds: None

    def after_success(self, callback: Callable[[str], Awaitable[None]]) -> None:
        """Call ``callback(project_id)`` after each successful call (best effort: its errors are
        logged, never raised)."""
        self._after_success = callback

    def observe_calls(self, observer: CallObserver) -> None:
        """Call ``observer(service, outcome, seconds)`` after each call (for metrics)."""
        self._observe = observer

    async def _call(self, project_id: str, action: Callable[[Connection], Result], what: str,
                    service: str = COMPUTE, recovering: bool = True, about_the_item: bool = False) -> Result:
        """The action on the project's connection. A 404 is ``NotFound`` only for a call
        ``about_the_item`` (a server, a volume: it is not there); for any other it means an API the cloud
        lacks, and is ``OpenStackUnavailable``, naming no OpenStack path."""
        try:
            result = await self._observed(lambda: self.directory.connection(project_id), action, what,
                                          service)
        except NotFound:
            if about_the_item:
                raise
            raise OpenStackUnavailable(f"OpenStack failed {what}: its {service} API answered "
                                       "404 Not Found (this cloud may lack it)") from None
        if recovering and self._after_success is not None:
            try:
                await self._after_success(project_id)
            except Exception as error:  # e.g. Redis unreachable: the call itself succeeded
                logger.warning("after a successful OpenStack call for %s: %s", project_id, error)
        return result

    async def _observed(self, connect: Callable[[], Connection], action: Callable[[Connection], Result],
                        what: str, service: str) -> Result:
        """The action, its outcome and duration observed."""
        started = time.monotonic()
        try:
            result = await self._run(connect, action, what)
        except ServiceError as error:
            self._observe(service, _outcome(error), time.monotonic() - started)
            raise
        self._observe(service, "ok", time.monotonic() - started)
        return result

    async def _run(self, connect: Callable[[], Connection], action: Callable[[Connection], Result],
                   what: str) -> Result:
        """The action on a connection in the thread pool, its errors as the domain's."""
        connection = connect()
        loop = asyncio.get_running_loop()
        try:
            async with self._free_threads:
                # One second beyond the HTTP timeout: a create that times out has then surely
                # ended, so a retry that looks for its server does not race it.
                async with asyncio.timeout(self._timeout + 1):
                    result = await loop.run_in_executor(self._pool, action, connection)
        except (TimeoutError, keystone_errors.ConnectTimeout):  # keystoneauth's covers read timeouts
            raise OpenStackTimeout(f"OpenStack did not answer {what} within {self._timeout:g} s") from None
        except sdk_errors.HttpException as error:
            raise _http_error(error.status_code, error.response, what) from None
        except keystone_errors.HttpError as error:
            raise _http_error(error.http_status, error.response, what) from None
        except (keystone_errors.ConnectionError, keystone_errors.ClientException,
                sdk_errors.SDKException) as error:
            raise OpenStackUnavailable(f"OpenStack failed {what}: {type(error).__name__}") from None
        return result

    async def list_servers(self, project_id: str, changes_since: str | None = None, *,
                           recovering: bool = True) -> list[NovaRecord]:
        """Nova's server records (every page), optionally only those changed since a time;
        ``recovering=False`` skips the after-success callback (the caller knows the project is
        not failing)."""
        return await self._call(project_id, lambda c: _list_servers(c, changes_since),
                                "listing servers", recovering=recovering)

    async def list_cloud_servers(self, region: str, changes_since: str | None = None) -> list[NovaRecord]:
        """Every project's server records in a region (Nova's ``all_tenants``, every page), by the
        cloud-wide reader, optionally only those changed since a time."""
        return await self._observed(lambda: self.directory.reader_connection(region),
                                    lambda c: _list_servers(c, changes_since, every_project=True),
                                    f"listing every project's servers in region {region or '(default)'}",
                                    COMPUTE)

    async def get_server(self, project_id: str, server_id: str) -> NovaRecord:
        """Nova's record of one server; ``NotFound`` if Nova does not know it in this project."""
        def fetch(connection: Connection) -> NovaRecord:
            response = connection.compute.get(_server_path(server_id),
                                              microversion=COMPUTE_MICROVERSION, raise_exc=False)
            _raise_for_status(response, f"showing server {server_id}")
            server: NovaRecord = response.json()["server"]
            return server

        return await self._call(project_id, fetch, f"showing server {server_id}", about_the_item=True)

    async def create_server(self, project_id: str, server: dict[str, Any]) -> str:
        """Ask Nova to boot a server; its id. Nova's refusals raise ``OpenStackRejected``."""
        def create(connection: Connection) -> str:
            response = connection.compute.post("/servers", json={"server": server},
                                               microversion=COMPUTE_MICROVERSION, raise_exc=False)
            _raise_for_status(response, "creating a server")
            return str(response.json()["server"]["id"])

        return await self._call(project_id, create, "creating a server")

    async def delete_server(self, project_id: str, server_id: str) -> None:
        """Ask Nova to delete a server (it goes away asynchronously); ``NotFound`` if it is gone."""
        await self._on_server(project_id, server_id, "DELETE", "", None, f"deleting server {server_id}")

    async def server_action(self, project_id: str, server_id: str, body: dict[str, Any]) -> None:
        """Ask Nova to stop, start or reboot a server (it goes on asynchronously); Nova's refusal
        in the server's state is an ``OpenStackRejected`` with status 409."""
        await self._on_server(project_id, server_id, "POST", "/action", body, f"acting on server {server_id}")

    async def rename_server(self, project_id: str, server_id: str, name: str) -> NovaRecord:
        """Give a server another name (Nova answers at once); Nova's record after it."""
        answer = await self._on_server(project_id, server_id, "PUT", "", {"server": {"name": name}},
                                       f"renaming server {server_id}")
        record: NovaRecord = answer["server"]
        return record

    async def replace_metadata(self, project_id: str, server_id: str, metadata: dict[str, str]) -> None:
        """Replace a server's metadata by ``metadata``, keeping the service's own keys as Nova has
        them (Nova answers at once)."""
        record = await self.get_server(project_id, server_id)
        kept = {k: v for k, v in (record.get("metadata") or {}).items() if k in RESERVED_METADATA_KEYS}
        await self._on_server(project_id, server_id, "PUT", "/metadata", {"metadata": {**metadata, **kept}},
                              f"setting the metadata of server {server_id}")

    async def console_output(self, project_id: str, server_id: str, lines: int) -> str:
        """The last ``lines`` lines of a server's console log."""
        answer = await self._on_server(project_id, server_id, "POST", "/action",
                                       {"os-getConsoleOutput": {"length": lines}},
                                       f"reading the console log of server {server_id}")
        return str(answer.get("output") or "")

    async def remote_console(self, project_id: str, server_id: str, protocol: str,
                             kind: str) -> dict[str, str]:
        """A new remote console of a server: ``{protocol, type, url}``; the URL is a credential."""
        answer = await self._on_server(project_id, server_id, "POST", "/remote-consoles",
                                       {"remote_console": {"protocol": protocol, "type": kind}},
                                       f"opening a {protocol} console of server {server_id}")
        console = answer["remote_console"]
        return {key: str(console[key]) for key in ("protocol", "type", "url")}

    async def attach_volume(self, project_id: str, server_id: str, volume_id: str) -> None:
        """Ask Nova to attach a volume to a server (Cinder shows it ``attaching``, then ``in-use``)."""
        await self._on_server(project_id, server_id, "POST", "/os-volume_attachments",
                              {"volumeAttachment": {"volumeId": volume_id}},
                              f"attaching volume {volume_id} to server {server_id}")

    async def detach_volume(self, project_id: str, server_id: str, volume_id: str) -> None:
        """Ask Nova to detach a volume from a server (``detaching``, then ``available``)."""
        await self._on_server(project_id, server_id, "DELETE",
                              "/os-volume_attachments/" + quote(volume_id, safe=""), None,
                              f"detaching volume {volume_id} from server {server_id}")

    async def create_image(self, project_id: str, server_id: str, name: str) -> str:
        """Ask Nova to snapshot a server to a new image (it uploads asynchronously); its id."""
        answer = await self._on_server(project_id, server_id, "POST", "/action",
                                       {"createImage": {"name": name}}, f"snapshotting server {server_id}")
        return str(answer["image_id"])  # Nova's answer from microversion 2.45 on

    async def get_volume(self, project_id: str, volume_id: str) -> Volume | None:
        """Cinder's volume, or None if Cinder does not have it in this project (as ``get_image``)."""
        def read(connection: Connection) -> Volume | None:
            try:
                return volume_record(connection.block_storage.get_volume(volume_id))
            except sdk_errors.NotFoundException:
                return None

        return await self._call(project_id, read, f"showing volume {volume_id}", VOLUME)

    async def create_volume(self, project_id: str, request: VolumeRequest, metadata: dict[str, str]) -> str:
        """Ask Cinder for a volume (blank, or made from an image), tagged with ``metadata``; its id.
        Cinder's refusals (a quota: 413) raise ``OpenStackRejected``."""
        def create(connection: Connection) -> str:
            volume = connection.block_storage.create_volume(
                name=request.get("name"), size=request.get("size_gb"), description=request.get("description"),
                volume_type=request.get("volume_type"), image_id=request.get("image_id"), metadata=metadata)
            return str(volume.id)

        return await self._call(project_id, create, "creating a volume", VOLUME)

    async def delete_volume(self, project_id: str, volume_id: str) -> None:
        """Ask Cinder to delete a volume (it goes away asynchronously); ``NotFound`` if it is gone."""
        await self._call(project_id, lambda c: c.block_storage.delete_volume(volume_id, ignore_missing=False),
                         f"deleting volume {volume_id}", VOLUME, about_the_item=True)

    async def find_tagged_volume(self, project_id: str, value: str, tag: str = JOB_TAG) -> Volume | None:
        """The volume whose Cinder metadata holds ``value`` under ``tag`` (a job's id, or an
        Idempotency-Key's tag), if any."""
        def find(connection: Connection) -> Volume | None:
            for volume in connection.block_storage.volumes(details=True):
                if (volume.metadata or {}).get(tag) == value:
                    return volume_record(volume)
            return None

        return await self._call(project_id, find, "looking for a job's volume", VOLUME)

    async def list_volumes_since(self, project_id: str, since: str) -> list[Volume] | None:
        """The volumes Cinder changed since ``since`` (its ``updated_at=gte:`` filter, volume API
        3.60 on; deleted ones are not there); None where Cinder cannot filter so."""
        def read(connection: Connection) -> list[Volume] | None:
            response = connection.block_storage.get("/volumes/detail", params={"updated_at": f"gte:{since}"},
                                                    microversion=VOLUME_TIME_FILTERS, raise_exc=False)
            if response.status_code in (400, 404, 406):  # an older Cinder: no such filter or version
                return None
            _raise_for_status(response, "listing changed volumes")
            return [volume_record(SdkVolume.existing(**v)) for v in response.json().get("volumes", [])]

        return await self._call(project_id, read, "listing changed volumes", VOLUME)

    async def volume_types(self, project_id: str) -> list[str]:
        """The names of the volume types the project may use."""
        return await self._call(project_id, lambda c: [str(t.name) for t in c.block_storage.types()],
                                "listing volume types", VOLUME)

    async def get_image(self, project_id: str, image_id: str) -> Image | None:
        """Glance's image, or None once it is gone."""
        def read(connection: Connection) -> Image | None:
            try:
                return image_record(connection.image.get_image(image_id))
            except sdk_errors.NotFoundException:
                return None

        return await self._call(project_id, read, f"showing image {image_id}", IMAGE)

    async def find_snapshot(self, project_id: str, server_id: str, name: str) -> Image | None:
        """A snapshot of the server with this name (one an earlier attempt asked for), if any."""
        def read(connection: Connection) -> Image | None:
            for image in connection.image.images(name=name, owner=connection.current_project_id):
                if image.instance_uuid == server_id:
                    return image_record(image)
            return None

        return await self._call(project_id, read, f"looking for a snapshot of server {server_id}", IMAGE)

    async def _on_server(self, project_id: str, server_id: str, method: str, suffix: str,
                         body: dict[str, Any] | None, what: str) -> Any:
        """One Nova call about a server (``NotFound`` if Nova does not know it); its decoded
        answer, if it has one."""
        def call(connection: Connection) -> Any:
            response = connection.compute.request(_server_path(server_id) + suffix, method, json=body,
                                                  microversion=COMPUTE_MICROVERSION, raise_exc=False)
            _raise_for_status(response, what)
            return response.json() if response.content else None

        return await self._call(project_id, call, what, about_the_item=True)

    async def find_tagged_server(self, project_id: str, job_id: str, since: str,
                                 tag: str = JOB_TAG) -> NovaRecord | None:
        """The server a job created, if any: changed since ``since`` and carrying ``job_id`` in
        its metadata under ``tag`` (the job's own id, or another tag's value).

        Raises ``OpenStackUnavailable`` when a record in the window is partial (its cell is down),
        since the job's server might be that one.
        """
        records = await self.list_servers(project_id, changes_since=since)
        for record in records:
            if (record.get("metadata") or {}).get(tag) == job_id:
                return record
        if any(is_partial(r) for r in records):
            raise OpenStackUnavailable("Nova cannot show every server now (a cell is down); "
                                       "the job's server may be among them")
        return None

    async def volume_quota(self, project_id: str) -> tuple[int, int] | None:
        """The gigabytes of volumes the project may have and those it has (Cinder's limits);
        None when it is unlimited, or the cloud has no Cinder or no limits API (then Cinder's
        own refusal is the check)."""
        def read(connection: Connection) -> tuple[int, int] | None:
            try:
                limits = connection.block_storage.get_limits().absolute
            except (sdk_errors.EndpointNotFound, sdk_errors.ServiceDisabledException,
                    sdk_errors.NotFoundException):
                return None
            allowed = limits.max_total_volume_gigabytes
            return None if allowed is None or allowed < 0 else (allowed, limits.total_gigabytes_used or 0)

        return await self._call(project_id, read, "reading the volume quota", VOLUME)

    async def list_resources(self, project_id: str, kind: str) -> list[Resource]:
        """Flavors, images, networks or keypairs, as records."""
        return await self._call(project_id, lambda c: read_resources(c, kind), f"listing {kind}",
                                _SERVICE_OF_KIND.get(kind, COMPUTE))

    def close(self) -> None:
        """Stop the thread pool (running calls finish) and close the connections."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.directory.close()


def _list_servers(connection: Connection, changes_since: str | None,
                  every_project: bool = False) -> list[NovaRecord]:
    """Follow Nova's "next" links; only the marker is taken from them, since real clouds'
    links sometimes name an internal host. ``every_project`` lists all tenants' servers, in
    pages of Nova's default ``max_limit`` (a smaller cap makes more pages)."""
    params: dict[str, str] = {"changes-since": changes_since} if changes_since else {}
    if every_project:
        params |= {"all_tenants": "1", "limit": str(CLOUD_PAGE)}
    servers: list[NovaRecord] = []
    while True:
        response = connection.compute.get("/servers/detail", params=params,
                                          microversion=COMPUTE_MICROVERSION, raise_exc=False)
        _raise_for_status(response, "listing servers")
        body = response.json()
        servers.extend(body.get("servers", []))
        marker = _next_marker(body.get("servers_links", []))
        if marker is None or not body.get("servers"):
            return servers
        params = {**params, "marker": marker}


def _server_path(server_id: str) -> str:
    """Nova's path of one server; the id is one encoded path segment, whatever it holds."""
    return "/servers/" + quote(server_id, safe="")


def _next_marker(links: list[dict[str, Any]]) -> str | None:
    for link in links:
        if link.get("rel") == "next":
            markers = parse_qs(urlsplit(link.get("href", "")).query).get("marker")
            if markers:
                return str(markers[0])
    return None


def _raise_for_status(response: Any, what: str) -> None:
    if response.status_code >= 400:
        raise _http_error(response.status_code, response, what)


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(response: Any) -> str:
    """The message of an OpenStack error document (``{"itemNotFound": {"message": …}}``)."""
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return ""
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict):
            return str(inner.get("message", ""))
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _http_error(status: int | None, response: Any, what: str) -> Exception:
    status = status or 500
    message = _message(response) or f"HTTP {status}"
    if status == 404:
        return NotFound(message)
    if status in (413, 429):
        return OpenStackRejected(f"OpenStack throttled {what}: {message}", status,
                                 _retry_after(response))
    if status >= 500 or status == 401:
        return OpenStackUnavailable(f"OpenStack failed {what} (HTTP {status}): {message}")
    return OpenStackRejected(f"OpenStack refused {what} (HTTP {status}): {message}", status)
