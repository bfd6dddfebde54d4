"""gzip for clients that take it: lists compressed once per version, with their own ETag and
``Vary: Accept-Encoding``; other large answers compressed as sent; the rest untouched."""
import gzip

import aiohttp

from app.api import compression
from app.api.compression import CompressedBodies


async def raw_get(client, path: str, headers: dict[str, str]):
    async with aiohttp.ClientSession(auto_decompress=False) as session, \
            session.get(client.make_url(path), headers=headers) as response:
        return response.status, response.headers.copy(), await response.read()  # case-insensitive


async def test_a_list_is_gzipped_for_a_client_that_takes_it(service, api_client):
    setup = service(servers=12)
    client = await api_client(setup.settings)
    path = f"/cloud/servers?project_id={setup.project_id}"

    status, plain_headers, plain = await raw_get(client, path,
                                                 setup.headers(**{"Accept-Encoding": "identity"}))
    _, gzip_headers, packed = await raw_get(client, path,
                                            setup.headers(**{"Accept-Encoding": "gzip, br"}))
    again, _, _ = await raw_get(client, path, setup.headers(**{
        "Accept-Encoding": "gzip", "If-None-Match": gzip_headers["ETag"]}))
    refused, refused_headers, _ = await raw_get(client, path,
                                                setup.headers(**{"Accept-Encoding": "gzip;q=0"}))

    assert status == 200 and len(plain) > compression.MIN_SIZE
    assert "Content-Encoding" not in plain_headers and plain_headers.getall("Vary") == ["Accept-Encoding"]
    assert gzip_headers["Content-Encoding"] == "gzip" and gzip_headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed) == plain and len(packed) < len(plain) / 3
    assert gzip_headers["ETag"] != plain_headers["ETag"] and gzip_headers["ETag"].endswith('-gzip"')
    assert again == 304
    assert refused == 200 and "Content-Encoding" not in refused_headers


def test_each_list_version_is_compressed_once(monkeypatch):
    calls = []
    real = gzip.compress
    monkeypatch.setattr(compression.gzip, "compress", lambda body, *a, **k: calls.append(1) or real(body))
    bodies = CompressedBodies(size=2)

    first = [bodies.get('"v1-gzip"', b"x" * 2000) for _ in range(5)]
    bodies.get('"v2-gzip"', b"y" * 2000)
    bodies.get('"v3-gzip"', b"z" * 2000)  # v1 falls out of the 2-entry cache
    bodies.get('"v1-gzip"', b"x" * 2000)

    assert len(set(first)) == 1 and gzip.decompress(first[0]) == b"x" * 2000
    assert len(calls) == 4


async def test_other_large_answers_are_compressed_and_small_ones_left_alone(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    _, document_headers, document = await raw_get(client, "/cloud/openapi.json",
                                                  {"Accept-Encoding": "gzip"})
    _, health_headers, _ = await raw_get(client, "/healthz", {"Accept-Encoding": "gzip"})
    _, identity_headers, _ = await raw_get(client, "/cloud/openapi.json", {"Accept-Encoding": "identity"})

    assert document_headers["Content-Encoding"] == "gzip" and gzip.decompress(document).startswith(b"{")
    assert "Content-Encoding" not in health_headers and "Content-Encoding" not in identity_headers
    assert identity_headers["Vary"] == "Accept-Encoding"
