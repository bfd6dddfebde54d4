"""Where Redis is: ``REDIS_URL`` read as one server, a Redis Cluster or a master behind Sentinel.

``redis+sentinel://[:password@]host:port[,host:port…]/<master name>[/db]`` (``rediss+sentinel://``
for TLS) names the sentinels to ask for the master; the password is the master's and the
sentinels' (as the common charts set them up).
"""
from dataclasses import dataclass, field
from urllib.parse import unquote

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
SERVER_SCHEMES = ("redis://", "rediss://", "unix://")


class RedisAddressError(ValueError):
    """``REDIS_URL`` cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class SentinelAddress:
    """The sentinels of a master, and how to reach the master they name."""

    sentinels: list[tuple[str, int]]
    master: str
    db: int = 0
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def is_cluster(url: str) -> bool:
    """Whether the URL names a Redis Cluster."""
    return url.startswith(CLUSTER_SCHEMES)


def sentinel_address(url: str) -> SentinelAddress | None:
    """The sentinels a ``redis+sentinel://`` URL names (None for any other scheme);
    ``RedisAddressError`` if it is malformed."""
    scheme = next((s for s in SENTINEL_SCHEMES if url.startswith(s)), None)
    if scheme is None:
        return None
    rest = url[len(scheme):]
    location, _, path = rest.partition("/")
    userinfo, _, hosts = location.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = [_host_and_port(host) for host in hosts.split(",")]
    parts = [unquote(part) for part in path.split("/") if part]
    if not parts or len(parts) > 2:
        raise RedisAddressError("a redis+sentinel:// URL names the master after the sentinels: "
                                "redis+sentinel://host:port[,host:port…]/<master name>[/db]")
    if len(parts) == 2 and not parts[1].isdigit():
        raise RedisAddressError(f"the database of a redis+sentinel:// URL is a number, not {parts[1]!r}")
    return SentinelAddress(sentinels, parts[0], int(parts[1]) if len(parts) == 2 else 0,
                           tls=scheme.startswith("rediss"), username=unquote(username) or None,
                           password=unquote(password) or None)


def _host_and_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisAddressError(f"each sentinel of a redis+sentinel:// URL is host:port, not {text!r}")
    return host.strip("[]"), int(port)


def check_redis_url(url: str) -> str | None:
    """Why ``REDIS_URL`` cannot be used, or None."""
    if not url.startswith((*SERVER_SCHEMES, *CLUSTER_SCHEMES, *SENTINEL_SCHEMES)):
        return ("REDIS_URL must start with redis://, rediss://, unix://, redis+cluster://, "
                "rediss+cluster://, redis+sentinel:// or rediss+sentinel://")
    try:
        sentinel_address(url)
    except RedisAddressError as error:
        return f"REDIS_URL: {error}"
    return None
