"""Records by key that are also grouped (by owning project, user or name), so that what one
project sees costs what it holds rather than what the whole cloud holds: a cloud of 10,000
projects answers each as fast as a cloud of one."""
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Record = TypeVar("Record")


class Grouped(MutableMapping[Key, Record], Generic[Key, Record]):
    """A mapping of records, each in the group ``group_of`` gives it; a record whose group is
    None belongs to every group (a public image, a shared network). A record's group is taken
    when it is stored: its grouping fields do not change afterwards."""

    def __init__(self, group_of: Callable[[Record], Hashable | None]) -> None:
        self._group_of = group_of
        self._records: dict[Key, Record] = {}
        self._order: dict[Key, int] = {}  # when each was stored, so a group lists in that order
        self._stored = 0
        self._groups: dict[Hashable | None, dict[Key, Record]] = {}

    def __getitem__(self, key: Key) -> Record:
        return self._records[key]

    def __setitem__(self, key: Key, record: Record) -> None:
        if key in self._records:
            del self[key]
        self._records[key] = record
        self._stored += 1
        self._order[key] = self._stored
        self._groups.setdefault(self._group_of(record), {})[key] = record

    def __delitem__(self, key: Key) -> None:
        record = self._records.pop(key)
        del self._order[key]
        del self._groups[self._group_of(record)][key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def group(self, group: Hashable) -> list[Record]:
        """The records of ``group`` and those of every group, in the order they were stored."""
        own, everyones = self._groups.get(group, {}), self._groups.get(None, {})
        keys = sorted([*own, *everyones], key=self._order.__getitem__)
        return [self._records[key] for key in keys]
