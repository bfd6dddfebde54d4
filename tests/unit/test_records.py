"""The domain's records and the API's schemas describe the same fields, so stored lists are
served as they are."""
import pytest
from marshmallow import Schema

from app.api.schemas import RESOURCE_SCHEMAS
from app.core import records
from app.snapshot.codec import decode_server, encode_server

RECORDS = {"servers": records.Server, "flavors": records.Flavor, "images": records.Image,
           "networks": records.Network, "keypairs": records.Keypair}


@pytest.mark.parametrize("kind", sorted(RECORDS))
def test_each_record_has_exactly_its_schemas_fields_in_order(kind):
    schema: Schema = RESOURCE_SCHEMAS[kind]()

    assert list(RECORDS[kind].__annotations__) == list(schema.fields)


def test_a_server_is_stored_as_its_schema_dumps_it():
    server: records.Server = {
        "updated": "2026-01-01T00:00:01Z", "id": "s1", "name": "web", "status": "ACTIVE",
        "task_state": None, "power_state": 1,
        "addresses": {"private": [{"addr": "10.0.0.3", "version": 4, "type": "fixed"}]},
        "flavor": {"id": "1"}, "image": None, "key_name": "k", "availability_zone": "nova",
        "volumes_attached": [{"id": "v1", "delete_on_termination": False}],
        "metadata": {"team": "search"}, "created": "2026-01-01T00:00:00Z"}

    stored = encode_server(server)

    assert decode_server(stored) == RESOURCE_SCHEMAS["servers"]().dump(server)
    assert list(decode_server(stored)) == list(records.SERVER_FIELDS)  # one order: stable ETags
