"""Tunable behaviour of the emulator, set from command-line flags or by tests."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated cloud behaves; every delay is in (emulated) seconds."""

    build_delay: float = 3.0
    delete_delay: float = 1.0
    action_delay: float = 1.0  # how long a stop, start, reboot, resize or snapshot takes
    resize_confirm_window: float = 0.0  # seconds until a resize confirms itself (0: never)
    build_error_rate: float = 0.0
    token_ttl: float = 3600.0
    max_limit: int = 1000
    glance_default_limit: int = 25
    quota_instances: int = 10
    region: str = "RegionOne"
    availability_zones: tuple[str, ...] = ("nova",)
    min_microversion: str = "2.1"
    max_microversion: str = "2.96"
    tombstone_ttl: float = 86400.0
    request_log_size: int = 20000
    random_seed: int | None = None
    consoles: tuple[str, ...] = ("vnc", "serial")  # the remote console protocols the cloud offers
    with_cinder: bool = True  # False: the catalog has no volumev3 (a cloud without block storage)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if min(self.build_delay, self.delete_delay, self.action_delay) < 0:
            raise ValueError("delays must not be negative")
        if not 0.0 <= self.build_error_rate <= 1.0:
            raise ValueError("build_error_rate must be between 0 and 1")
        if self.max_limit < 1 or self.glance_default_limit < 1:
            raise ValueError("page limits must be positive")
        if self.token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
