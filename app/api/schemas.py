"""The API's shapes, defined once: they validate requests, dump answers and feed OpenAPI."""
import base64
import uuid
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_dump,
    validate,
    validates,
    validates_schema,
)

from ..core.project_ids import UUID_PATTERN, parse_uuid
from ..core.times import iso
from ..jobs.actions import (
    ACTIONS,
    ATTACH_VOLUME,
    DETACH_VOLUME,
    REBOOT,
    REBOOT_TYPES,
    RESIZE,
    SNAPSHOT,
)
from ..jobs.idempotency import JobOutcome
from ..jobs.job import FAILED, KINDS, STATUSES
from ..openstack.consoles import CONSOLE_PROTOCOLS
from ..openstack.translation import RESERVED_METADATA_KEYS

IDEMPOTENCY_KEY_PATTERN = "[ -~]{1,255}"  # printable ASCII, as HTTP header values are
class UuidString(fields.String):
    """A UUID, 32 hex digits or dashed (ASCII only); loads in its owner's canonical form."""

    what = "id"

    def __init__(self, **kwargs: Any) -> None:
        # The pattern is what OpenAPI documents; loading checks and normalizes the id as well.
        super().__init__(validate=validate.Regexp(f"^({UUID_PATTERN})$"), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        parsed = parse_uuid(super()._deserialize(value, attr, data, **kwargs))
        if parsed is None:
            raise ValidationError(f"Not a {self.what}: expected a UUID (32 hex digits, dashes allowed).")
        return self.canonical(parsed)

    def canonical(self, parsed: uuid.UUID) -> str:
        """The form the id is kept in."""
        return str(parsed)


class ProjectId(UuidString):
    """A Keystone project id; loads as the 32-hex form Keystone writes."""

    what = "project id"

    def canonical(self, parsed: uuid.UUID) -> str:
        return parsed.hex


class ServerId(UuidString):
    """A Nova server id; loads in Nova's dashed lowercase form."""

    what = "server id"


class Timestamp(fields.Field[float]):
    """A UNIX time, answered as ISO 8601 UTC."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "string", "format": "date-time"}, **kwargs)

    def _serialize(self, value: float | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else iso(value)


def _nullable_string(description: str) -> fields.String:
    return fields.String(allow_none=True, required=True, metadata={"description": description})


class AddressSchema(Schema):
    """One address of a server on a network."""

    addr = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "4 or 6"})
    type = _nullable_string("fixed or floating")


class IdReferenceSchema(Schema):
    """A reference to another resource by id."""

    id = _nullable_string("the referenced resource's id")


class VolumeAttachmentSchema(Schema):
    """A volume attached to a server."""

    id = fields.String(required=True)
    delete_on_termination = fields.Boolean(required=True)


class ServerSchema(Schema):
    """A virtual machine, with the key fields of Nova's server."""

    id = fields.String(required=True, metadata={"description": "OpenStack server UUID"})
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "ACTIVE, SHUTOFF, BUILD, ERROR, …"})
    task_state = _nullable_string("current task (e.g. spawning, deleting); null when idle")
    power_state = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "1 running, 4 shutdown, 0 no state"})
    addresses = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(AddressSchema)),
                            required=True, metadata={"description": "network name -> addresses"})
    flavor = fields.Nested(IdReferenceSchema, required=True)
    image = fields.Nested(IdReferenceSchema, allow_none=True, required=True,
                          metadata={"description": "null for a volume-booted server"})
    key_name = _nullable_string("SSH keypair name")
    availability_zone = _nullable_string("AZ the server was scheduled to")
    volumes_attached = fields.List(fields.Nested(VolumeAttachmentSchema), required=True)
    metadata = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    created = fields.String(required=True, metadata={"format": "date-time"})
    updated = fields.String(required=True, metadata={"format": "date-time"})


class FlavorSchema(Schema):
    """A server size."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    vcpus = fields.Integer(required=True)
    ram = fields.Integer(required=True, metadata={"description": "MiB"})
    disk = fields.Integer(required=True, metadata={"description": "GiB"})
    is_public = fields.Boolean(required=True)


class ImageSchema(Schema):
    """An operating system image."""

    id = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    min_disk = fields.Integer(required=True, metadata={"description": "GiB"})
    min_ram = fields.Integer(required=True, metadata={"description": "MiB"})
    visibility = fields.String(required=True)


class NetworkSchema(Schema):
    """A network servers can be attached to."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    subnets = fields.List(fields.String(), required=True)
    shared = fields.Boolean(required=True)
    external = fields.Boolean(required=True)


class KeypairSchema(Schema):
    """An SSH keypair."""

    name = fields.String(required=True)
    fingerprint = fields.String(required=True)
    type = fields.String(required=True)


class SecurityGroupRuleSchema(Schema):
    """One rule of a security group."""

    direction = fields.String(required=True, metadata={"description": "ingress or egress"})
    ethertype = fields.String(required=True, metadata={"description": "IPv4 or IPv6"})
    protocol = fields.String(allow_none=True, required=True, metadata={"description": "null: any"})
    port_range_min = fields.Integer(allow_none=True, required=True)
    port_range_max = fields.Integer(allow_none=True, required=True)
    remote_ip_prefix = fields.String(allow_none=True, required=True)
    remote_group_id = fields.String(allow_none=True, required=True,
                                    metadata={"description": "traffic from servers in this group"})


class SecurityGroupSchema(Schema):
    """A set of firewall rules servers are put in."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    rules = fields.List(fields.Nested(SecurityGroupRuleSchema), required=True)


class VolumeSchema(Schema):
    """A block storage volume."""

    id = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    size = fields.Integer(required=True, metadata={"description": "GiB"})
    status = fields.String(required=True)
    attachments = fields.List(fields.String(), required=True,
                              metadata={"description": "ids of the servers it is attached to"})
    bootable = fields.Boolean(required=True)
    volume_type = fields.String(allow_none=True, required=True)
    created = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    updated = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})


class ProblemSchema(Schema):
    """An RFC 9457 problem document."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True)
    request_id = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ProjectQuerySchema(Schema):
    """``?project_id=`` alone."""

    project_id = ProjectId(required=True, metadata={"description": "Keystone project id"})


class ServerListQuerySchema(ProjectQuerySchema):
    """Filters and paging of the server list."""

    status = fields.String(validate=validate.Length(1, 32),
                           metadata={"description": "exact status, e.g. ACTIVE"})
    name = fields.String(validate=validate.Length(1, 255),
                         metadata={"description": "substring of the name"})
    limit = fields.Integer(validate=validate.Range(1, 1000), metadata={"description": "page size"})
    marker = ServerId(metadata={"description": "id of the last server of the previous page"})


RESOURCE_SCHEMAS: dict[str, type[Schema]] = {
    "servers": ServerSchema, "flavors": FlavorSchema, "images": ImageSchema,
    "networks": NetworkSchema, "keypairs": KeypairSchema, "security_groups": SecurityGroupSchema,
    "volumes": VolumeSchema,
}
USER_DATA_MAX = 65535  # bytes of base64, Nova's limit


class BootVolumeSchema(Schema):
    """A new volume, made from the image, to boot from."""

    size_gb = fields.Integer(required=True, validate=validate.Range(1, 16384),
                             metadata={"description": "GiB; at least the image's min_disk"})
    delete_on_termination = fields.Boolean(load_default=True,
                                           metadata={"description": "delete it with the server"})
    volume_type = fields.String(validate=validate.Length(1, 255))


def _no_reserved_keys(value: dict[str, str]) -> None:
    """The service's own metadata keys are not the user's to set."""
    for reserved in RESERVED_METADATA_KEYS:
        if reserved in value:
            raise ValidationError(f"The key {reserved!r} is reserved for this service.")


def _user_metadata(**kwargs: Any) -> fields.Dict:
    """A server's user metadata: at most 100 keys of 1 to 255 characters, values up to 255,
    none of the service's own keys."""
    return fields.Dict(keys=fields.String(validate=validate.Length(1, 255)),
                       values=fields.String(validate=validate.Length(0, 255)),
                       validate=[validate.Length(max=100), _no_reserved_keys], **kwargs)


class CreateServerSchema(Schema):
    """The body of ``POST /cloud/servers``."""

    project_id = ProjectId(required=True, metadata={"description": "Keystone project id"})
    name = fields.String(required=True, validate=validate.Length(1, 255))
    flavor_id = fields.String(required=True, validate=validate.Length(1, 255),
                              metadata={"description": "a flavor's id or name"})
    image_id = fields.String(required=True, validate=validate.Length(1, 64))
    network_ids = fields.List(fields.String(validate=validate.Length(1, 64)), required=True,
                              validate=validate.Length(1, 16))
    key_name = fields.String(validate=validate.Length(1, 255), load_default=None, allow_none=True)
    metadata = _user_metadata(load_default=dict)
    availability_zone = fields.String(validate=validate.Length(1, 255), load_default=None,
                                      allow_none=True)
    security_groups = fields.List(fields.String(validate=validate.Length(1, 255)),
                                  validate=validate.Length(1, 16),
                                  metadata={"description": "names or ids; default: the project's "
                                                           "\"default\" group"})
    boot_volume = fields.Nested(BootVolumeSchema, metadata={
        "description": "boot from a new volume made from the image (the server's image is then null)"})
    user_data = fields.String(validate=validate.Length(1, USER_DATA_MAX), load_only=True, metadata={
        "description": "cloud-init text, as plain text (at most 64 KiB once base64-encoded); "
                       "never shown back"})

    @validates("user_data")
    def _user_data_fits(self, value: str, **kwargs: Any) -> None:
        encoded = len(base64.b64encode(value.encode()))
        if encoded > USER_DATA_MAX:
            raise ValidationError(f"At most {USER_DATA_MAX} bytes once base64-encoded "
                                  f"(Nova's limit); this is {encoded}.")



class UpdateServerSchema(Schema):
    """The body of ``PATCH /cloud/servers/{id}``: a new name, new user metadata, or both."""

    name = fields.String(validate=[validate.Length(1, 255), validate.Regexp(
        r"^\S(.*\S)?$", error="No leading or trailing spaces.")])
    metadata = _user_metadata(metadata={"description": "replaces every key of the user's; the "
                                                       "service's own keys stay"})

    @validates_schema
    def _something_to_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give a name, metadata, or both.", "_schema")


class ConsoleLogQuerySchema(ProjectQuerySchema):
    """``?project_id=&lines=``: how much of the console log."""

    lines = fields.Integer(validate=validate.Range(1, 10_000), load_default=100,
                           metadata={"description": "the last lines to give (default 100)"})


class RemoteConsoleSchema(Schema):
    """The body of ``POST /cloud/servers/{id}/remote-console``."""

    protocol = fields.String(required=True, validate=validate.OneOf(CONSOLE_PROTOCOLS))


class RemoteConsoleAnswerSchema(Schema):
    """A new remote console; its URL is a credential (never logged, never cached)."""

    protocol = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "novnc, spice-html5 or serial"})
    url = fields.String(required=True)


class ConsoleLogSchema(Schema):
    """A server's console log, live from Nova."""

    output = fields.String(required=True)


def job_href(project_id: str, job_id: str) -> str:
    """Where a job can be watched."""
    return f"/cloud/jobs/{job_id}?project_id={project_id}"


class JobReferenceSchema(Schema):
    """Where to follow a job (dumped from a ``JobOutcome``)."""

    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    href = fields.String(required=True)

    @pre_dump
    def _from_outcome(self, outcome: JobOutcome, **kwargs: Any) -> dict[str, Any]:
        return {"id": outcome.job_id, "status": outcome.job_status,
                "href": job_href(outcome.project_id, outcome.job_id)}


class CreateAnswerSchema(Schema):
    """The 202 answer to a create (dumped from a ``JobOutcome``)."""

    id = fields.String(allow_none=True, required=True,
                       metadata={"description": "the server's id; null until Nova has given it"})
    status = fields.String(required=True, metadata={"description": "BUILD (ERROR if the job failed)"})
    job = fields.Nested(JobReferenceSchema, required=True)

    @pre_dump
    def _from_outcome(self, outcome: JobOutcome, **kwargs: Any) -> dict[str, Any]:
        return {"id": outcome.server_id, "job": outcome,
                "status": "ERROR" if outcome.job_status == FAILED else "BUILD"}


class VolumeCreateSchema(Schema):
    """The body of ``POST /cloud/volumes``."""

    project_id = ProjectId(required=True, metadata={"description": "Keystone project id"})
    name = fields.String(required=True, validate=validate.Length(1, 255))
    size_gb = fields.Integer(required=True, validate=validate.Range(1, 16384),
                             metadata={"description": "GiB"})
    volume_type = fields.String(validate=validate.Length(1, 255), load_default=None, allow_none=True,
                                metadata={"description": "a Cinder volume type (default: the cloud's)"})
    image_id = fields.String(validate=validate.Length(1, 64), load_default=None, allow_none=True,
                             metadata={"description": "make it from this image (then it is bootable)"})
    description = fields.String(validate=validate.Length(0, 255), load_default=None, allow_none=True)


class VolumeCreateAnswerSchema(Schema):
    """The 202 answer to a volume create (dumped from a ``JobOutcome``: its ``server_id`` is the
    volume's id)."""

    id = fields.String(allow_none=True, required=True,
                       metadata={"description": "the volume's id; null until Cinder has given it"})
    status = fields.String(required=True, metadata={"description": "creating (error if the job failed)"})
    job = fields.Nested(JobReferenceSchema, required=True)

    @pre_dump
    def _from_outcome(self, outcome: JobOutcome, **kwargs: Any) -> dict[str, Any]:
        return {"id": outcome.server_id, "job": outcome,
                "status": "error" if outcome.job_status == FAILED else "creating"}


class ActionSchema(Schema):
    """The body of ``POST /cloud/servers/{id}/actions``."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    type = fields.String(validate=validate.OneOf(REBOOT_TYPES),
                         metadata={"description": "reboot: SOFT (the default) or HARD; "
                                                  "ignored by the others"})
    flavor_id = fields.String(validate=validate.Length(1, 255),
                              metadata={"description": "resize (required): the new flavor's id or name"})
    confirm = fields.Boolean(metadata={"description": "resize: confirm once VERIFY_RESIZE shows "
                                                      "(the default), or wait there for "
                                                      "confirm_resize or revert_resize"})
    image_name = fields.String(validate=[validate.Length(1, 255), validate.Regexp(
        r"^\S(.*\S)?$", error="No leading or trailing spaces.")],
        metadata={"description": "snapshot (required): the new image's name"})
    volume_id = fields.UUID(metadata={"description": "attach_volume, detach_volume (required): the volume"})

    @validates_schema
    def _arguments_of_the_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        needed = {RESIZE: {"flavor_id"}, SNAPSHOT: {"image_name"}, ATTACH_VOLUME: {"volume_id"},
                  DETACH_VOLUME: {"volume_id"}}.get(data.get("action", ""), set())
        allowed = needed | ({"confirm"} if data.get("action") == RESIZE else set())
        errors = {name: ["Required by this action."] for name in needed - set(data)}
        errors |= {name: [f"Not an argument of {data.get('action')}."]
                   for name in ("flavor_id", "confirm", "image_name", "volume_id")
                   if name in data and name not in allowed}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _request(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        request = {"action": data["action"],
                   "type": data.get("type", "SOFT") if data["action"] == REBOOT else None}
        if data["action"] == RESIZE:
            request |= {"flavor_id": data["flavor_id"], "confirm": data.get("confirm", True)}
        if data["action"] == SNAPSHOT:
            request["image_name"] = data["image_name"]
        if data["action"] in (ATTACH_VOLUME, DETACH_VOLUME):
            request["volume_id"] = str(data["volume_id"])
        return request


class ActionAnswerSchema(Schema):
    """The 202 answer to an action (dumped from a ``JobOutcome`` and the action)."""

    id = fields.String(required=True, metadata={"description": "the server's id"})
    action = fields.String(required=True)
    job = fields.Nested(JobReferenceSchema, required=True)


class JobListQuerySchema(ProjectQuerySchema):
    """``?project_id=&server_id=``: a server's jobs."""

    server_id = ServerId(required=True, metadata={"description": "the server whose jobs to list"})


class JobSchema(Schema):
    """A job: a create, a delete or an action (dumped from a ``Job``)."""

    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    server_id = fields.String(allow_none=True, required=True)
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    requested_by = fields.String(allow_none=True, required=True, metadata={
        "description": "who asked: a token's name, or a JWT's subject and issuer"})
    result = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, required=True,
                         metadata={"description": "what the job made: {\"image_id\"} for a snapshot"})
