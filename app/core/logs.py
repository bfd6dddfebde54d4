"""JSON-lines logging, configured once at start; request, project, job and server ids come from
context, and a line's own fields (``extra={"fields": {...}}``) become top-level keys."""
import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
project_id_var: ContextVar[str | None] = ContextVar("project_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)
server_id_var: ContextVar[str | None] = ContextVar("server_id", default=None)
_CONTEXT = (("request_id", request_id_var), ("project_id", project_id_var), ("job_id", job_id_var),
            ("server_id", server_id_var))


# Defence in depth: whatever a library logs, a bearer token or Authorization value is masked.
_SECRETS = re.compile(r"(?i)(\bauthorization\s*[:=]\s*(?:(?:bearer|basic)\s+)?|\bbearer\s+)[^\s\"',;]+")


def redact(text: str) -> str:
    """The text with bearer tokens and Authorization values masked."""
    return _SECRETS.sub(r"\1[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids in context, the line's own
    fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name, var in _CONTEXT:
            value = var.get()
            if value:
                entry[name] = value
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send JSON lines to stderr at ``level``; quiet the chattiest libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("keystoneauth", "openstack", "urllib3", "stevedore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
