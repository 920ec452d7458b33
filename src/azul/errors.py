"""
The one exception hierarchy of Azul. Each error carries its HTTP status; the
adapters map them to responses in one place (`azul.service.responses`), so
plugins and the core never import a web framework.
"""


class AzulError(Exception):
    status: int = 500
    code: str = 'InternalServerError'

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code

    def to_json(self) -> dict[str, str]:
        # The shape of Chalice's error responses, which portals already parse
        return {'Code': self.code, 'Message': self.message}


class BadRequestError(AzulError):
    status = 400
    code = 'BadRequestError'


class InvalidFilterError(BadRequestError):
    pass


class UnauthorizedError(AzulError):
    status = 401
    code = 'UnauthorizedError'


class NotFoundError(AzulError):
    status = 404
    code = 'NotFoundError'


class ConflictError(AzulError):
    """An optimistic concurrency check failed: someone else wrote first."""
    status = 409
    code = 'ConflictError'


class ServiceUnavailableError(AzulError):
    """A backend or queue we depend on is unreachable."""
    status = 503
    code = 'ServiceUnavailableError'


class ConfigError(AzulError):
    """A setting is missing or malformed; raised at start-up."""
    status = 500
    code = 'ConfigError'


class RepositoryError(AzulError):
    """A bundle could not be listed or fetched from its source."""
    status = 502
    code = 'RepositoryError'
