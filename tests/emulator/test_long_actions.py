"""Nova's resize (through VERIFY_RESIZE, confirmed, reverted, or confirmed by the cloud itself)
and createImage (a Glance image from queued to active), through openstacksdk."""
import pytest
from openstack import exceptions


@pytest.fixture(scope="module")
def slow(start_emulator):
    """Builds and actions that take 3 s of emulated time, moved by the tests."""
    return start_emulator("--build-delay", "1", "--action-delay", "3")


@pytest.fixture(scope="module")
def self_confirming(start_emulator):
    """A cloud whose resizes confirm themselves 10 s after reaching VERIFY_RESIZE."""
    return start_emulator("--build-delay", "1", "--action-delay", "3", "--resize-confirm-window", "10")


def ready(project, cloud):
    server = project.boot()
    cloud.advance_clock(2)
    return server


def look(project, server_id):
    server = project.conn.compute.get_server(server_id)
    return server.status, server.task_state, server.flavor["original_name"]


def test_a_resize_waits_in_verify_resize_and_a_confirm_keeps_the_new_flavor(project_factory, slow):
    project = project_factory(client=slow)
    server = ready(project, slow)

    project.conn.compute.resize_server(server, "2")
    resizing = look(project, server.id)
    slow.advance_clock(3.5)
    waiting = look(project, server.id)
    project.conn.compute.confirm_server_resize(server)

    assert resizing == ("RESIZE", "resize_prep", "m1.tiny")
    assert waiting == ("VERIFY_RESIZE", None, "m1.small")
    assert look(project, server.id) == ("ACTIVE", None, "m1.small")


def test_a_revert_goes_back_to_the_old_flavor_and_power_state(project_factory, slow):
    project = project_factory(client=slow)
    server = ready(project, slow)
    project.conn.compute.stop_server(server)
    slow.advance_clock(3.5)

    project.conn.compute.resize_server(server, "2")
    slow.advance_clock(3.5)
    project.conn.compute.revert_server_resize(server)
    reverting = look(project, server.id)
    slow.advance_clock(3.5)

    assert reverting[:2] == ("REVERT_RESIZE", "resize_reverting")
    assert look(project, server.id) == ("SHUTOFF", None, "m1.tiny")


def test_nova_refuses_a_resize_to_the_same_flavor_and_a_confirm_without_a_resize(project_factory, slow):
    project = project_factory(client=slow)
    server = ready(project, slow)

    with pytest.raises(exceptions.BadRequestException, match="must change flavor"):
        project.conn.compute.resize_server(server, "1")
    with pytest.raises(exceptions.ConflictException, match="vm_state active"):
        project.conn.compute.confirm_server_resize(server)


def test_a_cloud_may_confirm_a_resize_itself(project_factory, self_confirming):
    project = project_factory(client=self_confirming)
    server = ready(project, self_confirming)

    project.conn.compute.resize_server(server, "2")
    self_confirming.advance_clock(14)

    assert look(project, server.id) == ("ACTIVE", None, "m1.small")


def test_create_image_answers_its_id_and_the_image_goes_queued_to_active(project_factory, slow):
    project = project_factory(client=slow)
    server = ready(project, slow)

    answer = project.conn.compute.post(f"/servers/{server.id}/action", microversion="2.45",
                                       json={"createImage": {"name": "nightly"}})
    image_id = answer.json()["image_id"]
    during = (project.conn.compute.get_server(server.id).task_state,
              project.conn.image.get_image(image_id).status)
    slow.advance_clock(7)
    image = project.conn.image.get_image(image_id)

    assert answer.status_code == 202
    assert during == ("image_snapshot", "saving")
    assert (image.name, image.status, image.visibility) == ("nightly", "active", "private")
    assert image.owner == project.id
    assert project.conn.compute.get_server(server.id).task_state is None
    assert image_id in {i.id for i in project.conn.image.images()}
