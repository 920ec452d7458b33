"""
Serving objects of the local manifest store to the local server's clients:
`GET /blobs/{key}?expires=..&name=..&signature=..`, the links the local
store hands out in place of S3's presigned URLs. Streamed in chunks, never
read whole, since manifests can be large; a bad or expired link is a 403, a
missing object a 404, as S3 answers them.
"""
from collections.abc import Iterator, Mapping
from typing import BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

import attrs

from azul.errors import AzulError
from azul.manifests.blobstore import LocalBlobStore
from azul.manifests.links import PREFIX
from azul.runtime import Runtime
from azul.service.responses import error_status

CHUNK = 1024 * 1024


@attrs.frozen
class BlobResponse:
    status: int
    headers: Mapping[str, str]
    #: The body's chunks, or an error message
    body: Iterator[bytes] | str


def is_blob_path(path: str) -> bool:
    return urlsplit(path).path.startswith(PREFIX)


def serve_blob(runtime: Runtime, path: str) -> BlobResponse:
    store = runtime.manifests.store
    if not isinstance(store, LocalBlobStore):
        return BlobResponse(404, {}, f'Unknown path `{urlsplit(path).path}`')
    parts = urlsplit(path)
    key = unquote(parts.path[len(PREFIX):])
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    try:
        link = store.links.verify(key, query)
        info = store.head(key)
        stream = None if info is None else store.open(key)
    except AzulError as e:
        return BlobResponse(error_status(e)[0], {}, e.message)
    except (FileNotFoundError, ValueError):
        info = stream = None
    if info is None or stream is None:
        return BlobResponse(404, {}, 'The object does not exist (it may have expired)')
    headers = {'Content-Type': info.content_type, 'Content-Length': str(info.size)}
    if link.file_name is not None:
        headers['Content-Disposition'] = (f"attachment; filename*=UTF-8''"
                                          f"{quote(link.file_name, safe='')}")
    return BlobResponse(200, headers, _chunks(stream))


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk
