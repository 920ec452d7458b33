"""
Download links of the local store: `{service}/blobs/{key}?name=..&expires=..
&signature=..`, signed like the service's file download links
(`azul.signing`), so that a link works for whoever holds it until it expires,
like an S3 presigned URL, and cannot be altered to reach another object,
rename the download or live longer.
"""
from collections.abc import Mapping
from urllib.parse import quote

import attrs

from azul.signing import Signer

PREFIX = '/blobs/'
NAME = 'name'


@attrs.frozen
class BlobLink:
    key: str
    file_name: str | None


class BlobLinks:

    def __init__(self, signer: Signer):
        self._signer = signer

    def url(self, base_url: str, key: str, file_name: str | None, expires: int) -> str:
        path = PREFIX + quote(key)
        params = {} if file_name is None else {NAME: file_name}
        return f'{base_url}{path}?{self._signer.signed_query(path, params, expires)}'

    def verify(self, key: str, query: Mapping[str, str], now: float | None = None
               ) -> BlobLink:
        """
        The link a request names: `BadRequestError` if it lacks its expiry or
        signature, `ForbiddenError` if it was altered or has expired.
        """
        self._signer.verify_query(PREFIX + quote(key), query, now=now)
        return BlobLink(key=key, file_name=query.get(NAME))
