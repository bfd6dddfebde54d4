"""A server's console log and remote consoles, live from Nova, with Nova's refusals told plainly."""
from ..core.errors import Conflict, OpenStackRejected, UnprocessableRequest
from .gateway import OpenStackGateway

# The protocol a client asks for -> the console type Nova gives it in a browser (or a socket).
CONSOLE_TYPES = {"vnc": "novnc", "spice": "spice-html5", "serial": "serial"}
CONSOLE_PROTOCOLS = tuple(CONSOLE_TYPES)


class ServerConsoles:
    """Reads a server's console log and opens remote consoles; a console URL is a credential,
    which this class neither logs nor keeps."""

    def __init__(self, gateway: OpenStackGateway) -> None:
        self._gateway = gateway

    async def log(self, project_id: str, server_id: str, lines: int) -> str:
        """The last ``lines`` lines of the console log; ``Conflict`` while Nova has none yet."""
        try:
            return await self._gateway.console_output(project_id, server_id, lines)
        except OpenStackRejected as refused:
            if refused.status == 409:
                raise Conflict(f"Server {server_id} has no console log yet (it is not ready).") from None
            raise

    async def remote(self, project_id: str, server_id: str, protocol: str) -> dict[str, str]:
        """A new remote console: ``{protocol, type, url}``. ``UnprocessableRequest`` if the cloud
        does not offer the protocol, ``Conflict`` unless the server runs."""
        try:
            kind = CONSOLE_TYPES[protocol]
            return await self._gateway.remote_console(project_id, server_id, protocol, kind)
        except OpenStackRejected as refused:
            if refused.status == 400 and "Unavailable console type" in refused.detail:
                raise UnprocessableRequest(f"This cloud offers no {protocol} console.", {
                    "protocol": [f"Not offered by this cloud's Nova ({CONSOLE_TYPES[protocol]})."]}) from None
            if refused.status == 409:
                raise Conflict(f"Server {server_id} must be running (ACTIVE) to open a console.") from None
            raise
