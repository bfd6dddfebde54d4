"""Server actions: which state allows which action, as Nova's compute API decides it."""
from ..core.records import ActionRequest, Server
from ..openstack.translation import LONG_ACTION_TASKS, NOVA_ACTIONS

STOP, START, REBOOT = "stop", "start", "reboot"
RESIZE, CONFIRM_RESIZE, REVERT_RESIZE, SNAPSHOT = "resize", "confirm_resize", "revert_resize", "snapshot"
ATTACH_VOLUME, DETACH_VOLUME = "attach_volume", "detach_volume"
VOLUME_ACTIONS = (ATTACH_VOLUME, DETACH_VOLUME)
LONG_ACTIONS = (RESIZE, CONFIRM_RESIZE, REVERT_RESIZE, SNAPSHOT, *VOLUME_ACTIONS)
ACTIONS = (STOP, START, REBOOT, *LONG_ACTIONS)
REBOOT_TYPES = ("SOFT", "HARD")
# The statuses each action may start from (with no task under way).
_ALLOWED = {(STOP, None): ("ACTIVE", "ERROR"), (START, None): ("SHUTOFF",),
            (REBOOT, "SOFT"): ("ACTIVE",), (REBOOT, "HARD"): ("ACTIVE", "SHUTOFF", "ERROR"),
            (RESIZE, None): ("ACTIVE", "SHUTOFF"), (CONFIRM_RESIZE, None): ("VERIFY_RESIZE",),
            (REVERT_RESIZE, None): ("VERIFY_RESIZE",),
            (SNAPSHOT, None): ("ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED"),
            (ATTACH_VOLUME, None): ("ACTIVE", "SHUTOFF"), (DETACH_VOLUME, None): ("ACTIVE", "SHUTOFF")}
# The task state -> the status of the actions whose end an observation can tell (not reboot's).
_OBSERVABLE_ENDS = {task: end for (action, _), (_, task, end) in NOVA_ACTIONS.items()
                    if action in (STOP, START)}


def observable_end(task_state: str) -> str | None:
    """The status a server idles in once the action showing ``task_state`` is done, when that
    tells it apart from before (stop: SHUTOFF, start: ACTIVE); None for the others (a reboot
    ends where it began; a resize or a snapshot ends as its job sees it through)."""
    return _OBSERVABLE_ENDS.get(task_state)


def task_state_of(action: ActionRequest) -> str:
    """The task state the server shows while the action runs."""
    if action["action"] in LONG_ACTIONS:
        return LONG_ACTION_TASKS[action["action"]]
    return NOVA_ACTIONS[(action["action"], action["type"])][1]


def target_status(action: ActionRequest) -> str:
    """The status the server has once the action is done."""
    return NOVA_ACTIONS[(action["action"], action["type"])][2]


def refusal(server: Server, action: ActionRequest) -> str | None:
    """Why the server's state does not allow the action now, or None."""
    name = (action["action"].replace("_", " ") if action["type"] is None
            else f"{action['type'].lower()} reboot")
    if server["task_state"] is not None:
        return f"Server {server['id']} is {server['task_state']}: a {name} must wait until that ends."
    allowed = _ALLOWED[(action["action"], action["type"])]
    if server["status"] not in allowed:
        return (f"Server {server['id']} is {server['status']}: a {name} needs it "
                f"{' or '.join(allowed)}.")
    return None
