"""How a resize, its confirm or revert, and a snapshot look from Nova's records: the states a job
waits for, told from the records alone (the executor asks and watches: ``execution.py``)."""
from collections.abc import Callable, Mapping
from typing import Any

from ..core.records import Image
from ..openstack.translation import is_partial, server_from_nova

NovaRecord = dict[str, Any]
RESIZING = ("RESIZE", "REVERT_RESIZE")  # statuses while Nova moves a server to a flavor or back
IMAGE_FAILED = ("killed", "deleted", "pending_delete", "deactivated")


def idle(record: NovaRecord) -> bool:
    """Whether Nova shows no task under way."""
    return record.get("OS-EXT-STS:task_state") is None


def on_flavor(record: NovaRecord, flavor_id: str, flavor_ids: Mapping[str, str]) -> bool:
    """Whether the server runs on the flavor ``flavor_id`` (Nova embeds flavors by name)."""
    return server_from_nova(record, flavor_ids)["flavor"]["id"] == flavor_id


def resize_settled(flavor_id: str, flavor_ids: Mapping[str, str]) -> Callable[[NovaRecord | None], bool]:
    """The end of a resize Nova was asked for: ``VERIFY_RESIZE``; or, once Nova was seen at it,
    idle again (on the new flavor when the cloud confirmed it itself, on the old one when the
    resize failed); or ``ERROR``; or gone."""
    seen = [False]

    def settled(record: NovaRecord | None) -> bool:
        if record is None or is_partial(record):
            return record is None
        seen[0] = seen[0] or record.get("status") in RESIZING or not idle(record)
        if not idle(record):
            return False
        status = record.get("status")
        return (status in ("VERIFY_RESIZE", "ERROR") or on_flavor(record, flavor_id, flavor_ids)
                or (seen[0] and status in ("ACTIVE", "SHUTOFF")))

    return settled


def resize_over(record: NovaRecord | None) -> bool:
    """After a confirm or a revert: idle, and no longer waiting in ``VERIFY_RESIZE`` (or gone)."""
    if record is None or is_partial(record):
        return record is None
    return idle(record) and record.get("status") not in ("VERIFY_RESIZE", *RESIZING)


def image_settled(image: Image | None) -> bool:
    """A snapshot's image is ``active``, failed, or gone."""
    return image is None or image["status"] == "active" or image["status"] in IMAGE_FAILED


def fault_of(record: NovaRecord) -> str:
    """Nova's fault message on a server, if it has one."""
    return str((record.get("fault") or {}).get("message", "no reason given")).rstrip(".")
