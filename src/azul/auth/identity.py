"""
Bearer tokens → identities, behind one seam (`TokenVerifier`):

- `LocalVerifier` reads a JSON file of tokens (for `make run`, tests and
  small deployments), re-read when it changes. Each key is a token, or
  `sha256:<hex>` of one so that the file need not hold the secret itself;
  each value names the subject, the groups it belongs to and optionally when
  the token expires (`{"subject": "alice@example.org", "groups":
  ["consent-1"], "expires": "2027-01-01T00:00:00Z"}`).
- `GoogleVerifier`, the original's: Google's tokeninfo endpoint vouches for
  an OAuth2 access token (and says whose it is and for how much longer), and
  Terra's SAM lists the groups of its holder.

A malformed `Authorization` header, an unknown, expired or revoked token is an
`UnauthorizedError` (401). Verified identities are cached by the SHA-256 of the
token (never the token) for a short time, as the original caches sources.
"""
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import attrs
import requests

from azul.errors import ServiceUnavailableError, UnauthorizedError


@attrs.frozen
class Identity:
    subject: str
    groups: frozenset[str] = frozenset()
    #: When the token stops being valid (seconds since the epoch), if known
    expires: float | None = None


ANONYMOUS = Identity(subject='anonymous')

# RFC 6750 §2.1; the scheme's name is case-insensitive (RFC 9110 §11.1)
_bearer_re = re.compile(r'Bearer +([A-Za-z0-9\-._~+/]+=*)', re.IGNORECASE)


_token_re = re.compile(r'[A-Za-z0-9\-._~+/]+=*')


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer` header, None without one."""
    value = headers.get('authorization')
    if value is None:
        return None
    match = _bearer_re.fullmatch(value.strip())
    if match is None:
        raise UnauthorizedError('The Authorization header must be of the form '
                                '`Bearer <token>`')
    return match.group(1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenVerifier(Protocol):

    def verify(self, token: str) -> Identity:
        """The identity holding `token`; UnauthorizedError if it holds none."""


def _expiry(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f'{where}: `expires` must be an ISO 8601 date and time')
    try:
        moment = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise ValueError(f'{where}: `expires` {value!r} is not an ISO 8601 date and '
                         f'time') from None
    if moment.tzinfo is None:
        raise ValueError(f'{where}: `expires` {value!r} needs a time zone')
    return moment.timestamp()


def parse_token_file(text: str) -> dict[str, Identity]:
    """Token digest → identity, from the file's JSON; ValueError naming a bad entry."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f'not valid JSON: {e}') from None
    if not isinstance(body, dict):
        raise ValueError('must be a JSON object mapping tokens to identities')
    result = {}
    for n, (key, value) in enumerate(body.items()):
        where = f'entry {n + 1}'
        if not isinstance(key, str) or not key:
            raise ValueError(f'{where}: a token must be a non-empty string')
        if key.startswith('sha256:'):
            digest = key.removeprefix('sha256:').lower()
            if not re.fullmatch(r'[0-9a-f]{64}', digest):
                raise ValueError(f'{where}: `sha256:` must be followed by 64 hex digits')
        else:
            if not _token_re.fullmatch(key):
                raise ValueError(f'{where}: not a token a Bearer header can carry')
            digest = token_digest(key)
        if not isinstance(value, dict):
            raise ValueError(f'{where}: must be an object with `subject` and `groups`')
        unknown = set(value) - {'subject', 'groups', 'expires'}
        if unknown:
            raise ValueError(f'{where}: unknown keys {sorted(unknown)}')
        subject, groups = value.get('subject'), value.get('groups', [])
        if not isinstance(subject, str) or not subject:
            raise ValueError(f'{where}: `subject` must be a non-empty string')
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise ValueError(f'{where}: `groups` must be a list of non-empty strings')
        result[digest] = Identity(subject=subject, groups=frozenset(groups),
                                  expires=_expiry(value.get('expires'), where))
    return result


class LocalVerifier:

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._tokens: dict[str, Identity] = {}

    def _current(self) -> dict[str, Identity]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise ServiceUnavailableError(f'The token file cannot be read: '
                                          f'{type(e).__name__}') from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    tokens = parse_token_file(self.path.read_text())
                except OSError as e:
                    raise ServiceUnavailableError(f'The token file cannot be read: '
                                                  f'{type(e).__name__}') from None
                except ValueError as e:
                    # The operator's mistake, not the caller's: no token is valid until fixed
                    raise ServiceUnavailableError(f'The token file is invalid: {e}') from None
                self._tokens, self._stamp = tokens, stamp
            return self._tokens

    def verify(self, token: str) -> Identity:
        identity = self._current().get(token_digest(token))
        if identity is None:
            raise UnauthorizedError('The bearer token is not valid')
        if identity.expires is not None and identity.expires <= self.clock():
            raise UnauthorizedError('The bearer token has expired')
        return identity


class GoogleVerifier:
    """
    An OAuth2 access token issued by Google, as the original accepts: the
    tokeninfo endpoint answers 400 for a token it did not issue or that
    expired; SAM lists the holder's groups (Terra's managed-access groups).
    """

    def __init__(self, tokeninfo_url: str, sam_url: str, timeout: float = 10,
                 clock: Callable[[], float] = time.time):
        self.tokeninfo_url = tokeninfo_url
        self.sam_url = sam_url.rstrip('/')
        self.timeout = timeout
        self.clock = clock
        self._session = requests.Session()

    def _get(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.get(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as e:
            raise ServiceUnavailableError(f'Could not verify the bearer token: '
                                          f'{type(e).__name__}') from None

    def verify(self, token: str) -> Identity:
        response = self._get(self.tokeninfo_url, params={'access_token': token})
        if response.status_code in (400, 401):
            raise UnauthorizedError('The bearer token is not valid')
        if response.status_code != 200:
            raise ServiceUnavailableError(f'Could not verify the bearer token: tokeninfo '
                                          f'answered {response.status_code}')
        info = _json_object(response)
        subject = info.get('email') or info.get('sub')
        try:
            expires_in = int(info.get('expires_in', 0))
        except (TypeError, ValueError):
            expires_in = 0
        if not isinstance(subject, str) or not subject or expires_in <= 0:
            raise UnauthorizedError('The bearer token is not valid')
        response = self._get(self.sam_url + '/api/groups/v1',
                             headers={'Authorization': 'Bearer ' + token})
        if response.status_code == 401:
            raise UnauthorizedError('The bearer token is not valid')
        if response.status_code == 404:
            # Not registered with Terra: no groups
            groups: frozenset[str] = frozenset()
        elif response.status_code == 200:
            body = response.json() if _is_json(response) else None
            if not isinstance(body, list):
                raise ServiceUnavailableError('Could not list the groups of the bearer token')
            groups = frozenset(g['groupName'] for g in body
                               if isinstance(g, dict) and isinstance(g.get('groupName'), str))
        else:
            raise ServiceUnavailableError(f'Could not list the groups of the bearer token: '
                                          f'SAM answered {response.status_code}')
        return Identity(subject=subject, groups=groups, expires=self.clock() + expires_in)


def _is_json(response: requests.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def _json_object(response: requests.Response) -> dict[str, Any]:
    body = response.json() if _is_json(response) else None
    if not isinstance(body, dict):
        raise ServiceUnavailableError('Could not verify the bearer token: tokeninfo answered '
                                      'no JSON object')
    return body


class CachingVerifier:
    """
    Remembers verified identities for `ttl` seconds (never past the token's
    own expiry), by the token's digest, at most `size` of them. Refusals are
    not cached: a token may become valid a moment after it was issued.
    """

    def __init__(self, verifier: TokenVerifier, ttl: float, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.verifier = verifier
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Identity]] = OrderedDict()

    def verify(self, token: str) -> Identity:
        digest = token_digest(token)
        now = self.clock()
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(digest)
                return entry[1]
        identity = self.verifier.verify(token)
        if self.ttl > 0:
            until = now + self.ttl
            if identity.expires is not None:
                until = min(until, now + max(0.0, identity.expires - time.time()))
            with self._lock:
                self._entries[digest] = (until, identity)
                self._entries.move_to_end(digest)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return identity
