"""Slow and idle clients: a body that does not arrive is a 408, bodies being received at once are
bounded, and an idle keep-alive connection is closed."""
import asyncio
import json

import pytest

from tests.service.test_malformed_http import parse


@pytest.fixture
async def slow_setup(service, api_client):
    setup = service(servers=0, body_timeout=2, body_reads_max=1, keepalive_timeout=0.5)
    client = await api_client(setup.settings)
    return setup, client.server.port


def truncated_post(setup, announced: int = 500) -> bytes:
    return (f"POST /cloud/servers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {setup.tokens['admin']}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n{{}}").encode()


async def test_a_body_that_does_not_arrive_is_408(slow_setup):
    setup, port = slow_setup
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(truncated_post(setup))

    status, headers, body = parse(await asyncio.wait_for(reader.read(65536), 5))
    writer.close()

    assert status == 408 and headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 408


async def test_bodies_received_at_once_are_bounded(slow_setup):
    setup, port = slow_setup
    _, held = await asyncio.open_connection("127.0.0.1", port)
    held.write(truncated_post(setup))  # takes the only slot until its 408
    await asyncio.sleep(0.1)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(truncated_post(setup, announced=2))

    status, headers, _ = parse(await asyncio.wait_for(reader.read(65536), 5))
    held.close()
    writer.close()

    assert status == 503 and int(headers["retry-after"]) >= 1


async def test_an_idle_keep_alive_connection_is_closed(slow_setup):
    _, port = slow_setup
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = await asyncio.wait_for(reader.readuntil(b'"ok"}'), 5)

    closed = await asyncio.wait_for(reader.read(), 5)  # EOF once the idle timeout passes
    writer.close()

    assert answer.startswith(b"HTTP/1.1 200") and closed == b""
