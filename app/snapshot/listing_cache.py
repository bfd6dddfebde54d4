"""The lists a process has read, kept while Redis tells it of every change to them.

A list's body is kept by its ETag, so reading it again costs only its three small fields. While
the process follows the snapshot's change channel (``change_feed``), a list it has read is also
*confirmed*: it is answered with no Redis round trip at all until a change to its project is
published, the channel is lost, or ``confirm_for`` seconds pass (a bound should a message ever
be missed). Reads race with changes; a read that began before a change to its project was
heard is kept for its body but not confirmed.
"""
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..store.redis_layout import LIST_KINDS

LISTS_KEPT = 1024  # lists a process keeps (a few MB for 200-server lists)
CHANGES_REMEMBERED = 4 * LISTS_KEPT  # projects whose latest change is remembered one by one


@dataclass(frozen=True)
class Listing:
    """An encoded list as the snapshot holds it."""

    body: bytes
    etag: str
    taken_at: float
    stale: bool

    def age(self, now: float) -> float:
        """Seconds since the list was last confirmed against OpenStack."""
        return max(0.0, now - self.taken_at)

    def items(self) -> list[dict[str, Any]]:
        """The decoded list (for filtering and paging)."""
        items: list[dict[str, Any]] = json.loads(self.body)
        return items


@dataclass
class _Kept:
    listing: Listing
    confirmed_until: float  # 0: the body is known, its fields must be read again


class ListingCache:
    """Lists by (project, kind), confirmed while the change channel is followed."""

    def __init__(self, size: int = LISTS_KEPT, confirm_for: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._kept: OrderedDict[tuple[str, str], _Kept] = OrderedDict()
        self._size = size
        self._confirm_for = confirm_for
        self._monotonic = monotonic
        self._following = False
        self._sequence = 0  # counts changes heard (and losses of the channel)
        self._changed_at: OrderedDict[str, int] = OrderedDict()  # project -> its latest change
        self._forgotten_up_to = 0  # the latest change no longer remembered by project

    def confirmed(self, project_id: str, kind: str) -> Listing | None:
        """The list, if it can be answered without reading Redis."""
        kept = self._kept.get((project_id, kind))
        if kept is None or not self._following or kept.confirmed_until < self._monotonic():
            return None
        return kept.listing

    def kept(self, project_id: str, kind: str, etag: str) -> Listing | None:
        """The kept list, if this process has this version of it (its body, whatever its age)."""
        kept = self._kept.get((project_id, kind))
        if kept is None or kept.listing.etag != etag:
            return None
        self._kept.move_to_end((project_id, kind))
        return kept.listing

    def reading(self) -> int:
        """A mark to take before reading a list from Redis, for ``keep``."""
        return self._sequence

    def keep(self, project_id: str, kind: str, listing: Listing, read_from: int) -> None:
        """Keep a list read after the mark ``read_from``; confirmed unless its project changed
        (or the channel was lost) since."""
        fresh = self._following and self._last_change(project_id) <= read_from
        until = self._monotonic() + self._confirm_for if fresh else 0.0
        self._kept[(project_id, kind)] = _Kept(listing, until)
        self._kept.move_to_end((project_id, kind))
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def changed(self, project_id: str) -> None:
        """A change to the project's lists was published: read them again."""
        self._sequence += 1
        self._changed_at[project_id] = self._sequence
        self._changed_at.move_to_end(project_id)
        if len(self._changed_at) > CHANGES_REMEMBERED:
            _, sequence = self._changed_at.popitem(last=False)
            self._forgotten_up_to = max(self._forgotten_up_to, sequence)
        for kind in LIST_KINDS:
            kept = self._kept.get((project_id, kind))
            if kept is not None:
                kept.confirmed_until = 0.0

    def follow(self) -> None:
        """The change channel is subscribed: lists read from now on may be confirmed."""
        self._unconfirm_all()
        self._following = True

    def lose(self) -> None:
        """The change channel is lost: every list is read again until it is back."""
        self._following = False
        self._unconfirm_all()

    @property
    def following(self) -> bool:
        """Whether the change channel is followed."""
        return self._following

    def _unconfirm_all(self) -> None:
        self._sequence += 1
        self._forgotten_up_to = self._sequence  # a read begun before now confirms nothing
        for kept in self._kept.values():
            kept.confirmed_until = 0.0

    def _last_change(self, project_id: str) -> int:
        return max(self._changed_at.get(project_id, 0), self._forgotten_up_to)
