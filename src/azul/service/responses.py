"""
Framework-neutral responses, and the ONE place where exceptions become HTTP
responses: `ERRORS` maps each domain error class of `azul.errors` to a status
and the `Code` of the `{"Code", "Message"}` body that portals parse (the shape
of Chalice's error responses, serialized compactly as Chalice does). Anything
else raised below is a bug: logged with its traceback and answered with a
generic 500 that leaks nothing. A server-side fault is never a 4xx.
"""
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from azul.errors import (
    AzulError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    RepositoryError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)

log = logging.getLogger(__name__)

JSON_TYPE = 'application/json'

# Most specific first: the first class an error is an instance of wins
ERRORS: tuple[tuple[type[AzulError], int, str], ...] = (
    (BadRequestError, 400, 'BadRequestError'),
    (UnauthorizedError, 401, 'UnauthorizedError'),
    (ForbiddenError, 403, 'ForbiddenError'),
    (NotFoundError, 404, 'NotFoundError'),
    (ConflictError, 409, 'ConflictError'),
    (GoneError, 410, 'GoneError'),
    (UnsupportedMediaTypeError, 415, 'UnsupportedMediaType'),
    (RepositoryError, 502, 'BadGatewayError'),
    (ServiceUnavailableError, 503, 'ServiceUnavailableError'),
    (ConfigError, 500, 'InternalServerError'),
    (AzulError, 500, 'InternalServerError'),
)

INTERNAL_MESSAGE = 'An internal server error occurred.'


def error_status(error: AzulError) -> tuple[int, str]:
    """The HTTP status and error code of a domain error."""
    for cls, status, code in ERRORS:
        if isinstance(error, cls):
            return status, code
    raise AssertionError(error)


def compact(body: Any) -> str:
    # Chalice serializes the bodies it builds from dicts with these separators
    return json.dumps(body, separators=(',', ':'))


@attrs.frozen
class Response:
    status: int
    # A JSON-able value, or a str sent as is (HTML, pre-serialized JSON)
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def with_headers(self, headers: Mapping[str, str]) -> 'Response':
        return attrs.evolve(self, headers={**headers, **self.headers})

    @property
    def text(self) -> str:
        return self.body if isinstance(self.body, str) else compact(self.body)


def json_response(body: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None,
                  spaced: bool = False) -> Response:
    """
    A JSON response. Bodies are compact unless `spaced`, for the few
    responses the original serializes itself with `json.dumps` defaults.
    """
    text = json.dumps(body) if spaced else body
    return Response(status, text, {'Content-Type': JSON_TYPE, **(headers or {})})


def redirect(location: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(302, '', {'Location': location, **(headers or {})})


def error_body(code: str, message: str) -> dict[str, str]:
    return {'Code': code, 'Message': message}


def error_response(error: Exception) -> Response:
    if not isinstance(error, AzulError):
        log.exception('Unexpected error while handling a request')
        return json_response(error_body('InternalServerError', INTERNAL_MESSAGE), status=500)
    status, code = error_status(error)
    if status >= 500:
        log.warning('%s: %s', type(error).__name__, error.message)
    if status == 500:
        # Internal failures are logged above, not described to clients
        return json_response(error_body(code, INTERNAL_MESSAGE), status=500)
    return json_response(error_body(code, error.message), status=status)


def respond(handler: Callable[..., Response], *args: Any, **kwargs: Any) -> Response:
    """Call a handler; any exception it raises becomes an error response."""
    try:
        return handler(*args, **kwargs)
    except Exception as e:
        return error_response(e)
