"""
Download links of the local store: `{service}/blobs/{key}?expires=..&name=..
&signature=..`, an HMAC over the key, the expiry and the file name, so that a
link works for whoever holds it until it expires, like an S3 presigned URL,
and cannot be altered to reach another object or live longer.
"""
import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

import attrs

PREFIX = '/blobs/'


@attrs.frozen
class BlobLink:
    key: str
    expires: int
    file_name: str | None


class InvalidLink(Exception):
    pass


class BlobLinks:

    def __init__(self, secret: bytes):
        self._secret = secret

    def _signature(self, key: str, expires: int, file_name: str | None) -> str:
        message = '\n'.join([key, str(expires), file_name or '']).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, key: str, file_name: str | None, expires: int) -> str:
        query = {'expires': str(expires)}
        if file_name is not None:
            query['name'] = file_name
        query['signature'] = self._signature(key, expires, file_name)
        return f'{base_url}{PREFIX}{quote(key)}?{urlencode(query, quote_via=quote)}'

    def verify(self, key: str, query: dict[str, str], now: float | None = None) -> BlobLink:
        """The link a request names, if its signature holds and it has not expired."""
        expires, signature = query.get('expires'), query.get('signature')
        if expires is None or signature is None or not expires.isdigit() or len(expires) > 12:
            raise InvalidLink('The link is incomplete')
        file_name = query.get('name')
        expected = self._signature(key, int(expires), file_name)
        if not hmac.compare_digest(expected.encode(), signature.encode('utf-8', 'replace')):
            raise InvalidLink('The link has an invalid signature')
        if int(expires) < (time.time() if now is None else now):
            raise InvalidLink('The link has expired')
        return BlobLink(key=key, expires=int(expires), file_name=file_name)
