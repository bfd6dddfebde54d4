"""How an emulated server moves through Nova's states as emulated time passes.

Transitions are planned when a server is created or deleted and applied lazily,
whenever the server is next read, stamped with the time they were due: the same
``updated`` a real Nova would have written at that moment.
"""
from collections.abc import Callable

from .cloud_records import NOSTATE, PAUSED, RUNNING, SHUTDOWN, SUSPENDED, Flavor, Server, Transition

# vm_state -> the status Nova's API shows (nova/api/openstack/common.py).
_STATUS_OF_VM_STATE = {
    "active": "ACTIVE",
    "building": "BUILD",
    "stopped": "SHUTOFF",
    "paused": "PAUSED",
    "suspended": "SUSPENDED",
    "rescued": "RESCUE",
    "resized": "VERIFY_RESIZE",
    "soft-delete": "SOFT_DELETED",
    "shelved": "SHELVED",
    "shelved_offloaded": "SHELVED_OFFLOADED",
    "error": "ERROR",
    "deleted": "DELETED",
}
# A status an operator can force through the control API, as Nova would store it.
FORCEABLE_STATUSES = {
    "ACTIVE": ("active", RUNNING),
    "SHUTOFF": ("stopped", SHUTDOWN),
    "PAUSED": ("paused", PAUSED),
    "SUSPENDED": ("suspended", SUSPENDED),
    "ERROR": ("error", NOSTATE),
}
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."

AddressAllocator = Callable[[Server], None]


# (vm_state, task_state) pairs whose status Nova shows differently (nova/api/openstack/common.py).
_STATUS_OF_TASK = {("active", "rebooting"): "REBOOT", ("active", "rebooting_hard"): "HARD_REBOOT",
                   ("resized", "resize_reverting"): "REVERT_RESIZE",
                   **{(vm_state, task): "RESIZE" for vm_state in ("active", "stopped")
                      for task in ("resize_prep", "resize_migrating", "resize_migrated", "resize_finish")}}
# Server actions: the vm_states each may start from (with no task under way), the task state
# it sets at once, and the (vm_state, power_state) it ends in, as Nova's compute API does.
ACTIONS = {
    "stop": (("active", "error"), "powering-off", ("stopped", SHUTDOWN)),
    "start": (("stopped",), "powering-on", ("active", RUNNING)),
    "reboot SOFT": (("active",), "rebooting", ("active", RUNNING)),
    "reboot HARD": (("active", "stopped", "error"), "rebooting_hard", ("active", RUNNING)),
}


def status_of(server: Server) -> str:
    """The API status Nova derives from the server's vm_state (and task_state)."""
    return _STATUS_OF_TASK.get((server.vm_state, server.task_state or ""),
                               _STATUS_OF_VM_STATE.get(server.vm_state, "UNKNOWN"))


def refusal(server: Server, action: str) -> str | None:
    """Why Nova refuses ``action`` on the server now, in Nova's words, or None."""
    allowed, _, _ = ACTIONS[action]
    method = action.split()[0]
    if server.task_state is not None:
        return (f"Cannot '{method}' instance {server.id} while it is in task_state "
                f"{server.task_state}")
    if server.vm_state not in allowed:
        return f"Cannot '{method}' instance {server.id} while it is in vm_state {server.vm_state}"
    return None


def plan_action(server: Server, action: str, now: float, delay: float) -> None:
    """Start an action: its task state at once, its end state after ``delay``."""
    _, task_state, _ = ACTIONS[action]
    server.task_state = task_state
    server.updated_at = now
    server.pending = [Transition(now + delay, action)]


def plan_build(server: Server, delay: float, fails: bool) -> None:
    """Schedule scheduling -> networking -> spawning -> ACTIVE (or ERROR)."""
    start = server.created_at
    server.pending = [
        Transition(start + delay / 3, "networking"),
        Transition(start + 2 * delay / 3, "spawning"),
        Transition(start + delay, "error" if fails else "active"),
    ]


def plan_delete(server: Server, now: float, delay: float) -> None:
    """Mark the server as deleting and schedule its removal."""
    server.task_state = "deleting"
    server.updated_at = now
    server.pending = [Transition(now + delay, "deleted")]


def force_status(server: Server, status: str, now: float) -> None:
    """Set a status as if it changed outside the API (a guest shut down, a host failed)."""
    server.vm_state, server.power_state = FORCEABLE_STATUSES[status]
    server.task_state = None
    server.pending = []
    server.updated_at = now


def settle(server: Server, now: float, allocate_addresses: AddressAllocator) -> None:
    """Apply every transition that is due by ``now``, in order."""
    while server.pending and server.pending[0].at <= now:
        transition = server.pending.pop(0)
        _apply(server, transition, allocate_addresses)
        server.updated_at = transition.at


def _apply(server: Server, transition: Transition, allocate_addresses: AddressAllocator) -> None:
    step = transition.step
    if step == "networking":
        server.task_state = "networking"
        server.host = "compute-1"
    elif step == "spawning":
        server.task_state = "spawning"
        allocate_addresses(server)
    elif step == "active":
        server.vm_state, server.task_state, server.power_state = "active", None, RUNNING
        server.launched_at = transition.at
    elif step == "error":
        server.vm_state, server.task_state, server.power_state = "error", None, NOSTATE
        server.fault = {"code": 500, "message": server.build_failure or NO_VALID_HOST,
                        "created": transition.at}
    elif step in ACTIONS:
        _, _, (server.vm_state, server.power_state) = ACTIONS[step]
        server.task_state = None
    elif _apply_long_step(server, step):
        pass
    elif step == "deleted":
        server.vm_state, server.task_state, server.power_state = "deleted", None, NOSTATE
        server.terminated_at = server.deleted_at = transition.at
    else:  # pragma: no cover - a programming error, not a runtime condition
        raise ValueError(f"unknown lifecycle step {step!r}")


def plan_resize(server: Server, flavor: Flavor, now: float, delay: float, confirm_window: float) -> None:
    """resize_prep -> resize_migrating -> resize_finish -> VERIFY_RESIZE (auto-confirmed after
    ``confirm_window`` seconds, as some clouds' ``resize_confirm_window`` does, unless 0)."""
    server.resize_from, server.resize_to = server.flavor, flavor
    server.power_before_resize = server.vm_state
    server.task_state, server.updated_at = "resize_prep", now
    server.pending = [Transition(now + delay / 3, "resize_migrating"),
                      Transition(now + 2 * delay / 3, "resize_finish"), Transition(now + delay, "resized")]
    if confirm_window > 0:
        server.pending.append(Transition(now + delay + confirm_window, "resize_confirmed"))


def _apply_long_step(server: Server, step: str) -> bool:
    """Apply a step of a resize or a snapshot; False if ``step`` is none of theirs."""
    if step in ("resize_migrating", "resize_finish", "image_uploading"):
        server.task_state = step
    elif step == "resized":
        server.flavor = server.resize_to or server.flavor
        server.vm_state, server.task_state = "resized", None
    elif step == "resize_confirmed":
        end_resize(server, keep_new=True)
    elif step == "resize_reverted":
        end_resize(server, keep_new=False)
    elif step == "image_done":
        server.task_state = None
    else:
        return False
    return True


def end_resize(server: Server, keep_new: bool) -> None:
    """Back to the power state before the resize, on the new flavor or the old one."""
    if not keep_new and server.resize_from is not None:
        server.flavor = server.resize_from
    stopped = server.power_before_resize == "stopped"
    server.vm_state, server.power_state = ("stopped", SHUTDOWN) if stopped else ("active", RUNNING)
    server.task_state, server.resize_from, server.resize_to = None, None, None
