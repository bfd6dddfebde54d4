"""Flavors, keypairs and availability zones (Nova), images (Glance), networks (Neutron)."""


def test_flavors_are_novas_defaults_with_their_sizes(project):
    flavors = {f.name: f for f in project.conn.compute.flavors()}

    assert {"m1.tiny", "m1.small", "m1.medium"} <= set(flavors)
    small = flavors["m1.small"]
    assert (small.vcpus, small.ram, small.disk, small.is_public) == (1, 2048, 20, True)
    assert project.conn.compute.get_flavor(small.id).name == "m1.small"


def test_flavor_swap_is_an_empty_string_before_2_75(project):
    _, old = project.compute_json("/flavors/detail", "2.1")
    _, new = project.compute_json("/flavors/detail", "2.75")

    assert {f["swap"] for f in old["flavors"]} == {""}
    assert {f["swap"] for f in new["flavors"]} == {0}


def test_images_show_public_and_own_but_not_other_projects_private(project_factory):
    mine, other = project_factory(), project_factory()

    names = {i.name: i for i in mine.conn.image.images()}

    assert f"{mine.access['project_name']}-golden" in names
    assert f"{other.access['project_name']}-golden" not in names
    cirros = next(i for n, i in names.items() if n.startswith("cirros"))
    assert (cirros.status, cirros.visibility) == ("active", "public")
    assert mine.conn.image.get_image(cirros.id).min_disk == cirros.min_disk


def test_an_image_uploaded_through_the_control_api_is_the_projects_own(project_factory):
    mine, other = project_factory(), project_factory()

    image_id = mine.emulator.add_private_image(mine.id, "uploaded", min_disk=5)

    image = mine.conn.image.get_image(image_id)
    assert (image.name, image.visibility, image.status, image.min_disk) == ("uploaded", "private",
                                                                          "active", 5)
    assert image_id not in {i.id for i in other.conn.image.images()}


def test_images_page_with_glance_next_links(project):
    response = project.conn.image.get("/images?limit=1", raise_exc=False)
    body = response.json()

    assert len(body["images"]) == 1
    assert body["next"].startswith("/v2/images?") and "marker=" in body["next"]
    listed = list(project.conn.image.images(limit=1))
    assert len(listed) == len({i.id for i in listed}) >= 3


def test_networks_show_own_and_external_with_subnets(project_factory):
    mine, other = project_factory(), project_factory()

    networks = list(mine.conn.network.networks())

    owners = {n.project_id for n in networks}
    assert mine.id in owners and other.id not in owners
    external = [n for n in networks if n.is_router_external]
    assert [n.name for n in external] == ["public"]
    private = next(n for n in networks if n.project_id == mine.id)
    subnet = mine.conn.network.get_subnet(private.subnet_ids[0])
    assert subnet.network_id == private.id and subnet.cidr.endswith("/24")
    assert [n.id for n in mine.conn.network.networks(name="private")] == [private.id]


def test_keypairs_and_availability_zones(project):
    keypairs = list(project.conn.compute.keypairs())
    zones = list(project.conn.compute.availability_zones())

    assert [k.name for k in keypairs] == ["my-keypair"]
    assert keypairs[0].fingerprint.count(":") == 15 and keypairs[0].type == "ssh"
    assert [z.name for z in zones] == ["nova"]
