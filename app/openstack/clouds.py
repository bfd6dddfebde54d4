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
    bound to a project Keystone knows, so such an entry is named after its project id.
    """

    def __init__(self, clouds_file: Path, api_timeout: float, connections_per_host: int) -> None:
        self._file = clouds_file
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
        self._config, self._clouds, self._entries = config, clouds, entries
        self._signature = signature
        logger.info("%d projects configured in %s", len(clouds), self._file)
        return True

    def _read(self) -> tuple[OpenStackConfig, dict[str, str], dict[str, dict[str, Any]]]:
        """The file's entries by project; two entries for one project are refused."""
        config = OpenStackConfig(config_files=[str(self._file)], load_envvars=False,
                                 session_constructor=self._sessions)
        clouds: dict[str, str] = {}
        entries: dict[str, dict[str, Any]] = {}
        for name in config.get_cloud_names():
            entry = config.cloud_config["clouds"][name]
            if name == "defaults" and not entry.get("auth"):
                continue  # the SDK's stand-in when the file names no cloud at all
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

    def close(self) -> None:
        """Close every connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        self._http.close()
