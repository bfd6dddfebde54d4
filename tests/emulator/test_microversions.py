"""Nova's microversion negotiation, headers and version documents."""


def _get(project, headers):
    return project.conn.compute.get("/flavors", headers=headers, microversion=None, raise_exc=False)


def test_no_header_means_2_1(project):
    response = _get(project, {})

    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"


def test_latest_means_the_maximum(project):
    response = _get(project, {"OpenStack-API-Version": "compute latest"})

    assert response.headers["OpenStack-API-Version"] == "compute 2.96"


def test_legacy_header_is_understood(project):
    response = _get(project, {"X-OpenStack-Nova-API-Version": "2.53"})

    assert response.headers["OpenStack-API-Version"] == "compute 2.53"


def test_out_of_range_is_406_and_malformed_is_400(project):
    too_new = _get(project, {"OpenStack-API-Version": "compute 2.999"})
    malformed = _get(project, {"OpenStack-API-Version": "compute two"})

    assert too_new.status_code == 406 and "maximum is 2.96" in too_new.text
    assert malformed.status_code == 400


def test_version_document_names_the_range(project):
    body = project.conn.compute.get("/", raise_exc=False).json()

    assert (body["version"]["min_version"], body["version"]["version"]) == ("2.1", "2.96")


def test_sdk_negotiates_a_microversion_within_the_range(project):
    project.conn.compute.servers().__next__()
    data = project.conn.compute.get_endpoint_data()

    assert (data.min_microversion, data.max_microversion) == ((2, 1), (2, 96))
