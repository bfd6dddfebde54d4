"""The webhook client's guard: names resolve at send time, and only to addresses the policy
allows; the connection goes to an address that passed, so a DNS answer cannot be swapped in
between the check and the connect."""
import ipaddress
import socket
from typing import Any

from aiohttp import ClientSession, ClientTimeout, TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from app.webhooks.destinations import DestinationPolicy, DestinationRefused


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` and keeps only the addresses the policy allows."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """The allowed addresses of ``host``; ``DestinationRefused`` if it has none."""
        results = await self._inner.resolve(host, port, family)
        refusals = [self._policy.refusal(ipaddress.ip_address(result["host"])) for result in results]
        allowed = [result for result, refusal in zip(results, refusals, strict=True) if refusal is None]
        if not allowed:
            raise DestinationRefused(next((r for r in refusals if r), f"{host} has no address"))
        return allowed

    async def close(self) -> None:
        """Release the inner resolver."""
        await self._inner.close()


def delivery_session(policy: DestinationPolicy, timeout: float,
                     resolver: AbstractResolver | None = None,
                     connector_class: type[TCPConnector] = TCPConnector, **connector: Any) -> ClientSession:
    """The HTTP client deliveries go out on: guarded resolution, no DNS cache (each send resolves
    anew), no proxies from the environment, a total timeout per request."""
    return ClientSession(
        connector=connector_class(resolver=GuardedResolver(policy, resolver), use_dns_cache=False,
                                  limit=0, **connector),
        timeout=ClientTimeout(total=timeout), trust_env=False, auto_decompress=False)
