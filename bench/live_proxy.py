"""``python -m bench.live_proxy``: the design this service replaces: every ``GET /cloud/servers``
lists the project's servers from Nova through openstacksdk (one reused connection, in a thread),
as dashboards do."""
import argparse
import asyncio
import json

import openstack
from aiohttp import web

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
    """Serve on 127.0.0.1 until stopped (clouds.yaml from ``OS_CLIENT_CONFIG_FILE``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cloud", required=True)
    parser.add_argument("--token", required=True)
    arguments = parser.parse_args()
    web.run_app(proxy_app(arguments.cloud, arguments.token), host="127.0.0.1", port=arguments.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
