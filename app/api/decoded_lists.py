"""Decoded lists for filtering and paging: each version (its ETag) decoded once per process, in
a small cache bounded by the size of the bodies it holds (decoded, a list takes several times its
JSON's size). Each item keeps its own JSON text as the list holds it, so that a page is the
chosen items' texts joined, not encoded again."""
import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from json.decoder import WHITESPACE  # type: ignore[attr-defined]
from typing import Any

from ..snapshot.snapshot_store import Listing

DECODED_BYTES = 16 * 1024 * 1024  # of JSON bodies whose decoded items are kept
Item = dict[str, Any]
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class DecodedList:
    """A list's items, and each item's JSON text as the list holds it."""

    items: list[Item]
    texts: list[str]

    def body(self, positions: Iterable[int]) -> bytes:
        """The JSON array of the items at ``positions``, as the list encodes them."""
        return ("[" + ",".join(self.texts[i] for i in positions) + "]").encode()


def decode_list(body: bytes) -> DecodedList:
    """One pass over a JSON array: each item decoded, with the text it was decoded from."""
    text = body.decode()
    items: list[Item] = []
    texts: list[str] = []
    position = WHITESPACE.match(text, 0).end()
    if text[position:position + 1] != "[":
        raise ValueError("a stored list is a JSON array")
    position = WHITESPACE.match(text, position + 1).end()
    if text[position:position + 1] == "]":
        return DecodedList(items, texts)
    while True:
        item, end = _DECODER.raw_decode(text, position)
        items.append(item)
        texts.append(text[position:end])
        position = WHITESPACE.match(text, end).end()
        separator = text[position:position + 1]
        position = WHITESPACE.match(text, position + 1).end()
        if separator == "]":
            return DecodedList(items, texts)
        if separator != ",":
            raise ValueError(f"a stored list has {separator!r} where ',' or ']' belongs")


class DecodedLists:
    """Lists' items by ETag, least recently used first out."""

    def __init__(self, budget: int = DECODED_BYTES) -> None:
        self._budget = budget
        self._held = 0
        self._lists: OrderedDict[str, tuple[int, DecodedList]] = OrderedDict()

    def decoded(self, listing: Listing) -> DecodedList:
        """The list's items and their texts (shared: read them, do not change them)."""
        kept = self._lists.get(listing.etag)
        if kept is not None:
            self._lists.move_to_end(listing.etag)
            return kept[1]
        decoded = decode_list(listing.body)
        if len(listing.body) <= self._budget:
            self._lists[listing.etag] = (len(listing.body), decoded)
            self._held += len(listing.body)
            while self._held > self._budget:
                _, (size, _) = self._lists.popitem(last=False)
                self._held -= size
        return decoded
