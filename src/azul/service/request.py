"""
The framework-neutral request and the parsing of its parameters.

Every parameter arrives as a string (query string) or as a JSON value (a POST
body). The messages of the 400s are worded as the original Azul words them
(see `parameters`, `size_param`, `invalid`, `json_param`), because clients and
their tests match on them.
"""
import json
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import attrs

from azul.core.limits import Limits, exceeded, json_depth
from azul.errors import BadRequestError


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


def _listing(what: str, names: Collection[str]) -> str:
    # As the original words it: pluralized, sorted, each name in backticks
    noun = 'query parameter' if len(names) == 1 else 'query parameters'
    return f'{what} {noun} ' + ', '.join(f'`{n}`' for n in sorted(names))


def parameters(request: Request, allowed: Collection[str],
               body_allowed: bool = False, required: Collection[str] = (),
               ignore_unknown: bool = False, limits: Limits = Limits()) -> dict[str, Any]:
    """
    The request's parameters as one dict: query parameters as strings (of a
    repeated one, the last, as Chalice hands it to the original), and for a
    POST with `body_allowed`, the properties of the JSON object in its body.
    Unknown names (unless `ignore_unknown`), missing `required` ones and bad
    JSON are a 400, as is a body beyond the `limits` of size and depth.
    """
    result: dict[str, Any] = {name: values[-1]
                              for name, values in request.query.items() if values}
    if body_allowed and request.method in ('POST', 'PUT') and request.body:
        for name, value in _body(request.body, limits).items():
            if name in result:
                raise BadRequestError(f'The parameter {name!r} was given both in the query '
                                      f'string and in the body')
            result[name] = value
    if not ignore_unknown:
        unknown = set(result) - set(allowed)
        if unknown:
            raise BadRequestError(_listing('Unknown', unknown))
    missing = set(required) - set(result)
    if missing:
        raise BadRequestError(_listing('Missing required', missing))
    return result


def _body(body: bytes, limits: Limits) -> dict[str, Any]:
    value = json_body(body, limits)
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
        # Only a POST body can hold a non-string
        raise invalid(name)
    return value


def invalid(name: str) -> BadRequestError:
    """The original's message for a parameter whose value its validator refused."""
    return BadRequestError(f'Invalid value for `{name}`')


def int_param(params: Mapping[str, Any], name: str, default: int,
              lo: int, hi: int) -> int:
    """An integer parameter between `lo` and `hi`, or 400 `Invalid value for `name``."""
    value = params.get(name)
    if value is None:
        return default
    result = _integer(value)
    if result is None or not lo <= result <= hi:
        raise invalid(name)
    return result


def size_param(params: Mapping[str, Any], name: str, default: int, hi: int) -> int:
    """A page size, refused with the original's three messages for `size`."""
    value = params.get(name)
    if value is None:
        return default
    result = _integer(value)
    if result is None:
        raise BadRequestError(f'Invalid value for parameter `{name}`')
    if result > hi:
        raise BadRequestError(f'Invalid value for parameter `{name}`, must not be greater '
                              f'than {hi}')
    if result < 1:
        raise BadRequestError(f'Invalid value for parameter `{name}`, must be greater than 0')
    return result


def _integer(value: Any) -> int | None:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def choice_param(params: Mapping[str, Any], name: str, choices: Sequence[str],
                 default: str | None = None) -> str | None:
    value = string_param(params, name)
    if value is None:
        return default
    if value not in choices:
        raise invalid(name)
    return value


def json_body(body: bytes, limits: Limits) -> Any:
    """
    The JSON value of a request body (a POST's parameters, a notification),
    or a 400: strict JSON, within the limits of size and nesting.
    """
    if len(body) > limits.body_size:
        raise BadRequestError(exceeded('The request body is too large', f'{len(body)} bytes',
                                       limits.body_size, 'AZUL_MAX_BODY_SIZE', ' bytes'))
    check_depth('The request body', body, limits)
    try:
        return strict_json(body.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequestError(f'The request body is not valid JSON: {e}') from None


def check_depth(what: str, text: str | bytes, limits: Limits) -> None:
    """A 400 unless the JSON `text` nests at most as deep as the limit allows."""
    depth = json_depth(text)
    if depth > limits.json_depth:
        raise BadRequestError(exceeded(f'{what} is nested too deeply', f'{depth} levels',
                                       limits.json_depth, 'AZUL_MAX_JSON_DEPTH', ' levels'))


def json_param(params: Mapping[str, Any], name: str, limits: Limits = Limits()) -> Any:
    """A parameter holding JSON: a string to decode, or (from a body) a decoded value."""
    value = params.get(name)
    if isinstance(value, str):
        check_depth(f'The {name!r} parameter', value, limits)
        try:
            return strict_json(value)
        except ValueError:
            raise BadRequestError(f'The {name!r} parameter is not valid JSON') from None
    return value


def strict_json(text: str | bytes) -> Any:
    """
    JSON as RFC 8259 defines it, with numbers a double can hold: Python's
    parser also takes NaN and Infinity, and turns 1e400 into infinity, none of
    which a backend can compare with (one answers nothing, the other fails).
    """
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                      parse_int=_bounded_int)


def _no_constant(name: str) -> Any:
    raise ValueError(f'{name} is not JSON')


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f'{text} is out of range')
    return value


# Python's own limit (sys.get_int_max_str_digits), whose ValueError would not
# say what is wrong; converting n digits costs n squared
_MAX_DIGITS = 4300


def _bounded_int(text: str) -> int:
    if len(text.lstrip('-')) > _MAX_DIGITS:
        raise ValueError(f'a number of {len(text)} characters is out of range')
    return int(text)


def link(base_url: str, path: str, params: Mapping[str, str | None]) -> str:
    """An absolute URL with a form-encoded query string; None values are left out."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f'{base_url}{path}?{query}' if query else f'{base_url}{path}'
