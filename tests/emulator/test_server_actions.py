"""Nova's server actions through openstacksdk: stop, start, soft and hard reboot, and 409s."""
import pytest
from openstack import exceptions


@pytest.fixture(scope="module")
def slow_actions(start_emulator):
    """An emulator whose actions take 10 s of emulated time, moved by the tests."""
    return start_emulator("--build-delay", "1", "--action-delay", "10")


def states(project, server_id):
    server = project.conn.compute.get_server(server_id)
    return server.status, server.vm_state, server.task_state, server.power_state


def active_server(project, cloud):
    server_id = project.boot().id
    cloud.advance_clock(2)
    assert states(project, server_id) == ("ACTIVE", "active", None, 1)
    return server_id


def test_stop_then_start_walk_through_novas_task_states(project_factory, slow_actions):
    project = project_factory(client=slow_actions)
    server_id = active_server(project, slow_actions)

    project.conn.compute.stop_server(server_id)
    stopping = states(project, server_id)
    slow_actions.advance_clock(10.5)
    stopped = states(project, server_id)
    project.conn.compute.start_server(server_id)
    starting = states(project, server_id)
    slow_actions.advance_clock(10.5)

    assert stopping == ("ACTIVE", "active", "powering-off", 1)
    assert stopped == ("SHUTOFF", "stopped", None, 4)
    assert starting == ("SHUTOFF", "stopped", "powering-on", 4)
    assert states(project, server_id) == ("ACTIVE", "active", None, 1)


@pytest.mark.parametrize(("reboot_type", "status", "task_state"), [
    ("SOFT", "REBOOT", "rebooting"), ("HARD", "HARD_REBOOT", "rebooting_hard")])
def test_reboots_show_novas_status_while_they_last(project_factory, slow_actions, reboot_type,
                                                     status, task_state):
    project = project_factory(client=slow_actions)
    server_id = active_server(project, slow_actions)

    project.conn.compute.reboot_server(server_id, reboot_type)
    during = states(project, server_id)
    slow_actions.advance_clock(10.5)

    assert during == (status, "active", task_state, 1)
    assert states(project, server_id) == ("ACTIVE", "active", None, 1)


def test_an_action_in_the_wrong_state_is_novas_409(project_factory, slow_actions):
    project = project_factory(client=slow_actions)
    server_id = active_server(project, slow_actions)

    with pytest.raises(exceptions.ConflictException) as refused_start:
        project.conn.compute.start_server(server_id)
    project.conn.compute.stop_server(server_id)
    with pytest.raises(exceptions.ConflictException) as refused_stop:
        project.conn.compute.stop_server(server_id)

    assert f"Cannot 'start' instance {server_id} while it is in vm_state active" in str(
        refused_start.value)
    assert "while it is in task_state powering-off" in str(refused_stop.value)
    status, body = project.compute_json(f"/servers/{server_id}")
    assert status == 200 and body["server"]["OS-EXT-STS:task_state"] == "powering-off"
