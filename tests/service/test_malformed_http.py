"""What the HTTP parser rejects, sent as raw bytes to a real listening socket: a problem document
that echoes nothing, names no versions, carries a request id, and one WARNING line at most."""
import asyncio
import json
import logging

import pytest

TOKEN = "s3cret-T0KEN-for-the-parser-tests"
GOOD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def request(*headers: bytes, start: bytes = b"GET /cloud/servers HTTP/1.1") -> bytes:
    return b"\r\n".join([start, b"Host: 127.0.0.1", *headers, b"", b""])


BEARER = b"Authorization: Bearer " + TOKEN.encode()
MALFORMED = {
    "bad byte in a header": request(BEARER + b"\x01", b"X-A: b"),
    "16 KiB token": request(b"Authorization: Bearer " + TOKEN.encode() + b"x" * 16384),
    "100 KiB header": request(BEARER, b"X-Big: " + b"y" * 102400),
    "500 headers": request(BEARER, *(b"X-H%d: v" % i for i in range(500))),
    "NUL in a header": request(BEARER + b"\x00tail"),
    "bare CR in a header": request(BEARER + b"\rX-Evil: 1"),
    "unknown method": request(BEARER, start=b"BR\x7fEW /cloud/servers HTTP/1.1"),
    "TLS bytes": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + TOKEN.encode() + b"\r\n\r\n",
    "space in the path": request(BEARER, start=b"GET /cloud/ser vers HTTP/1.1"),
    "Content-Length and Transfer-Encoding": request(
        BEARER, b"Content-Length: 5", b"Transfer-Encoding: chunked", start=b"POST /cloud/servers HTTP/1.1"),
}


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes or answers fully."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout)
    finally:
        writer.close()


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture
async def port(service, api_client) -> int:
    setup = service(servers=0)
    client = await api_client(setup.settings)
    return client.server.port


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_a_malformed_request_gets_a_clean_problem_and_one_quiet_log_line(port, case, caplog):
    caplog.set_level(logging.DEBUG)

    status, headers, body = parse(await exchange(port, MALFORMED[case]))

    assert 400 <= status < 500
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["x-request-id"] and headers["server"] == "cloud-servers-api"
    assert json.loads(body)["status"] == status
    assert TOKEN.encode() not in body and b"aiohttp" not in body
    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "app"))]
    assert not [r for r in records if TOKEN in r.getMessage() or r.exc_info]
    assert len([r for r in records if r.levelno >= logging.WARNING]) <= 1


async def test_a_good_request_on_the_same_server_still_works(port):
    status, headers, _ = parse(await exchange(port, GOOD))

    assert status == 200 and headers["server"] == "cloud-servers-api"
