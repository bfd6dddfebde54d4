"""Decoded lists for filtering and paging: each version (its ETag) decoded once per process, in
a small cache bounded by the size of the bodies it holds (decoded, a list takes several times its
JSON's size)."""
import json
from collections import OrderedDict
from typing import Any

from ..snapshot.snapshot_store import Listing

DECODED_BYTES = 16 * 1024 * 1024  # of JSON bodies whose decoded items are kept
Item = dict[str, Any]


class DecodedLists:
    """Lists' items by ETag, least recently used first out."""

    def __init__(self, budget: int = DECODED_BYTES) -> None:
        self._budget = budget
        self._held = 0
        self._items: OrderedDict[str, tuple[int, list[Item]]] = OrderedDict()

    def items(self, listing: Listing) -> list[Item]:
        """The list's items (shared: read them, do not change them)."""
        kept = self._items.get(listing.etag)
        if kept is not None:
            self._items.move_to_end(listing.etag)
            return kept[1]
        items: list[Item] = json.loads(listing.body)
        if len(listing.body) <= self._budget:
            self._items[listing.etag] = (len(listing.body), items)
            self._held += len(listing.body)
            while self._held > self._budget:
                _, (size, _) = self._items.popitem(last=False)
                self._held -= size
        return items
