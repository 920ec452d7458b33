"""
Where prepared manifests (and the records of their preparation jobs) live:
one small interface, a local directory by default and S3 on AWS.

An object becomes visible only once it is complete: a writer that fails
leaves nothing a later request could serve (the local store renames a
finished temporary file into place; S3 publishes an upload only when it
completes). Each object carries a content type and string metadata (the
manifest's download file name).
"""
import json
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

import attrs


@attrs.frozen
class BlobInfo:
    size: int
    content_type: str
    #: When the object was written, seconds since the epoch
    modified: float
    metadata: Mapping[str, str]


class BlobWriter:
    """The output of a store's `writer`: a binary stream and the metadata to publish."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.metadata: dict[str, str] = {}


class BlobStore(ABC):

    @abstractmethod
    def head(self, key: str) -> BlobInfo | None:
        """The object's properties, None if it does not exist."""

    @abstractmethod
    @contextmanager
    def writer(self, key: str, content_type: str) -> Iterator[BlobWriter]:
        """
        A writer whose bytes (and `metadata`) are published under `key` when
        the block exits normally, and discarded if it raises.
        """

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The object's bytes, as a stream; FileNotFoundError if absent."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object if it exists."""

    @abstractmethod
    def url(self, key: str, file_name: str | None, expires_in: int, base_url: str) -> str:
        """A URL from which a client downloads the object for `expires_in` seconds."""

    def put(self, key: str, data: bytes, content_type: str = 'application/json') -> None:
        with self.writer(key, content_type) as w:
            w.stream.write(data)

    def get(self, key: str) -> bytes | None:
        """A small object's bytes, None if absent."""
        try:
            with self.open(key) as f:
                return f.read()
        except FileNotFoundError:
            return None


class LocalBlobStore(BlobStore):
    """
    Objects are files under a directory, each with a `.meta.json` sidecar
    holding its content type and metadata; a key's `/` separates folders.
    Downloads go through the service (`/blobs/{key}`, see
    `azul.manifests.links`), signed and expiring like S3's presigned URLs.
    """

    def __init__(self, root: Path, links):
        self.root = Path(root)
        #: The store's `azul.manifests.links.BlobLinks`: they sign and verify its links
        self.links = links

    def _path(self, key: str) -> Path:
        parts = key.split('/')
        if not key or any(p in ('', '.', '..') or p.startswith('.') for p in parts):
            raise ValueError(f'Invalid object key {key!r}')
        return self.root.joinpath(*parts)

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name('.' + path.name + '.meta.json')

    def head(self, key: str) -> BlobInfo | None:
        path = self._path(key)
        try:
            meta = json.loads(self._meta_path(path).read_text())
            stat = path.stat()
        except FileNotFoundError:
            return None
        return BlobInfo(size=stat.st_size, content_type=meta['content_type'],
                        modified=stat.st_mtime, metadata=meta['metadata'])

    @contextmanager
    def writer(self, key: str, content_type: str) -> Iterator[BlobWriter]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix='.tmp-')
        try:
            with os.fdopen(fd, 'wb') as stream:
                writer = BlobWriter(stream)
                yield writer
            meta = json.dumps({'content_type': content_type, 'metadata': writer.metadata})
            meta_path = self._meta_path(path)
            meta_temp = meta_path.with_name(meta_path.name + '.tmp')
            meta_temp.write_text(meta)
            # The sidecar first: `head` needs both, and an object without its
            # (new) sidecar would be served with stale metadata
            os.replace(meta_temp, meta_path)
            os.replace(temp, path)
        except BaseException:
            with _ignoring(FileNotFoundError):
                os.unlink(temp)
            raise

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), 'rb')

    def delete(self, key: str) -> None:
        path = self._path(key)
        for p in (path, self._meta_path(path)):
            with _ignoring(FileNotFoundError):
                p.unlink()

    def url(self, key: str, file_name: str | None, expires_in: int, base_url: str) -> str:
        return self.links.url(base_url, key, file_name, int(time.time()) + expires_in)


@contextmanager
def _ignoring(*errors: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except errors:
        pass
