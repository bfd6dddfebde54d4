"""Lists decoded for filtering and paging: once per version, within a bound on what is held; a
page is its items' own texts joined, byte for byte what encoding them would give."""
import json

import pytest

from app.api.decoded_lists import DecodedLists, decode_list
from app.snapshot.codec import encode
from app.snapshot.snapshot_store import Listing


def listing(etag: str, items: list) -> Listing:
    return Listing(body=json.dumps(items).encode(), etag=etag, taken_at=1.0, stale=False)


def test_a_version_is_decoded_once_and_the_oldest_leave_past_the_bound():
    first, second, third = (listing(f'"{n}"', [{"id": str(n) * 40}]) for n in range(3))
    decoded = DecodedLists(budget=len(first.body) * 2)

    once, again = decoded.decoded(first), decoded.decoded(first)
    decoded.decoded(second)
    decoded.decoded(third)  # past the bound: the least recently used leaves

    assert once is again and once.items == [{"id": "0" * 40}]
    assert decoded.decoded(first) is not once and decoded.decoded(third) is decoded.decoded(third)


def test_a_page_is_what_encoding_its_items_gives():
    servers = [{"id": f"s{n}", "name": f"naïve “{n}” \\ \"q\"", "addresses": {"net": [{"addr": n}]},
                "metadata": {}, "tags": [], "volumes": None} for n in range(5)]
    body = ("[" + ",".join(encode(server) for server in servers) + "]").encode()  # as the store joins

    decoded = decode_list(body)

    assert decoded.items == servers
    assert decoded.body([1, 3, 4]) == encode([servers[1], servers[3], servers[4]]).encode()
    assert decoded.body(range(5)) == body and decoded.body([]) == b"[]"


@pytest.mark.parametrize("body", [b"[]", b" [ ] ", b'[ {"id": "a"} , {"id": "b"} ]'])
def test_empty_and_spaced_arrays_decode(body):
    decoded = decode_list(body)

    assert decoded.items == json.loads(body)
    assert json.loads(decoded.body(range(len(decoded.items)))) == json.loads(body)


@pytest.mark.parametrize("body", [b'{"id": "a"}', b'[{"id": "a"} {"id": "b"}]', b'[{"id": "a"}'])
def test_a_body_that_is_not_an_array_is_refused(body):
    with pytest.raises(ValueError):
        decode_list(body)
