"""Cinder v3's volume create (blank or from an image), delete and types through openstacksdk's
block-storage proxy: statuses in emulated time, the quota, and Cinder's errors."""
import pytest
from openstack import exceptions


@pytest.fixture(scope="module")
def cinder(start_emulator):
    """Creates and deletes that take 3 s of emulated time, moved by the tests."""
    return start_emulator("--build-delay", "1", "--action-delay", "3", "--delete-delay", "3")


def test_a_volume_is_creating_then_available_and_deleting_then_gone(project_factory, cinder):
    project = project_factory(client=cinder)
    volume = project.conn.block_storage.create_volume(name="data", size=2, description="scratch",
                                                      metadata={"cloud-servers-job": "j1"})
    creating = project.conn.block_storage.get_volume(volume).status
    cinder.advance_clock(3.5)
    made = project.conn.block_storage.get_volume(volume.id)
    made_state = (made.status, made.size, made.metadata)
    project.conn.block_storage.delete_volume(volume.id)
    deleting = project.conn.block_storage.get_volume(volume.id).status
    cinder.advance_clock(3.5)

    assert creating == "creating"
    assert made_state == ("available", 2, {"cloud-servers-job": "j1"})
    assert deleting == "deleting"
    with pytest.raises(exceptions.NotFoundException):
        project.conn.block_storage.get_volume(volume.id)


def test_a_volume_from_an_image_is_bootable_and_its_type_must_exist(project_factory, cinder):
    project = project_factory(client=cinder)
    image_id = project.public_image_id()

    from_image = project.conn.block_storage.create_volume(name="root", size=1, image_id=image_id,
                                                          volume_type="ssd")
    types = {t.name for t in project.conn.block_storage.types()}

    assert from_image.is_bootable in (True, "true") and from_image.volume_type == "ssd"
    assert types == {"__DEFAULT__", "ssd"}
    with pytest.raises(exceptions.NotFoundException, match="Volume type with name nvme"):
        project.conn.block_storage.create_volume(name="x", size=1, volume_type="nvme")


def test_cinder_refuses_a_volume_past_the_quota_and_deleting_one_in_use(project_factory, cinder):
    project = project_factory(client=cinder)
    cinder.update_project(project.id, quota_volume_gb=5)

    with pytest.raises(exceptions.HttpException, match="exceeds allowed gigabytes quota") as refused:
        project.conn.block_storage.create_volume(name="big", size=6)
    server = project.boot(block_device_mapping=[{"boot_index": 0, "uuid": project.public_image_id(),
                                                 "source_type": "image", "destination_type": "volume",
                                                 "volume_size": 1, "delete_on_termination": True}],
                          image_id="")
    cinder.advance_clock(2)
    [in_use] = [v for v in project.conn.block_storage.volumes() if v.attachments]

    assert refused.value.status_code == 413
    with pytest.raises(exceptions.BadRequestException, match="must not be migrating, attached"):
        project.conn.block_storage.delete_volume(in_use)
    assert server.id


def test_a_volume_attaches_and_detaches_through_nova(project_factory, cinder):
    project = project_factory(client=cinder)
    server = project.boot()
    volume = project.conn.block_storage.create_volume(name="data", size=1)
    cinder.advance_clock(3.5)

    attachment = project.conn.compute.create_volume_attachment(server, volume_id=volume.id)
    attaching = project.conn.block_storage.get_volume(volume.id).status
    again = project.conn.compute.post(f"/servers/{server.id}/os-volume_attachments",
                                      json={"volumeAttachment": {"volumeId": volume.id}})
    cinder.advance_clock(3.5)
    in_use = project.conn.block_storage.get_volume(volume.id)
    shown = [v["id"] for v in project.conn.compute.get_server(server.id).attached_volumes]
    project.conn.compute.delete_volume_attachment(server, volume.id)
    detaching = project.conn.block_storage.get_volume(volume.id).status
    cinder.advance_clock(3.5)

    assert attachment.volume_id == volume.id and attaching == "attaching"
    assert again.status_code == 400 and "status must be available" in again.json()["badRequest"]["message"]
    assert (in_use.status, [a["server_id"] for a in in_use.attachments]) == ("in-use", [server.id])
    assert shown == [volume.id] and detaching == "detaching"
    assert project.conn.block_storage.get_volume(volume.id).status == "available"
    assert project.conn.compute.get_server(server.id).attached_volumes == []


def test_cinder_filters_volumes_by_time_from_3_60_and_refuses_the_filter_before(project_factory, cinder):
    project = project_factory(client=cinder)
    old = project.conn.block_storage.create_volume(name="old", size=1)
    cinder.advance_clock(3.5)
    moment = project.conn.block_storage.get_volume(old.id).updated_at
    cinder.advance_clock(10)
    new = project.conn.block_storage.create_volume(name="new", size=1)

    recent = project.conn.block_storage.get("/volumes/detail", params={"updated_at": f"gt:{moment}"},
                                            microversion="3.60")
    everything = project.conn.block_storage.get("/volumes/detail", microversion="3.60",
                                                params={"updated_at": "gte:2000-01-01T00:00:00"})
    too_early = project.conn.block_storage.get("/volumes/detail", params={"updated_at": f"gt:{moment}"},
                                               microversion="3.59", raise_exc=False)

    assert [v["id"] for v in recent.json()["volumes"]] == [new.id]
    assert {v["id"] for v in everything.json()["volumes"]} == {old.id, new.id}
    assert too_early.status_code == 400 and "Invalid filter keys" in too_early.text
