"""
Authentication of bundle notifications with a shared secret (HMAC-SHA256).

A signed notification carries two headers:

- `signature-timestamp`: the time of signing, in whole seconds since the Unix
  epoch;
- `signature`: the hex digest of
  `{METHOD}\\n{path}\\n{hex sha256 of the body}\\n{timestamp}` under the
  deployment's AZUL_INDEXER_HMAC_KEY.

Signing the method, path and body digest proves that the sender holds the key
and that the request was not altered; signing the timestamp bounds how long a
captured request can be replayed: one signed more than `MAX_AGE` seconds
before (or after, for clock skew) the receiver's clock is refused. Within that
window a replay does no harm, since notifications are idempotent (a bundle
added twice is indexed once; a deletion wins over an addition of the same
version). It is deliberately simpler than the original Azul's HTTP message
signatures: `signed_headers` below is all a client needs, e.g.

    headers = {'Content-Type': 'application/json',
               **signed_headers(key, 'POST', '/dcp/add', body)}
"""
import hashlib
import hmac
import time

from azul.errors import UnauthorizedError

# Seconds a signature stays valid, either side of the receiver's clock
MAX_AGE = 300

SIGNATURE = 'signature'
TIMESTAMP = 'signature-timestamp'


def _message(method: str, path: str, body: bytes, timestamp: int) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f'{method.upper()}\n{path}\n{digest}\n{timestamp}'.encode()


def sign(key: str, method: str, path: str, body: bytes, timestamp: int) -> str:
    """The `signature` header of a request signed at `timestamp` (Unix seconds)."""
    return hmac.new(key.encode(), _message(method, path, body, timestamp),
                    hashlib.sha256).hexdigest()


def signed_headers(key: str, method: str, path: str, body: bytes,
                   now: float | None = None) -> dict[str, str]:
    """The two headers that sign a request now (or at `now`)."""
    timestamp = int(time.time() if now is None else now)
    return {SIGNATURE: sign(key, method, path, body, timestamp), TIMESTAMP: str(timestamp)}


def verify(key: str | None,
           method: str,
           path: str,
           body: bytes,
           signature: str | None,
           timestamp: str | None,
           now: float | None = None) -> None:
    """Raise UnauthorizedError unless the request is signed, recently; no key: accept all."""
    if key is None:
        return
    if not signature:
        raise UnauthorizedError('Missing `signature` header: notifications to this deployment '
                                'must be signed (HMAC-SHA256, see azul.indexer.signature)')
    if not timestamp:
        raise UnauthorizedError(f'Missing `{TIMESTAMP}` header: a signed notification must say '
                                f'when it was signed (Unix seconds)')
    timestamp = timestamp.strip()
    # ASCII digits only: int() would also take other scripts' digits and `_`
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise UnauthorizedError(f'Invalid `{TIMESTAMP}` header: expected Unix seconds')
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > MAX_AGE:
        raise UnauthorizedError(f'Expired `{TIMESTAMP}` header: the notification was signed '
                                f'{int(age)} s ago; signatures are valid for {MAX_AGE} s either '
                                f'side of the server\'s clock')
    expected = sign(key, method, path, body, int(timestamp)).encode()
    # Bytes, because compare_digest refuses str with non-ASCII characters
    if not hmac.compare_digest(expected, signature.strip().encode('utf-8', 'replace')):
        raise UnauthorizedError('Invalid `signature` header')
