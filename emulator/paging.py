"""Marker-and-limit paging as Nova, Glance and Neutron implement it."""
from collections.abc import Callable, Sequence
from typing import TypeVar

from .api_errors import ApiError

Item = TypeVar("Item")


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """The page size: the requested limit (0 or absent means the default), capped."""
    if raw is None or raw == "":
        return min(default, maximum)
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(400, f"limit param must be an integer: {raw!r}") from None
    if limit < 0:
        raise ApiError(400, "limit param must be positive")
    return min(limit or default, maximum)


def page(items: Sequence[Item], marker: str | None, limit: int,
         key: Callable[[Item], str]) -> tuple[list[Item], bool]:
    """The items after ``marker`` (400 if unknown), at most ``limit`` of them.

    The flag says whether a "next" link is due; like the real services, it is set
    whenever the page is full, even when nothing follows.
    """
    start = 0
    if marker:
        for index, item in enumerate(items):
            if key(item) == marker:
                start = index + 1
                break
        else:
            raise ApiError(400, f"marker [{marker}] not found")
    chosen = list(items[start:start + limit])
    return chosen, len(chosen) == limit
