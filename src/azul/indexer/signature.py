"""
Authentication of bundle notifications with a shared secret (HMAC-SHA256).

The `signature` header holds the hex digest of
`{METHOD}\\n{path}\\n{hex sha256 of the body}` under the deployment's
AZUL_INDEXER_HMAC_KEY. Signing the method, path and body digest proves that
the sender holds the key and that the request was not altered; it is
deliberately simpler than the original Azul's HTTP message signatures, and
`sign` below is all a client needs.
"""
import hashlib
import hmac

from azul.errors import UnauthorizedError


def _message(method: str, path: str, body: bytes) -> bytes:
    return f'{method.upper()}\n{path}\n{hashlib.sha256(body).hexdigest()}'.encode()


def sign(key: str, method: str, path: str, body: bytes) -> str:
    return hmac.new(key.encode(), _message(method, path, body), hashlib.sha256).hexdigest()


def verify(key: str | None, method: str, path: str, body: bytes, signature: str | None) -> None:
    """Raise UnauthorizedError unless `signature` is right; no key: accept all."""
    if key is None:
        return
    if not signature:
        raise UnauthorizedError('Missing `signature` header: notifications to this deployment '
                                'must be signed (HMAC-SHA256, see azul.indexer.signature)')
    if not hmac.compare_digest(sign(key, method, path, body), signature.strip()):
        raise UnauthorizedError('Invalid `signature` header')
