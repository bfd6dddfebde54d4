"""``python -m bench.live_proxy``: the design this service replaces: every ``GET /cloud/servers``
lists the project's servers from Nova through openstacksdk (one reused connection, in a thread),
as dashboards do."""
import argparse
import asyncio
import json
from pathlib import Path

import openstack
from aiohttp import web

from devtools.local_serving import serve_until_stopped

from .bare import bearer_app


def proxy_app(cloud: str, token: str) -> web.Application:
    """One route: ``GET /cloud/servers`` answers Nova's list of the cloud's project."""
    connection = openstack.connect(cloud=cloud)

    def listed() -> bytes:
        return json.dumps([server.to_dict() for server in connection.compute.servers()]).encode()

    async def from_nova() -> bytes:
        return await asyncio.to_thread(listed)

    return bearer_app(token, from_nova)


def main() -> None:
    """Serve on 127.0.0.1 until stopped (clouds.yaml from ``OS_CLIENT_CONFIG_FILE``); the URL goes
    to the port file once listening."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--cloud", required=True)
    parser.add_argument("--token", required=True)
    arguments = parser.parse_args()
    asyncio.run(serve_until_stopped(proxy_app(arguments.cloud, arguments.token), arguments.port_file))


if __name__ == "__main__":
    main()
