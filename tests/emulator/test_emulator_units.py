"""Pure pieces of the emulator: paging, lifecycle, microversions, faults, the clock."""
import pytest

from emulator import lifecycle
from emulator.api_errors import ApiError
from emulator.clock import Clock, isotime, parse_isotime
from emulator.cloud_records import Flavor, Server
from emulator.faults import Faults
from emulator.grouped import Grouped
from emulator.microversion import parse
from emulator.paging import page, parse_limit
from emulator.requestlog import RequestLog


def make_server(created: float = 100.0) -> Server:
    return Server(id="s", project_id="p", user_id="u", name="n", flavor=Flavor("1", "t", 1, 1, 1),
                  image_id="i", key_name=None, metadata={}, availability_zone="nova",
                  network_ids=[], created_at=created, updated_at=created)


def test_page_after_marker_flags_a_full_page():
    items = ["a", "b", "c", "d", "e"]

    assert page(items, None, 2, str) == (["a", "b"], True)
    assert page(items, "d", 2, str) == (["e"], False)
    assert page(items, "c", 2, str) == (["d", "e"], True)
    with pytest.raises(ApiError, match=r"marker \[x\] not found"):
        page(items, "x", 2, str)


def test_limit_defaults_caps_and_refuses_nonsense():
    assert parse_limit(None, 25, 1000) == 25
    assert parse_limit("0", 25, 1000) == 25
    assert parse_limit("5000", 25, 1000) == 1000
    for bad in ("-1", "ten"):
        with pytest.raises(ApiError):
            parse_limit(bad, 25, 1000)


def test_build_transitions_are_stamped_when_due_not_when_read():
    server = make_server(created=100.0)
    lifecycle.plan_build(server, delay=30.0, fails=False)
    allocated = []

    lifecycle.settle(server, 115.0, allocated.append)
    assert (server.task_state, server.updated_at, allocated) == ("networking", 110.0, [])
    lifecycle.settle(server, 500.0, allocated.append)
    assert (lifecycle.status_of(server), server.updated_at, allocated) == ("ACTIVE", 130.0, [server])


def test_failed_build_and_delete():
    server = make_server()
    lifecycle.plan_build(server, delay=3.0, fails=True)
    lifecycle.settle(server, 200.0, lambda s: None)
    assert lifecycle.status_of(server) == "ERROR" and server.fault["code"] == 500

    lifecycle.plan_delete(server, 300.0, delay=1.0)
    assert server.task_state == "deleting" and server.updated_at == 300.0
    lifecycle.settle(server, 301.0, lambda s: None)
    assert lifecycle.status_of(server) == "DELETED" and server.deleted_at == 301.0


def test_microversion_parsing():
    assert parse("2.53") == (2, 53) and parse("2.10") > parse("2.9")
    with pytest.raises(ApiError):
        parse("2.x")


def test_fault_counters_count_down_and_settings_are_checked():
    faults = Faults(throttle_count=2, ambiguous_creates=1)

    assert [faults.take_throttle() for _ in range(3)] == [True, True, False]
    assert [faults.take_ambiguous_create() for _ in range(2)] == [True, False]
    with pytest.raises(ValueError):
        Faults.from_json({"throttle_status": 500})
    with pytest.raises(ValueError):
        Faults.from_json({"unknown": 1})


def test_clock_only_moves_forward_and_formats_like_nova():
    clock = Clock()
    before = clock.now()

    assert clock.advance(60) >= before + 60
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert isotime(0.9) == "1970-01-01T00:00:00Z"
    assert parse_isotime("1970-01-01T00:01:00Z") == parse_isotime("1970-01-01T00:01:00") == 60.0


def test_request_log_keeps_start_and_end():
    log = RequestLog(size=2)
    for n in range(3):
        log.record(started=n, at=n + 0.5, method="GET", path=f"/{n}", query="", service="compute",
                   project_id="p", status=200)

    assert [e["path"] for e in log.query()] == ["/1", "/2"] and log.last_seq == 3
    assert log.query(after=2)[0]["started"] == 2


def test_grouped_records_list_a_group_with_everyones_in_the_order_stored():
    records: Grouped[str, tuple[str, str | None]] = Grouped(lambda record: record[1])
    records["public"] = ("public", None)
    records["a1"] = ("a1", "a")
    records["b1"] = ("b1", "b")
    records["a2"] = ("a2", "a")
    records["a1"] = ("a1", "b")  # stored again: now b's, and stored last
    del records["a2"]

    assert records.group("a") == [("public", None)]
    assert records.group("b") == [("public", None), ("b1", "b"), ("a1", "b")]
    assert records.group("nobody") == [("public", None)] and len(records) == 3
