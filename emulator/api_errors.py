"""The emulator's error, raised by handlers and rendered in each service's own style."""


class ApiError(Exception):
    """An HTTP error that a real OpenStack service would answer."""

    def __init__(self, status: int, message: str, *, kind: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or {}
