"""An admin's cloud-wide listing, as Nova answers it: ``all_tenants`` with ``changes-since``,
``tenant_id`` in each server, deletions, paging, and the policy that keeps it to admins."""
import pytest

from app.openstack.translation import read_resources
from tests.emulator.test_server_listing import emulator_now, iso
from tests.support import EmulatedProject


@pytest.fixture
def admin(emulator, tmp_path) -> EmulatedProject:
    """The emulator's cloud administrator."""
    made = EmulatedProject(emulator, emulator.admin_access(), tmp_path / "admin.yaml")
    yield made
    made.close()


def listed(admin: EmulatedProject, query: str) -> list[dict]:
    status, body = admin.compute_json(f"/servers/detail?all_tenants=1&{query}", "2.69")
    assert status == 200, body
    return body["servers"]


def test_an_admin_lists_every_projects_servers_each_with_its_tenant_id(admin, project_factory):
    first, second = project_factory(servers=2), project_factory(servers=1)

    tenants = {server["id"]: server["tenant_id"] for server in listed(admin, "limit=1000")}

    assert {s.id for s in first.conn.compute.servers()} <= {i for i, t in tenants.items() if t == first.id}
    assert [i for i, t in tenants.items() if t == second.id] == [s.id for s in second.conn.compute.servers()]
    assert admin.emulator.admin_access()["project_id"] == admin.id  # made once


def test_the_cloud_wide_changes_since_reports_changes_and_deletions_of_every_project(
        admin, project_factory, emulator):
    first, second = project_factory(servers=2), project_factory(servers=2)
    since = iso(emulator_now(emulator))
    changed = next(first.conn.compute.servers())
    emulator.set_server_status(changed.id, "SHUTOFF")
    removed = next(second.conn.compute.servers())
    emulator.remove_server(removed.id)

    statuses = {s["id"]: (s["tenant_id"], s["status"]) for s in listed(admin, f"changes-since={since}")}

    assert statuses == {changed.id: (first.id, "SHUTOFF"), removed.id: (second.id, "DELETED")}


def test_the_cloud_wide_listing_pages_with_limit_and_marker(admin, project_factory):
    project_factory(servers=3)
    project_factory(servers=3)
    everything = [s["id"] for s in listed(admin, "limit=1000")]

    paged, marker = [], ""
    while True:
        page = listed(admin, f"limit=2{marker}")
        paged += [s["id"] for s in page]
        if len(page) < 2:
            break
        marker = f"&marker={page[-1]['id']}"

    assert paged == everything and len(everything) >= 6


def test_a_member_asking_for_every_project_is_refused_as_nova_policy_does(project):
    status, body = project.compute_json("/servers/detail?all_tenants=1", "2.69")

    assert status == 403
    assert "get_all_tenants" in body["forbidden"]["message"]
    assert project.compute_json("/servers/detail?all_tenants=0", "2.69")[0] == 200


def test_a_malformed_all_tenants_is_a_400(admin):
    status, _ = admin.compute_json("/servers/detail?all_tenants=maybe", "2.69")

    assert status == 400


def test_an_admin_credential_reads_only_its_own_projects_security_groups(admin, project_factory):
    other = project_factory(servers=0)

    everything = {g.project_id for g in admin.conn.network.security_groups()}  # Neutron's admin view
    own = read_resources(admin.conn, "security_groups")

    assert {admin.id, other.id} <= everything
    assert [g["name"] for g in own] == ["default"]
    assert {g.id for g in admin.conn.network.security_groups(project_id=admin.id)} == {g["id"] for g in own}
    assert {(r["direction"], r["ethertype"]) for r in own[0]["rules"]} == {
        ("egress", "IPv4"), ("egress", "IPv6"), ("ingress", "IPv4"), ("ingress", "IPv6")}
    assert {r["remote_group_id"] for r in own[0]["rules"] if r["direction"] == "ingress"} == {own[0]["id"]}
