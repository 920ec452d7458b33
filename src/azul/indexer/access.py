"""
Who may post notifications, and so change the index.

With AZUL_INDEXER_HMAC_KEY set, a notification must be signed (see
`azul.indexer.signature`). Without it, the indexer trusts whoever can reach
it, which is safe only on a loopback interface, and only if no web page the
operator opens can post in the operator's name. A browser lets a page post
cross-origin without asking first only a "simple" request (content type
`text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`);
anything else needs a CORS pre-flight, which the indexer refuses. So an
unsigned notification is accepted only

- by a server bound to a loopback address,
- as `application/json`,
- addressed to a loopback host name (`Host`), which a page that rebinds its
  own DNS name to 127.0.0.1 cannot fake, and
- without an `Origin` of another host.
"""
import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from azul.errors import ForbiddenError, UnauthorizedError, UnsupportedMediaTypeError

JSON_TYPE = 'application/json'


def is_loopback_address(host: str) -> bool:
    """Whether `host`, an address to bind or a host name as a client wrote it, is loopback."""
    host = host.strip().lower().removeprefix('[').removesuffix(']')
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def check_unsigned(loopback: bool, headers: Mapping[str, str]) -> None:
    """
    Raise unless an unsigned notification with these (lowercase) headers may
    be accepted by a server that is (or is not) bound to loopback.
    """
    if not loopback:
        raise UnauthorizedError('Unsigned notifications are accepted only by a local server '
                                'bound to a loopback address; set AZUL_INDEXER_HMAC_KEY and '
                                'sign notifications (see azul.indexer.signature)')
    origin = headers.get('origin')
    if origin is not None:
        host = _hostname(origin.strip())
        if host is None or not is_loopback_address(host):
            raise ForbiddenError(f'Cross-origin notification from {origin!r} refused: the '
                                 f'indexer accepts unsigned notifications only from the '
                                 f'local host')
    host = headers.get('host')
    if host is not None:
        name = _hostname('//' + host.strip())
        if name is None or not is_loopback_address(name):
            raise ForbiddenError(f'Unsigned notification to host {host!r} refused: it must '
                                 f'be addressed to a loopback host name (127.0.0.1, '
                                 f'localhost or [::1])')
    content_type = headers.get('content-type', '').split(';')[0].strip().lower()
    if content_type != JSON_TYPE:
        raise UnsupportedMediaTypeError(f'Unsigned notifications must be sent with '
                                        f'Content-Type {JSON_TYPE}, not '
                                        f'{content_type or "none"!r}: a web page of another '
                                        f'origin can post that type in your name')
