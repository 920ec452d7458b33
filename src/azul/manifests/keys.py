"""
Names of manifests and of their preparation jobs.

- `ManifestKey`: what a manifest is made of (catalog, format, filters, the
  catalog's content version, the code version); equal keys mean equal
  manifests, so its digest names the cached object, and a write to the
  catalog or a new release makes a new one, as the original's key does.
- `Token`: the opaque path segment a client polls while a manifest is
  prepared (the job's digest and the number of polls so far, which sets the
  `Retry-After`, in the original's sequence).
- `SignedKey`: a finished curl manifest's digest and format under an HMAC, so
  that the command line the portal shows keeps working for as long as the
  manifest exists, without exposing an expiring storage URL (the original's
  reason for it).
"""
import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from datetime import datetime

import attrs

_NAMESPACE = uuid.UUID('3f0c3c55-5d4b-4a46-9f4a-4b7e8f1d2a61')
_DIGEST = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}')
# The original's wait after each poll, in seconds; the last repeats
WAIT_TIMES = (1, 1, 4, 6, 10)


def canonical_filters(filters: dict) -> str:
    """The filters' API form as text, independent of key order."""
    return json.dumps(filters, sort_keys=True, separators=(',', ':'))


@attrs.frozen
class ManifestKey:
    catalog: str
    format: str
    filters: str
    content: str
    code: str
    #: Where the manifest's file links point (the service's base URL)
    service_url: str
    #: The sources the requester may read, sorted (the manifest holds no
    #: more); None: every source (an operator's manifest)
    sources: tuple[str, ...] | None = None

    @property
    def digest(self) -> str:
        parts = (self.catalog, self.format, self.content, self.code, self.service_url,
                 self.filters)
        if self.sources is not None:
            # Callers who may read the same sources share a manifest, as in the original
            parts += (json.dumps(list(self.sources)),)
        return str(uuid.uuid5(_NAMESPACE, '\n'.join(parts)))

    def object_key(self, extension: str) -> str:
        return object_key(self.digest, extension)

    @property
    def job_key(self) -> str:
        return job_key(self.digest)


def object_key(digest: str, extension: str) -> str:
    return f'manifests/{digest}.{extension}'


def job_key(digest: str) -> str:
    return f'jobs/{digest}.json'


def file_name(atlas: str, digest: str, extension: str, base_name: str | None,
              now: datetime | None = None) -> str:
    """
    The download file name, as the original makes it: the base name the
    content suggests (a project's short name), cleaned of characters file
    systems dislike, with the local time of preparation; else a name made
    of the atlas and the manifest's digest.
    """
    if base_name:
        prefix = unicodedata.normalize('NFKD', base_name)
        prefix = re.sub(r'[^\w ,.@%&\-_()\\[\]/{}]', '_', prefix).strip()
        stamp = (now or datetime.now()).strftime('%Y-%m-%d %H.%M')
        return f'{prefix} {stamp}.{extension}'
    return f'{atlas}-manifest-{digest}.{extension}'


class InvalidToken(Exception):
    pass


def _encode(value: dict) -> str:
    text = json.dumps(value, separators=(',', ':')).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip('=')


def _decode(value: str) -> dict:
    if not isinstance(value, str) or len(value) > 512 or not value.isascii():
        raise InvalidToken(value)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + '=' * (-len(value) % 4)))
    except (binascii.Error, ValueError) as e:
        raise InvalidToken(value) from e
    if not isinstance(decoded, dict):
        raise InvalidToken(value)
    return decoded


@attrs.frozen
class Token:
    digest: str
    request_index: int = 0

    @property
    def retry_after(self) -> int:
        # As the original: the first token and its successor both wait the
        # first time, the n-th successor the n-th
        index = max(self.request_index - 1, 0)
        return WAIT_TIMES[min(index, len(WAIT_TIMES) - 1)]

    def next(self) -> 'Token':
        return attrs.evolve(self, request_index=self.request_index + 1)

    def encode(self) -> str:
        return _encode({'j': self.digest, 'i': self.request_index})

    @classmethod
    def decode(cls, value: str) -> 'Token':
        decoded = _decode(value)
        digest, index = decoded.get('j'), decoded.get('i')
        if (set(decoded) != {'j', 'i'} or not isinstance(digest, str)
                or not _DIGEST.fullmatch(digest) or type(index) is not int
                or not 0 <= index < 1_000_000):
            raise InvalidToken(value)
        return cls(digest, index)


@attrs.frozen
class SignedKey:
    digest: str
    format: str

    def encode(self, secret: bytes) -> str:
        return _encode({'k': self.digest, 'f': self.format,
                        's': self._signature(secret)})

    def _signature(self, secret: bytes) -> str:
        message = f'{self.digest}\n{self.format}'.encode()
        return hmac.new(secret, message, hashlib.sha256).hexdigest()

    @classmethod
    def decode(cls, value: str, secret: bytes) -> 'SignedKey':
        decoded = _decode(value)
        digest, format_, signature = decoded.get('k'), decoded.get('f'), decoded.get('s')
        if (set(decoded) != {'k', 'f', 's'} or not isinstance(digest, str)
                or not _DIGEST.fullmatch(digest) or not isinstance(format_, str)
                or not isinstance(signature, str)):
            raise InvalidToken(value)
        key = cls(digest, format_)
        if not hmac.compare_digest(key._signature(secret).encode(),
                                   signature.encode('utf-8', 'replace')):
            raise InvalidToken(value)
        return key
