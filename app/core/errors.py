"""The service's domain errors; the HTTP edge turns each into a problem document."""


class ServiceError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Error"
    slug: str | None = "error"  # the problem type; None: a plain HTTP error (about:blank)

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(ServiceError):
    """The request is malformed (400)."""

    title = "Bad request"
    slug = "invalid-request"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}


class UnprocessableRequest(InvalidRequest):
    """The request is well-formed but cannot be carried out as asked (422)."""

    title = "Unprocessable request"
    slug = "unprocessable-request"


class Forbidden(ServiceError):
    """The caller may not act on the project (403)."""

    title = "Forbidden"
    slug = None


class RateLimited(ServiceError):
    """The caller has used up its budget of such requests for now (429)."""

    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Conflict(ServiceError):
    """The resource's state does not allow the request now (409)."""

    title = "Conflict"
    slug = "conflict"


class UnknownProject(ServiceError):
    """No OpenStack credentials are configured for the project (404)."""

    title = "Unknown project"
    slug = "unknown-project"


class NotFound(ServiceError):
    """The resource does not exist in the project (404)."""

    title = "Not found"
    slug = "not-found"


class NotConfigured(ServiceError):
    """The service is not set up for this capability (503)."""

    title = "Not configured"
    slug = "not-configured"


class NotReplicated(ServiceError):
    """A write that an answer would promise did not reach a Redis replica in time (503): it may
    be lost in a failover, so it is not acknowledged."""

    title = "Not replicated"
    slug = "not-replicated"
    retry_after = 1.0


class OpenStackUnavailable(ServiceError):
    """OpenStack could not be reached or failed (503)."""

    title = "OpenStack unavailable"
    slug = "openstack-unavailable"


class OpenStackTimeout(OpenStackUnavailable):
    """OpenStack did not answer in time (504)."""

    title = "OpenStack timeout"
    slug = "openstack-timeout"


class OpenStackRejected(ServiceError):
    """OpenStack refused the call with a client error (4xx other than 404)."""

    title = "Rejected by OpenStack"
    slug = "openstack-rejected"

    def __init__(self, detail: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after
