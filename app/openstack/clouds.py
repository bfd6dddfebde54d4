"""Which clouds.yaml entry holds each project's credentials, and one SDK connection per project.

Every project's connection sends its requests through one shared HTTP session, whose connections
are pooled by host: a worker holds a few connections per OpenStack endpoint however many
projects it polls. (A pool per project held one socket per project and endpoint: at 10,000
projects, more than a process's file descriptors and the loopback's ephemeral ports.) The API
version documents found by discovery are shared too, so a new project's first call costs its
token alone.
"""
import logging
import os
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any, cast

import openstack
import requests
from keystoneauth1 import session as keystone_session
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

from ..core.errors import UnknownProject
from ..core.project_ids import normalize_project_id

logger = logging.getLogger(__name__)


def _project_of(name: str, cloud: dict[str, Any]) -> str | None:
    """A cloud's project: ``auth.project_id``, else the cloud's name if that is a project id."""
    auth = cloud.get("auth") or {}
    project_id = str(auth.get("project_id") or "").strip()
    return normalize_project_id(project_id) or normalize_project_id(name.strip())


def _region_of(entry: dict[str, Any]) -> str:
    """The region a project's entry reaches: its ``region_name``, else the first of its
    ``regions`` (as openstacksdk picks), else "" (the cloud's only one)."""
    return str(entry.get("region_name") or next(iter(_regions_of(entry)), ""))


def _regions_of(entry: dict[str, Any]) -> list[str]:
    """Every region an entry names: its ``regions`` (names or ``{name: …}``), else its
    ``region_name``, else "" (the cloud's only one)."""
    regions = [str(r.get("name", "")) if isinstance(r, dict) else str(r) for r in entry.get("regions") or ()]
    return regions or [str(entry.get("region_name") or "")]


HOSTS_POOLED = 32  # OpenStack endpoints (host and port) whose connections are kept


def _shared_http(connections_per_host: int) -> requests.Session:
    """The HTTP session of every project's calls: ``connections_per_host`` kept per endpoint
    (keystoneauth's TCP keep-alive adapter), and no cookies kept, so that nothing one project's
    answers set is sent with another project's requests."""
    http = requests.Session()
    http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = keystone_session.TCPKeepAliveAdapter(pool_connections=HOSTS_POOLED,
                                                   pool_maxsize=connections_per_host)
    for scheme in ("https://", "http://"):
        http.mount(scheme, adapter)
    return http


class CloudsFileError(ValueError):
    """The clouds.yaml cannot be used as it is; the message says why."""


class CloudDirectory:
    """Project id -> cloud name, from a standard clouds.yaml loaded by openstacksdk's loader.

    Password entries name their project in ``auth.project_id``; application credentials are
    bound to a project Keystone knows, so such an entry is named after its project id. The
    ``reader`` entry (``CLOUD_READER``), an admin credential that reads every project's servers at
    once, is no project's: it is exempt from the one entry per project rule.
    """

    def __init__(self, clouds_file: Path, api_timeout: float, connections_per_host: int,
                 reader: str = "") -> None:
        self._file = clouds_file
        self._reader = reader
        self._api_timeout = api_timeout
        self._http = _shared_http(connections_per_host)
        self._discovered: dict[str, Any] = {}  # API version documents by URL, for every project
        # openstacksdk's session factory (typed as the class): keystoneauth sessions over the
        # shared HTTP session, which they leave open when closed, and the shared discoveries
        self._sessions = cast(type[keystone_session.Session], self._session)
        self._signature: tuple[int, int] | None = None
        self._rejected: tuple[int, int] | None = None  # a changed file that could not be used
        self.rejection: str | None = None  # why the file as it is now is not in force
        self._config: OpenStackConfig | None = None
        self._clouds: dict[str, str] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._connections: dict[str, Connection] = {}
        self._reader_connections: dict[str, Connection] = {}  # by region
        self._regions: dict[str, frozenset[str]] = {}  # the projects of each region
        self.reload_if_changed()

    def _session(self, **options: Any) -> keystone_session.Session:
        """A project's keystoneauth session: its own token, the shared connections and discoveries
        (a version document is the same for every project that reads it at the same URL)."""
        return keystone_session.Session(**{**options, "discovery_cache": self._discovered},
                                        session=self._http)

    def reload_if_changed(self) -> bool:
        """Re-read the file if it changed (new projects, rotated credentials).

        Connections of unchanged entries are kept; the others are dropped without closing, since
        a call in another thread may still be using them. A file that cannot be used stops the
        first load with ``CloudsFileError``; later, it is logged once and the last good
        configuration stays in force.
        """
        try:
            info = os.stat(self._file)
        except OSError as error:
            if self._config is None:
                raise CloudsFileError(f"{self._file}: {error.strerror}") from None
            self.rejection = f"{self._file}: {error.strerror}"
            return False
        signature = (info.st_mtime_ns, info.st_size)
        if signature in (self._signature, self._rejected):
            return False
        try:
            config, clouds, entries = self._read()
        except CloudsFileError as error:
            if self._config is None:
                raise
            self._rejected, self.rejection = signature, str(error)
            logger.error("keeping the previous OpenStack credentials: %s", error)
            return False
        self.rejection = None
        self._connections = {project_id: connection
                             for project_id, connection in self._connections.items()
                             if entries.get(project_id) == self._entries.get(project_id)}
        self._reader_connections = {}
        self._config, self._clouds, self._entries = config, clouds, entries
        self._regions = {}
        for project_id, entry in entries.items():
            region = _region_of(entry)
            self._regions[region] = self._regions.get(region, frozenset()) | {project_id}
        self._signature = signature
        logger.info("%d projects configured in %s", len(clouds), self._file)
        return True

    def _read(self) -> tuple[OpenStackConfig, dict[str, str], dict[str, dict[str, Any]]]:
        """The file's entries by project; two entries for one project are refused."""
        config = OpenStackConfig(config_files=[str(self._file)], load_envvars=False,
                                 session_constructor=self._sessions)
        clouds: dict[str, str] = {}
        entries: dict[str, dict[str, Any]] = {}
        names = config.get_cloud_names()
        if self._reader and self._reader not in names:
            raise CloudsFileError(f"{self._file} has no entry {self._reader!r}, which CLOUD_READER names")
        for name in names:
            entry = config.cloud_config["clouds"][name]
            if name == self._reader or (name == "defaults" and not entry.get("auth")):
                continue  # the cloud-wide reader; the SDK's stand-in when the file names no cloud
            project_id = _project_of(name, entry)
            if project_id is None:
                logger.warning("clouds.yaml entry %r names no project id; it is ignored", name)
            elif project_id in clouds:
                raise CloudsFileError(
                    f"{self._file}: the entries {clouds[project_id]!r} and {name!r} both hold "
                    f"credentials for project {project_id}; keep one")
            else:
                clouds[project_id], entries[project_id] = name, entry
        if not clouds:
            raise CloudsFileError(f"{self._file} names no project: each entry needs auth.project_id "
                                  "(or, for an application credential, the project id as its name)")
        return config, clouds, entries

    @property
    def project_ids(self) -> list[str]:
        """Every configured project."""
        return sorted(self._clouds)

    def knows(self, project_id: str) -> bool:
        """Whether credentials are configured for the project (the file is re-read if it changed)."""
        return project_id in self._clouds or (self.reload_if_changed() and project_id in self._clouds)

    def connection(self, project_id: str) -> Connection:
        """The project's SDK connection, made once and reused so its token is reused."""
        connection = self._connections.get(project_id)
        if connection is None:
            name = self._clouds.get(project_id)
            if name is None or self._config is None:
                raise UnknownProject(f"no OpenStack credentials are configured for project {project_id}")
            region = self._config.get_one(cloud=name, api_timeout=self._api_timeout)
            connection = openstack.connection.Connection(config=region)
            self._connections[project_id] = connection
        return connection

    @property
    def reader_regions(self) -> list[str]:
        """The regions the cloud-wide reader reads ("" for a cloud's only one); none without one."""
        if not self._reader or self._config is None:
            return []
        return _regions_of(self._config.cloud_config["clouds"][self._reader])

    def projects_in(self, region: str) -> frozenset[str]:
        """The configured projects whose entries reach ``region``: those the reader's listing of it
        serves."""
        return self._regions.get(region, frozenset())

    def region_of(self, project_id: str) -> str:
        """The region a configured project's entry reaches."""
        return _region_of(self._entries.get(project_id, {}))

    def reader_connection(self, region: str) -> Connection:
        """The cloud-wide reader's SDK connection to a region, made once and reused."""
        connection = self._reader_connections.get(region)
        if connection is None:
            if not self._reader or self._config is None:
                raise UnknownProject("no cloud-wide reader is configured (CLOUD_READER)")
            connection = openstack.connection.Connection(config=self._config.get_one(
                cloud=self._reader, region_name=region or None, api_timeout=self._api_timeout))
            self._reader_connections[region] = connection
        return connection

    def close(self) -> None:
        """Close every connection."""
        for connection in [*self._connections.values(), *self._reader_connections.values()]:
            connection.close()
        self._connections.clear()
        self._reader_connections.clear()
        self._http.close()
