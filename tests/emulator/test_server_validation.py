"""Nova's answers to boot requests it refuses: schema errors, missing references, quota."""
import pytest
from openstack import exceptions

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize("override, message", [
    ({"flavor_id": "99"}, "Flavor 99 could not be found."),
    ({"image_id": MISSING}, f"Image {MISSING} could not be found."),
    ({"networks": [{"uuid": MISSING}]}, f"Network {MISSING} could not be found."),
    ({"key_name": "nope"}, "Invalid key_name provided."),
    ({"name": "x" * 256}, "Invalid input for field/attribute name"),
    ({"availability_zone": "mars"}, "The requested availability zone is not available"),
])
def test_bad_references_are_a_400_with_novas_message(project, override, message):
    with pytest.raises(exceptions.BadRequestException, match=message):
        project.boot(**override)

    assert len(list(project.conn.compute.servers())) == 3


def test_image_larger_than_the_flavor_is_refused(project):
    ubuntu = next(i for i in project.conn.image.images() if i.name.startswith("ubuntu"))

    with pytest.raises(exceptions.BadRequestException, match="too small for requested image"):
        project.boot(image_id=ubuntu.id, flavor_id="1")


def test_other_projects_private_image_is_not_found(project_factory):
    mine, other = project_factory(), project_factory()
    theirs = next(i for i in other.conn.image.images() if i.visibility == "private")

    with pytest.raises(exceptions.BadRequestException, match="could not be found"):
        mine.boot(image_id=theirs.id)


def test_networks_are_required_from_microversion_2_37(project):
    body = {"server": {"name": "n", "flavorRef": "1", "imageRef": project.public_image_id()}}

    response = project.conn.compute.post("/servers", json=body, microversion="2.37", raise_exc=False)

    assert response.status_code == 400
    assert "'networks' is a required property" in response.json()["badRequest"]["message"]


def test_quota_exceeded_is_a_403_with_novas_message(project_factory):
    project = project_factory(servers=2, quota_instances=2)

    with pytest.raises(exceptions.ForbiddenException) as failure:
        project.boot()
    assert "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances" in str(
        failure.value)
    response = project.conn.compute.post("/servers", json={"server": {
        "name": "q", "flavorRef": "1", "imageRef": project.public_image_id(),
        "networks": [{"uuid": project.private_network_id()}]}}, raise_exc=False)
    assert response.json()["forbidden"]["code"] == 403
