"""Lists decoded for filtering and paging: once per version, within a bound on what is held."""
import json

from app.api.decoded_lists import DecodedLists
from app.snapshot.snapshot_store import Listing


def listing(etag: str, items: list) -> Listing:
    return Listing(body=json.dumps(items).encode(), etag=etag, taken_at=1.0, stale=False)


def test_a_version_is_decoded_once_and_the_oldest_leave_past_the_bound():
    first, second, third = (listing(f'"{n}"', [{"id": str(n) * 40}]) for n in range(3))
    decoded = DecodedLists(budget=len(first.body) * 2)

    once, again = decoded.items(first), decoded.items(first)
    decoded.items(second)
    decoded.items(third)  # past the bound: the least recently used leaves

    assert once is again and once == [{"id": "0" * 40}]
    assert decoded.items(first) is not once and decoded.items(third) is decoded.items(third)
