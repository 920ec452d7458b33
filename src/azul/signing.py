"""
Expiring links signed with a secret, like S3's presigned URLs: whoever holds
the link may use it until it expires, and no one can alter its path or query
(to reach another file, or live longer) without the secret.

The secret is the setting AZUL_MANIFEST_SIGNING_KEY or, when that is unset, a
random key created once and kept with mode 0600 as `.signing-key` in the local
manifest directory (`config.manifest_dir`), so that links survive a restart and
every process of one deployment agrees on it. The file holds the key as 64 hex
digits.

A signature is the hex HMAC-SHA256 of `{expires}\\n{path_and_query}`, where
`path_and_query` is canonical (see `canonical`): the link's path and its query
parameters other than `signature`, sorted, so that a client reordering or
re-encoding the query does not break the link.
"""
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlencode

import attrs

from azul.errors import BadRequestError, ConfigError, ForbiddenError

KEY_FILE = '.signing-key'
EXPIRES = 'expires'
SIGNATURE = 'signature'


def canonical(path: str, params: Mapping[str, str]) -> str:
    """The path and the parameters, sorted and percent-encoded, as one string."""
    query = urlencode(sorted(params.items()), quote_via=quote)
    return f'{path}?{query}'


@attrs.frozen
class Signer:
    key: bytes = attrs.field(repr=False)

    def sign(self, path_and_query: str, expires: int) -> str:
        message = f'{expires}\n{path_and_query}'.encode('utf-8', 'surrogatepass')
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def verify(self, path_and_query: str, expires: int, signature: str,
               now: float | None = None) -> None:
        """
        Raise `ForbiddenError` unless `signature` is the signature of the link
        and the link has not expired.
        """
        expected = self.sign(path_and_query, expires)
        # Constant time, so that a client cannot guess the signature byte by byte
        if not hmac.compare_digest(expected.encode(), signature.encode('utf-8', 'replace')):
            raise ForbiddenError('The signature of the link is invalid')
        if expires < (time.time() if now is None else now):
            raise ForbiddenError('The link has expired')

    def signed_query(self, path: str, params: Mapping[str, str], expires: int) -> str:
        """The query string of a link to `path` with `params`, valid until `expires`."""
        params = {**params, EXPIRES: str(expires)}
        signature = self.sign(canonical(path, params), expires)
        return urlencode({**params, SIGNATURE: signature}, quote_via=quote)

    def verify_query(self, path: str, params: Mapping[str, str],
                     now: float | None = None) -> None:
        """
        Check a request for a link made by `signed_query`: 400 if it lacks a
        well-formed expiry or signature, 403 if the signature does not hold or
        the link has expired.
        """
        expires, signature = params.get(EXPIRES), params.get(SIGNATURE)
        # Bounded, so that the integer is cheap to parse and compare
        # ASCII digits only: str.isdigit() also admits '²', which int() refuses
        if expires is None or not re.fullmatch(r'[0-9]{1,12}', expires):
            raise BadRequestError(f'The link lacks a valid `{EXPIRES}` parameter')
        if signature is None:
            raise BadRequestError(f'The link lacks the `{SIGNATURE}` parameter')
        rest = {k: v for k, v in params.items() if k != SIGNATURE}
        self.verify(canonical(path, rest), int(expires), signature, now=now)


_lock = threading.Lock()
_keys: dict[Path, bytes] = {}


def signing_key(configured: str | None, directory: Path | None) -> bytes:
    """The configured secret, else the one kept in `directory` (made if missing)."""
    if configured:
        return configured.encode()
    if directory is None:
        # On Lambda: no lasting directory, and a key per container would make
        # one container's links invalid in the next
        raise ConfigError('AZUL_MANIFEST_SIGNING_KEY is not set (on AWS Lambda it belongs in '
                          'the deployment\'s secret)')
    path = Path(directory) / KEY_FILE
    with _lock:
        key = _keys.get(path)
        if key is None:
            key = _keys[path] = _load_or_create(path)
        return key


def _load_or_create(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        # Created with its final mode: there is no moment at which others may read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process made it first: use theirs, once it has written it
        for _ in range(100):
            key = path.read_bytes()
            if key:
                return key
            time.sleep(0.01)
        return path.read_bytes()
    with os.fdopen(fd, 'wb') as f:
        f.write(key)
    return key


def signer(config) -> Signer:
    """The signer of a deployment (`azul.config.Config`)."""
    return Signer(signing_key(config.manifest_signing_key, config.manifest_dir))
