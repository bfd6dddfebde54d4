"""A configuration file re-read when it changes: a version that does not parse is refused whole,
logged once, and the last good one stays in force."""
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
Parsed = TypeVar("Parsed")
Signature = tuple[int, int, int]
_MISSING: Signature = (-1, -1, -1)  # the file cannot be read at all


def signature_of(path: Path) -> Signature:
    """What changes when the file does (``os.stat`` follows the symlinks a Kubernetes volume swaps)."""
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size, info.st_ino


class ReloadingFile(Generic[Parsed]):
    """The parsed content of a file, looked at for changes at most every ``check_interval`` s.

    ``parse`` raises ``ValueError`` (or ``OSError``) for a file it refuses; the first read must
    succeed (the caller checked the file at start)."""

    def __init__(self, path: Path, parse: Callable[[str, str], Parsed], what: str,
                 check_interval: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._parse = parse
        self._what = what
        self._check_interval = check_interval
        self._clock = clock
        self._signature = signature_of(path)
        self._current = parse(path.read_text(), str(path))
        self._checked_at = clock()
        self._refused: Signature | None = None  # the version last refused (logged once)
        self.version = 0  # counts the reloads: what was derived from an older one is stale

    def current(self) -> Parsed:
        """The content in force, re-read first if the file changed since the last look."""
        now = self._clock()
        if now - self._checked_at >= self._check_interval:
            self._checked_at = now
            self._reload_if_changed()
        return self._current

    def _reload_if_changed(self) -> None:
        try:
            signature = signature_of(self._path)
        except OSError as error:
            self._refuse(_MISSING, error)
            return
        if signature in (self._signature, self._refused):
            return
        try:
            parsed = self._parse(self._path.read_text(), str(self._path))
        except (OSError, ValueError) as error:
            self._refuse(signature, error)
            return
        self._current, self._signature, self._refused = parsed, signature, None
        self.version += 1
        logger.info("reloaded the %s from %s", self._what, self._path)

    def _refuse(self, signature: Signature, error: Exception) -> None:
        """Keep the last good content; say so once per refused version of the file."""
        if signature != self._refused:
            logger.error("keeping the previous %s: %s", self._what, error)
        self._refused = signature
