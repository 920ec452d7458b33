"""
CORS: the portals run on other origins, so every response (errors included)
allows any origin, and pre-flight requests allow the headers portals send
(`Authorization` for a bearer token, `Content-Type` for POST and PUT bodies).
"""
from collections.abc import Iterable

ALLOW_ORIGIN = '*'
ALLOW_HEADERS = ('Authorization', 'Content-Type')
# Pre-flight answers may be cached by browsers for this many seconds
MAX_AGE = 600


def response_headers() -> dict[str, str]:
    """Headers for every actual (non pre-flight) response."""
    return {'Access-Control-Allow-Origin': ALLOW_ORIGIN}


def preflight_headers(methods: Iterable[str]) -> dict[str, str]:
    """The answer to an OPTIONS pre-flight request for a path serving `methods`."""
    return {
        'Access-Control-Allow-Origin': ALLOW_ORIGIN,
        'Access-Control-Allow-Methods': ','.join(sorted({*methods, 'OPTIONS'})),
        'Access-Control-Allow-Headers': ','.join(ALLOW_HEADERS),
        'Access-Control-Max-Age': str(MAX_AGE),
    }
