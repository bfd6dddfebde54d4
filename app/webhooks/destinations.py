"""Where deliveries may go: https (or http when allowed) to public addresses, or allowlisted ones.

Loopback, link-local (the 169.254.169.254 metadata address among them), private, unique-local,
multicast, reserved and unspecified addresses are refused unless an allowlisted network holds
them. A URL naming an address is checked when it is subscribed; a name is checked when it is
resolved at send time, and the connection goes to the address that passed (no rebinding).
"""
import ipaddress
import re
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A subscribed URL is printable ASCII without spaces (RFC 3986: anything else is percent-encoded)
# and has no fragment, which a delivery would never send: every character but space and "#".
URL_PATTERN = r'^[!"$-~]+$'


class DestinationRefused(OSError):
    """A delivery may not go to this address."""


class DestinationPolicy:
    """The rules of the settings: which schemes, and which otherwise-refused networks are allowed."""

    def __init__(self, allow_http: bool, allowed_networks: tuple[str, ...]) -> None:
        self.allow_http = allow_http
        self._allowed = tuple(ipaddress.ip_network(network) for network in allowed_networks)

    def url_errors(self, url: str) -> list[str]:
        """Why ``url`` cannot be subscribed to (nothing if it can)."""
        schemes = ("https", "http") if self.allow_http else ("https",)
        if "#" in url:
            return ["The URL must not have a fragment."]
        if not re.match(URL_PATTERN, url):
            return ["The URL must be printable ASCII without spaces or control characters "
                    "(percent-encode anything else)."]
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (a bad port raises here)
        except ValueError:
            return ["Not a valid URL."]
        if parts.scheme not in schemes:
            return [f"The URL must use {' or '.join(schemes)}."]
        if not parts.hostname:
            return ["The URL must name a host."]
        if parts.username is not None or parts.password is not None:
            return ["The URL must not hold credentials."]
        address = _address(parts.hostname)
        if address is not None:
            refusal = self.refusal(address)
            return [refusal] if refusal else []
        name = parts.hostname.rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            return ["The URL names this host (localhost)."]
        return []

    def refusal(self, address: IpAddress) -> str | None:
        """Why a delivery may not connect to ``address`` (None if it may)."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self._allowed):
            return None
        for refused, kind in ((address.is_loopback, "loopback"), (address.is_link_local, "link-local"),
                              (address.is_private, "private"), (address.is_multicast, "multicast"),
                              (address.is_reserved, "reserved"),
                              (address.is_unspecified, "unspecified")):
            if refused:
                return f"The destination {address} is a {kind} address; deliveries are not sent there."
        return None

    def check(self, host: str) -> None:
        """``DestinationRefused`` if ``host`` is a refused address (a name passes: it is checked
        once resolved)."""
        address = _address(host)
        refusal = None if address is None else self.refusal(address)
        if refusal:
            raise DestinationRefused(refusal)


def _address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
