"""
The one exception hierarchy of Azul. These are domain errors: they say what
went wrong, not how to answer it. The service edge maps each class to an HTTP
status and error code in ONE table (`azul.service.responses.ERRORS`), so
plugins and the core never import a web framework or choose a status.

An `AzulError` that is none of the client-error classes below is a
server-side fault, and always answers 5xx.
"""


class AzulError(Exception):
    """A fault on our side, or a base class; never the client's fault."""

    @property
    def message(self) -> str:
        # Like Chalice's `str(e)`: one argument is the message, several are
        # shown as their tuple
        if not self.args:
            return type(self).__name__
        return str(self.args[0]) if len(self.args) == 1 else str(self.args)

    @property
    def status(self) -> int:
        """The HTTP status of this error, from the service's table."""
        from azul.service.responses import error_status
        return error_status(self)[0]


class BadRequestError(AzulError):
    """The request is malformed: a parameter, a body or a filter is invalid."""


class InvalidFilterError(BadRequestError):
    pass


class UnauthorizedError(AzulError):
    """The request lacks valid credentials."""


class ForbiddenError(AzulError):
    """The request is not allowed whatever its credentials (e.g. cross-origin)."""


class UnsupportedMediaTypeError(AzulError):
    """The request body has a content type the route does not accept."""


class NotFoundError(AzulError):
    """What the request names does not exist: an entity, a file, a catalog."""


class GoneError(AzulError):
    """What the request names existed once and has expired (e.g. a manifest job)."""


class ConflictError(AzulError):
    """An optimistic concurrency check failed: someone else wrote first."""


class ServiceUnavailableError(AzulError):
    """A backend or queue we depend on is unreachable."""


class ConfigError(AzulError):
    """A setting is missing or malformed; raised at start-up."""


class RepositoryError(AzulError):
    """A bundle could not be listed or fetched from its source."""
