"""Injected faults as a client meets them: throttling, errors, outages, ambiguous creates."""
import time

import pytest
from keystoneauth1 import exceptions as keystone_errors
from openstack import exceptions

from devtools.emulator_client import ControlError


@pytest.fixture(autouse=True)
def no_cloud_wide_faults(emulator):
    """Cloud-wide faults must not leak into other tests."""
    yield
    emulator.clear_faults("*")


@pytest.mark.parametrize("status", [429, 413])
def test_throttled_call_carries_retry_after(project, emulator, status):
    emulator.set_faults(project.id, throttle_count=1, throttle_status=status, retry_after=7)

    with pytest.raises(exceptions.HttpException) as failure:
        list(project.conn.compute.servers())

    response = failure.value.response
    assert response.status_code == status and response.headers["Retry-After"] == "7"
    assert response.json()["overLimit"]["retryAfter"] == "7"
    assert len(list(project.conn.compute.servers())) == 3  # only one call was throttled


def test_error_rate_answers_500_from_every_service(project, emulator):
    project.conn.compute.servers().__next__()  # discover endpoints before failing them
    list(project.conn.image.images())
    emulator.set_faults(project.id, error_rate=1.0)

    for call in (lambda: list(project.conn.compute.servers()),
                 lambda: list(project.conn.image.images()),
                 lambda: list(project.conn.network.networks())):
        with pytest.raises(exceptions.HttpException) as failure:
            call()
        assert failure.value.status_code == 500
    emulator.clear_faults(project.id)
    assert len(list(project.conn.network.networks())) == 2


def test_faults_stay_within_their_project(project_factory, emulator):
    broken, healthy = project_factory(servers=1), project_factory(servers=1)
    emulator.set_faults(broken.id, outage=True)

    with pytest.raises(exceptions.HttpException) as failure:
        list(broken.conn.compute.servers())
    assert failure.value.status_code == 503
    assert len(list(healthy.conn.compute.servers())) == 1


def test_cloud_wide_outage_takes_keystone_down_too(project, emulator):
    emulator.set_faults("*", outage=True)

    with pytest.raises(keystone_errors.HttpError) as failure:
        project.connect().compute.servers().__next__()
    assert failure.value.http_status == 503
    emulator.clear_faults("*")
    assert len(list(project.connect().compute.servers())) == 3


def test_latency_delays_every_call(project, emulator):
    project.conn.compute.servers().__next__()
    emulator.set_faults(project.id, latency=0.3)

    started = time.monotonic()
    list(project.conn.compute.servers())

    assert time.monotonic() - started >= 0.3


def test_create_answered_503_was_carried_out(project, emulator):
    emulator.set_faults(project.id, ambiguous_creates=1, ambiguous_mode="503")

    with pytest.raises(exceptions.HttpException) as failure:
        project.boot("ambiguous")

    assert failure.value.status_code == 503
    assert [s.name for s in project.conn.compute.servers(name="^ambiguous$")] == ["ambiguous"]


def test_create_with_a_dropped_connection_was_carried_out(project, emulator):
    project.conn.compute.servers().__next__()
    emulator.set_faults(project.id, ambiguous_creates=1, ambiguous_mode="drop")

    with pytest.raises(keystone_errors.ConnectionError):
        project.boot("dropped")

    assert [s.name for s in project.conn.compute.servers(name="^dropped$")] == ["dropped"]


def test_down_cell_gives_partial_records_from_2_69_and_hides_servers_before(project, emulator):
    emulator.set_faults(project.id, down_cell=True)

    _, partial = project.compute_json("/servers/detail", "2.69")
    _, hidden = project.compute_json("/servers/detail", "2.68")

    assert {s["status"] for s in partial["servers"]} == {"UNKNOWN"}
    assert {frozenset(s) for s in partial["servers"]} == {
        frozenset({"id", "status", "tenant_id", "created", "links"})}
    assert hidden["servers"] == []


def test_control_api_refuses_unknown_fault_settings(emulator):
    with pytest.raises(ControlError) as failure:
        emulator.set_faults("*", explode=True)
    assert failure.value.status == 400 and "explode" in str(failure.value)


def test_faults_can_be_set_at_start_up(start_emulator, project_factory):
    client = start_emulator("--faults", '{"outage": true}')
    project = project_factory(client=client)

    with pytest.raises(keystone_errors.HttpError) as failure:
        list(project.conn.compute.servers())
    client.clear_faults("*")

    assert failure.value.http_status == 503
    assert list(project.conn.compute.servers()) == []
