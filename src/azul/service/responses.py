"""
Framework-neutral responses, and the ONE place where exceptions become HTTP
responses: an `AzulError` maps to its own status with the `{"Code", "Message"}`
body portals already parse (Chalice's error shape); anything else is a bug,
logged with its traceback and answered with a generic 500 that leaks nothing.
"""
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from azul.errors import AzulError

log = logging.getLogger(__name__)

JSON_TYPE = 'application/json'


@attrs.frozen
class Response:
    status: int
    # A JSON-able value, or a str sent as is (HTML)
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def with_headers(self, headers: Mapping[str, str]) -> 'Response':
        return attrs.evolve(self, headers={**headers, **self.headers})

    @property
    def text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


def json_response(body: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, body, {'Content-Type': JSON_TYPE, **(headers or {})})


def redirect(location: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(302, '', {'Location': location, **(headers or {})})


def error_response(error: Exception) -> Response:
    if isinstance(error, AzulError):
        if error.status >= 500:
            log.warning('%s: %s', error.code, error.message)
        if error.status == 500:
            # Internal failures are logged above, not described to clients
            return json_response({'Code': error.code,
                                  'Message': 'An internal server error occurred.'}, status=500)
        return json_response(error.to_json(), status=error.status)
    log.exception('Unexpected error while handling a request')
    return json_response({'Code': 'InternalServerError',
                          'Message': 'An internal server error occurred.'},
                         status=500)


def respond(handler: Callable[..., Response], *args: Any, **kwargs: Any) -> Response:
    """Call a handler; any exception it raises becomes an error response."""
    try:
        return handler(*args, **kwargs)
    except Exception as e:
        return error_response(e)
