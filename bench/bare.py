"""``python -m bench.bare``: the limit of the stack: a bare aiohttp handler that checks a bearer
token and answers the same bytes from memory, in one process, as the API runs in one."""
import argparse
import asyncio
import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from devtools.local_serving import serve_until_stopped


def bearer_app(token: str, body: Callable[[], Awaitable[bytes]]) -> web.Application:
    """One route: ``GET /cloud/servers`` answers what ``body`` gives to the right bearer token."""
    expected = f"Bearer {token}"

    async def answer(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            raise web.HTTPUnauthorized()
        return web.Response(body=await body(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/cloud/servers", answer)
    return app


def bare_app(body: bytes, token: str) -> web.Application:
    """``GET /cloud/servers`` answers ``body``, from memory."""
    async def same_bytes() -> bytes:
        return body

    return bearer_app(token, same_bytes)


def main() -> None:
    """Serve on 127.0.0.1 until stopped; the URL goes to the port file once listening."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--token", required=True)
    arguments = parser.parse_args()
    asyncio.run(serve_until_stopped(bare_app(arguments.body.read_bytes(), arguments.token),
                                    arguments.port_file))


if __name__ == "__main__":
    main()
