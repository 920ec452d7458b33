"""
The framework-neutral request and the parsing of its parameters.

Every parameter arrives as a string (query string) or as a JSON value (a POST
body); each parser names the parameter and the problem in the 400 it raises,
so that a client can fix its request from the message alone.
"""
import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlencode

import attrs

from azul.errors import BadRequestError

# The body of a POST may hold any query parameter; above this size it is
# refused rather than parsed.
MAX_BODY_SIZE = 1024 * 1024


@attrs.frozen
class Request:
    method: str
    # The actual path, e.g. /index/files, without the query string
    path: str
    # Query parameters, every value of each (a parameter may repeat)
    query: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    # Header names in lower case
    headers: Mapping[str, str] = attrs.field(factory=dict)
    path_params: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes | None = None

    def base_url(self, configured: str | None) -> str:
        """
        The absolute URL of the service root for links in responses: the
        configured one, else what the client used to reach us (behind a
        proxy, X-Forwarded-Proto tells the scheme).
        """
        if configured:
            return configured.rstrip('/')
        host = self.headers.get('host') or 'localhost'
        proto = self.headers.get('x-forwarded-proto', 'http').split(',')[0].strip()
        if proto not in ('http', 'https'):
            proto = 'http'
        return f'{proto}://{host}'

    def url(self, configured: str | None) -> str:
        return self.base_url(configured) + self.path


def parameters(request: Request, allowed: Collection[str],
               body_allowed: bool = False) -> dict[str, Any]:
    """
    The request's parameters as one dict, each given once: query parameters
    as strings, and for a POST with `body_allowed`, the properties of the JSON
    object in its body. Unknown names, repeats and bad JSON are a 400.
    """
    result: dict[str, Any] = {}
    for name, values in request.query.items():
        if len(values) != 1:
            raise BadRequestError(f'The parameter {name!r} was given {len(values)} times; '
                                  f'give it at most once')
        result[name] = values[0]
    if body_allowed and request.method == 'POST' and request.body:
        for name, value in _body(request.body).items():
            if name in result:
                raise BadRequestError(f'The parameter {name!r} was given both in the query '
                                      f'string and in the body')
            result[name] = value
    unknown = sorted(set(result) - set(allowed))
    if unknown:
        names = ', '.join(map(repr, unknown))
        raise BadRequestError(f'Unknown parameter(s) {names}; the allowed parameters are: '
                              f'{", ".join(sorted(allowed))}')
    return result


def _body(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_SIZE:
        raise BadRequestError(f'The request body exceeds {MAX_BODY_SIZE} bytes')
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequestError(f'The request body is not valid JSON: {e}') from None
    if not isinstance(value, dict):
        raise BadRequestError('The request body must be a JSON object of parameters, '
                              'e.g. {"filters": {...}}')
    return value


def string_param(params: Mapping[str, Any], name: str, default: str | None = None
                 ) -> str | None:
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRequestError(f'The parameter {name!r} must be a string, not {value!r}')
    return value


def int_param(params: Mapping[str, Any], name: str, default: int,
              lo: int, hi: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise BadRequestError(f'The parameter {name!r} must be an integer, '
                                  f'not {params[name]!r}') from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f'The parameter {name!r} must be an integer, not {value!r}')
    if not lo <= value <= hi:
        raise BadRequestError(f'The parameter {name!r} must be between {lo} and {hi}, '
                              f'not {value}')
    return value


def choice_param(params: Mapping[str, Any], name: str, choices: Collection[str],
                 default: str | None = None) -> str | None:
    value = string_param(params, name)
    if value is None:
        return default
    if value not in choices:
        raise BadRequestError(f'Invalid value {value!r} for parameter {name!r}; '
                              f'expected one of: {", ".join(choices)}')
    return value


def json_param(params: Mapping[str, Any], name: str) -> Any:
    """A parameter holding JSON: a string to decode, or (from a body) a decoded value."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as e:
            raise BadRequestError(f'The parameter {name!r} is not valid JSON: {e}') from None
    return value


def link(base_url: str, path: str, params: Mapping[str, str | None]) -> str:
    """An absolute URL with a form-encoded query string; None values are left out."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f'{base_url}{path}?{query}' if query else f'{base_url}{path}'
