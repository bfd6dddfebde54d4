"""Flavors, images, networks and SSH keypairs from the snapshot."""
import pytest


@pytest.fixture
async def started(service, api_client):
    setup = service(servers=0)
    return setup, await api_client(setup.settings)


async def get(started, path):
    setup, client = started
    response = await client.get(f"/cloud/{path}?project_id={setup.project_id}", headers=setup.headers())
    assert response.status == 200 and response.headers["ETag"] and "X-Snapshot-Age" in response.headers
    return await response.json()


async def test_flavors(started):
    flavors = {f["name"]: f for f in await get(started, "flavors")}

    assert {"m1.tiny", "m1.small", "m1.medium"} <= set(flavors)
    assert flavors["m1.small"] == {"id": "2", "name": "m1.small", "vcpus": 1, "ram": 2048,
                                   "disk": 20, "is_public": True}


async def test_images(started):
    images = await get(started, "images")

    cirros = next(i for i in images if i["name"].startswith("cirros"))
    assert set(cirros) == {"id", "name", "status", "min_disk", "min_ram", "visibility"}
    assert (cirros["status"], cirros["visibility"], cirros["min_disk"]) == ("active", "public", 1)
    assert any(i["visibility"] == "private" for i in images)


async def test_networks(started):
    networks = {n["name"]: n for n in await get(started, "networks")}

    assert networks["public"]["external"] is True and networks["private"]["external"] is False
    assert len(networks["private"]["subnets"]) == 1 and networks["private"]["shared"] is False
    assert networks["private"]["status"] == "ACTIVE"


async def test_ssh_keypairs(started):
    [keypair] = await get(started, "ssh-keypairs")

    assert keypair["name"] == "my-keypair" and keypair["type"] == "ssh"
    assert keypair["fingerprint"].count(":") == 15


async def test_resources_follow_the_same_access_rules(started):
    setup, client = started

    assert (await client.get(f"/cloud/flavors?project_id={setup.project_id}")).status == 401
    assert (await client.get("/cloud/images", headers=setup.headers())).status == 400
