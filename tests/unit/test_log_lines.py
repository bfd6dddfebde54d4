"""The log lines' JSON and the masking of secrets in them."""
import datetime
import json
import logging

import pytest

from app.api.access_log import AccessLog
from app.core.logs import JsonFormatter, redact, request_id_var


@pytest.mark.parametrize("text", [
    "Authorization: Bearer abc.def.ghi", "authorization=Basic dXNlcjpwYXNz", "sent BEARER abc123",
    "headers {'Authorization': 'Bearer abc123'}"])
def test_a_bearer_token_or_authorization_value_is_masked_whatever_its_case(text):
    masked = redact(text)

    assert "[redacted]" in masked
    assert not {"abc.def.ghi", "dXNlcjpwYXNz", "abc123"} & set(masked.replace("'", " ").split())


def test_a_line_without_either_word_is_left_as_it_is():
    assert redact("GET /cloud/servers 200 0.4 ms") == "GET /cloud/servers 200 0.4 ms"


def test_a_formatted_line_is_one_json_object_with_its_fields_and_non_json_values_as_text():
    record = logging.LogRecord("app.x", logging.INFO, __file__, 1, "naïve %s", ("Bearer s3cret",), None)
    record.fields = {"when": datetime.date(2026, 12, 8), "count": 3, "by_status": {404: 1}}

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "naïve Bearer [redacted]" and entry["logger"] == "app.x"
    assert (entry["when"], entry["count"], entry["by_status"]) == ("2026-12-08", 3, {"404": 1})


def test_an_access_line_carries_the_request_id_and_each_field():
    access, logger = AccessLog(), logging.getLogger("app.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    token = request_id_var.set("r-1")
    try:
        access.write("GET", "/cloud/servers/{server_id}", "/cloud/servers/Bearer x", 404, 0.3, None)
    finally:
        request_id_var.reset(token)
        logger.setLevel(level)

    [raw] = access._lines
    entry = json.loads(raw)
    assert raw.endswith(b"\n") and entry["request_id"] == "r-1"
    assert entry["message"] == "GET /cloud/servers/Bearer [redacted] 404 0.3 ms"
    assert {k: entry[k] for k in ("method", "route", "status", "duration_ms", "caller")} == {
        "method": "GET", "route": "/cloud/servers/{server_id}", "status": 404, "duration_ms": 0.3,
        "caller": None}
