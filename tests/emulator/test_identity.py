"""Keystone v3 as openstacksdk sees it: clouds.yaml auth, the catalog, token expiry."""
import openstack
import pytest
from keystoneauth1 import exceptions as keystone_errors
from openstack import exceptions
from openstack.config.loader import OpenStackConfig


def test_password_auth_from_clouds_yaml_gives_a_project_scoped_token(project):
    access = project.conn.session.auth.get_access(project.conn.session)

    assert access.project_id == project.id
    assert access.expires is not None
    assert {"compute", "image", "network", "identity"} <= {s["type"] for s in access.service_catalog.catalog}


def test_catalog_has_public_and_internal_endpoints_in_the_region(project):
    catalog = project.conn.session.auth.get_access(project.conn.session).service_catalog

    for interface in ("public", "internal"):
        url = catalog.url_for(service_type="compute", interface=interface, region_name="RegionOne")
        assert url.endswith("/compute/v2.1")


def test_application_credential_auth_reaches_the_same_project(project):
    conn = project.connect("appcred")

    assert conn.current_project_id == project.id
    assert [s.name for s in conn.compute.servers()] == [s.name for s in project.conn.compute.servers()]


def test_auth_by_project_name_and_domain(project):
    cloud = project.access["cloud"]
    auth = {k: v for k, v in cloud["auth"].items() if k != "project_id"}
    auth.update(project_name=project.access["project_name"], project_domain_name="Default")
    config = OpenStackConfig(load_yaml_config=False).get_one(
        auth_type="password", auth=auth, region_name="RegionOne")
    conn = openstack.connection.Connection(config=config)
    try:
        assert conn.current_project_id == project.id
    finally:
        conn.close()


def test_wrong_password_is_refused(project):
    conn = project.connect(auth={"password": "not-the-password"})

    with pytest.raises(keystone_errors.Unauthorized) as failure:
        conn.compute.servers().__next__()
    assert failure.value.http_status == 401


def test_another_projects_token_sees_none_of_its_servers(project_factory):
    mine, theirs = project_factory(servers=2), project_factory(servers=1)

    mine_ids = {s.id for s in mine.conn.compute.servers()}
    theirs_ids = {s.id for s in theirs.conn.compute.servers()}
    assert len(mine_ids) == 2 and len(theirs_ids) == 1 and not mine_ids & theirs_ids
    with pytest.raises(exceptions.NotFoundException):
        theirs.conn.compute.get_server(next(iter(mine_ids)))


def test_expired_token_is_renewed_transparently(project, emulator):
    project.conn.compute.servers().__next__()  # authenticated once
    emulator.advance_clock(3601)  # past the token's lifetime in emulated time
    after = emulator.last_request_seq()

    servers = list(project.conn.compute.servers())

    assert len(servers) == 3
    calls = [(r["method"], r["path"], r["status"]) for r in emulator.requests(after=after)
             if r["project_id"] in (project.id, None) and r["service"] in ("compute", "identity")]
    assert ("GET", "/compute/v2.1/servers/detail", 401) in calls
    assert ("POST", "/v3/auth/tokens", 201) in calls
    assert calls[-1] == ("GET", "/compute/v2.1/servers/detail", 200)


def test_revoked_token_is_renewed_transparently(project, emulator):
    project.conn.compute.servers().__next__()
    assert emulator.revoke_tokens(project.id) >= 1

    assert len(list(project.conn.compute.servers())) == 3


def test_token_validation_and_revocation(project):
    session = project.conn.session
    token = session.get_token()
    url = f"{project.emulator.auth_url}/auth/tokens"
    other = project.connect()
    other_token = other.session.get_token()

    shown = session.get(url, headers={"X-Subject-Token": other_token}, authenticated=True)
    revoked = session.delete(url, headers={"X-Subject-Token": other_token}, authenticated=True)
    again = session.get(url, headers={"X-Subject-Token": other_token}, authenticated=True,
                        raise_exc=False)

    assert shown.json()["token"]["project"]["id"] == project.id and token != other_token
    assert revoked.status_code == 204 and again.status_code == 404
