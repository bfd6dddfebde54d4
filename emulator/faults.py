"""Faults a test or developer can inject, per project or for the whole cloud."""
from dataclasses import asdict, dataclass, fields
from typing import Any

ALL_PROJECTS = "*"
AMBIGUOUS_MODES = ("503", "drop")
THROTTLE_STATUSES = (429, 413)


@dataclass
class Faults:
    """What goes wrong with the service calls (Nova, Glance, Neutron) of a project."""

    latency: float = 0.0
    error_rate: float = 0.0
    throttle_count: int = 0
    throttle_status: int = 429
    retry_after: int = 1
    outage: bool = False
    ambiguous_creates: int = 0
    ambiguous_mode: str = "503"
    down_cell: bool = False
    missing_paths: str = ""  # comma-separated path endings answered 404: APIs this cloud lacks

    def __post_init__(self) -> None:
        if self.latency < 0 or not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("latency must be >= 0 and error_rate between 0 and 1")
        if self.throttle_count < 0 or self.ambiguous_creates < 0 or self.retry_after < 0:
            raise ValueError("counts and retry_after must be >= 0")
        if self.throttle_status not in THROTTLE_STATUSES:
            raise ValueError(f"throttle_status must be one of {THROTTLE_STATUSES}")
        if self.ambiguous_mode not in AMBIGUOUS_MODES:
            raise ValueError(f"ambiguous_mode must be one of {AMBIGUOUS_MODES}")

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "Faults":
        """Build from a JSON object, rejecting unknown keys and wrong types."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(document) - set(known)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**document)

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object."""
        return asdict(self)

    def take_throttle(self) -> bool:
        """Whether this call is throttled; counts it down."""
        if self.throttle_count <= 0:
            return False
        self.throttle_count -= 1
        return True

    def lacks(self, path: str) -> bool:
        """Whether the call's path is one of an API this cloud is made to lack."""
        return any(path.endswith(end.strip()) for end in self.missing_paths.split(",") if end.strip())

    def take_ambiguous_create(self) -> bool:
        """Whether this create is carried out but answered with a failure; counts it down."""
        if self.ambiguous_creates <= 0:
            return False
        self.ambiguous_creates -= 1
        return True


class FaultBook:
    """The faults in force: one set per project, and one for every project."""

    def __init__(self, everywhere: Faults | None = None) -> None:
        self._by_project: dict[str, Faults] = {}
        if everywhere is not None:
            self._by_project[ALL_PROJECTS] = everywhere

    def set(self, project_id: str, faults: Faults) -> None:
        """Replace the faults of a project (or ``*`` for all)."""
        self._by_project[project_id] = faults

    def clear(self, project_id: str) -> None:
        """Remove the faults of a project (or ``*``)."""
        self._by_project.pop(project_id, None)

    def get(self, project_id: str) -> Faults | None:
        """The faults set for exactly this key, if any."""
        return self._by_project.get(project_id)

    def for_call(self, project_id: str | None) -> Faults | None:
        """The faults that apply to a call: the project's own, else the cloud-wide ones."""
        if project_id is not None and project_id in self._by_project:
            return self._by_project[project_id]
        return self._by_project.get(ALL_PROJECTS)
