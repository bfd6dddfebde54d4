"""Security groups (Neutron), user data and boot from volume (Nova), volumes (Cinder v3), as
openstacksdk sees them."""
import base64

import pytest
from openstack import exceptions


def test_each_project_has_a_default_security_group_and_sees_only_its_own(project_factory):
    mine, other = project_factory(), project_factory()
    mine.emulator.call("POST", f"/projects/{mine.id}/security-groups", {
        "name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "port_range_min": 80,
                                  "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"}]})

    groups = {g.name: g for g in mine.conn.network.security_groups()}

    assert set(groups) == {"default", "web"}
    assert {r["direction"] for r in groups["default"].security_group_rules} == {"ingress", "egress"}
    assert groups["web"].security_group_rules[0]["port_range_min"] == 80
    assert {g.project_id for g in other.conn.network.security_groups()} == {other.id}


def test_nova_puts_a_server_in_the_groups_asked_for_and_refuses_an_unknown_one(project):
    project.emulator.call("POST", f"/projects/{project.id}/security-groups", {"name": "db"})

    server = project.boot(security_groups=[{"name": "db"}])
    with pytest.raises(exceptions.BadRequestException, match="Unable to find security_group"):
        project.boot(security_groups=[{"name": "nope"}])

    assert project.emulator.call("GET", f"/servers/{server.id}")["security_groups"] == ["db"]


def test_user_data_must_be_base64_and_at_most_65535_bytes(project):
    good = base64.b64encode(b"#cloud-config\n").decode()

    server = project.boot(user_data=good)
    with pytest.raises(exceptions.BadRequestException, match="base64"):
        project.boot(user_data="not base64!")
    with pytest.raises(exceptions.BadRequestException, match="User data too large"):
        project.boot(user_data="A" * 65536)

    assert project.emulator.call("GET", f"/servers/{server.id}")["user_data"] == good


def image_to_volume(project, size, delete):
    return [{"boot_index": 0, "uuid": project.public_image_id(), "source_type": "image",
             "destination_type": "volume", "volume_size": size, "delete_on_termination": delete}]


def test_boot_from_a_new_volume_makes_a_cinder_volume_that_goes_or_stays_with_the_server(project):
    kept = project.boot(name="kept", image_id="",
                        block_device_mapping_v2=image_to_volume(project, 3, False))
    gone = project.boot(name="gone", image_id="",
                        block_device_mapping_v2=image_to_volume(project, 2, True))
    for server in (kept, gone):
        project.conn.compute.wait_for_server(server, interval=0.2, wait=10)
    volumes = {v.attachments[0]["server_id"]: v
               for v in project.conn.block_storage.volumes(details=True) if v.attachments}
    shown = project.conn.compute.get_server(kept.id)

    for server in (kept, gone):
        project.conn.compute.delete_server(server)
        project.conn.compute.wait_for_delete(server, interval=0.2, wait=10)
    ours = {volumes[kept.id].id, volumes[gone.id].id}
    left = {v.id: v for v in project.conn.block_storage.volumes(details=True) if v.id in ours}

    kept_volume = volumes[kept.id]
    assert (kept_volume.size, kept_volume.status, kept_volume.is_bootable) == (3, "in-use", True)
    assert not shown.image.get("id")  # Nova shows "" for a volume-booted server's image
    assert [v["id"] for v in shown.attached_volumes] == [volumes[kept.id].id]
    assert list(left) == [volumes[kept.id].id] and left[volumes[kept.id].id].status == "available"


def test_a_new_volume_smaller_than_the_image_needs_is_refused(project):
    golden = next(i for i in project.conn.image.images() if i.name.endswith("-golden"))
    mapping = image_to_volume(project, 5, True)
    mapping[0]["uuid"] = golden.id

    with pytest.raises(exceptions.BadRequestException, match="smaller than the minimum size"):
        project.boot(image_id="", block_device_mapping_v2=mapping)


def test_a_volume_past_the_gigabytes_quota_fails_the_build_with_cinders_message(project):
    project.emulator.update_project(project.id, quota_volume_gb=2)

    server = project.boot(image_id="", block_device_mapping_v2=image_to_volume(project, 3, True))
    server = project.conn.compute.wait_for_server(server, status="ERROR", interval=0.2, wait=10)

    assert "exceeds allowed gigabytes quota" in server.fault["message"]
    assert not [v for v in project.conn.block_storage.volumes(details=True)
                if any(a["server_id"] == server.id for a in v.attachments)]
