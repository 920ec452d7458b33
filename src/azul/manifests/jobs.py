"""
Preparing manifests: look a manifest up by its key, or start a job that
writes it, and tell a polling client how the job is doing.

A job is recorded in the store (`jobs/{digest}.json`): what to make (catalog,
format, filters) and its state (`running`, `done`, `failed`). The record is
what a token refers to, so any process sharing the store answers polls, and
a client whose job record has expired gets a 410. Jobs run on a thread pool
of the process that serves the request (`AZUL_MANIFEST_WORKERS`); a record
left `running` by another process (one that stopped) is taken over.

Nothing partial is ever served: the manifest is published by the store only
when its writer finishes, and a failed job (the backend went down) is
recorded as such, answered with a 503, and started afresh by the next
request for the same manifest.
"""
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from azul.errors import AzulError, GoneError, ServiceUnavailableError
from azul.manifests import keys
from azul.manifests.blobstore import BlobStore
from azul.manifests.formats import format_class
from azul.manifests.generate import manifest_context, write_manifest
from azul.manifests.keys import ManifestKey, Token, canonical_filters, file_name, job_key

log = logging.getLogger(__name__)

FILE_NAME = 'file-name'
# Treat a manifest as gone this long before it expires, so that a client
# given its URL has time to download it (the original's margin)
EXPIRATION_MARGIN = 15 * 60
# Jobs a process accepts at once (running or waiting for a worker)
MAX_PENDING = 64


@attrs.frozen
class Prepared:
    """A finished manifest."""
    digest: str
    format: str
    object_key: str
    file_name: str | None


class ManifestJobs:

    def __init__(self, runtime, store: BlobStore, code_version: str):
        self.runtime = runtime
        self.store = store
        self.code_version = code_version
        self.expiration = runtime.config.manifest_expiration
        # Records written by this process carry its id; see `_stale`
        self._owner = uuid.uuid4().hex
        self._executor = ThreadPoolExecutor(max_workers=runtime.config.manifest_workers,
                                            thread_name_prefix='manifest')
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def key(self, catalog: str, format_name: str, filters: Mapping[str, Any],
            service_url: str, sources: frozenset[str] | None = None) -> ManifestKey:
        content = self.runtime.backend.content_version(catalog)
        return ManifestKey(catalog=catalog, format=format_name,
                           filters=canonical_filters(dict(filters)),
                           content=content, code=self.code_version,
                           service_url=service_url,
                           sources=None if sources is None else tuple(sorted(sources)))

    # The protocol

    def prepare(self, key: ManifestKey) -> Prepared | Token:
        """The cached manifest of `key`, or the token of the job preparing it."""
        prepared = self.cached(key.digest, key.format)
        if prepared is not None:
            return prepared
        record = self._record(key.digest)
        if record is None or record['state'] != 'running' or self._stale(record):
            self._start(key)
        return Token(key.digest)

    def inspect(self, token: Token) -> Prepared | Token:
        """What became of the job a token names."""
        record = self._record(token.digest)
        if record is None or time.time() - record['started'] > self.expiration:
            raise GoneError('The manifest preparation job has expired. Request a new one '
                            'with PUT /manifest/files.')
        state = record['state']
        if state == 'failed':
            raise ServiceUnavailableError(f'Failed to generate manifest: {record["error"]}. '
                                          f'Request it again with PUT /manifest/files.')
        if state == 'done':
            prepared = self.cached(token.digest, record['format'])
            if prepared is not None:
                return prepared
        if state == 'done' or self._stale(record):
            # The manifest expired (or its job died) before the client came
            # back: make it again, as the original restarts the generation
            self._start(_key_of(record))
        return token.next()

    def cached(self, digest: str, format_name: str) -> Prepared | None:
        """The finished manifest, if it exists and is not about to expire."""
        cls = format_class(format_name)
        object_key = keys.object_key(digest, cls.extension)
        info = self.store.head(object_key)
        if info is None or time.time() - info.modified > self.expiration - EXPIRATION_MARGIN:
            return None
        name = info.metadata.get(FILE_NAME) if cls.named else None
        return Prepared(digest=digest, format=format_name, object_key=object_key,
                        file_name=name)

    # Jobs

    def _record(self, digest: str) -> dict[str, Any] | None:
        data = self.store.get(job_key(digest))
        return None if data is None else json.loads(data)

    def _write_record(self, key: ManifestKey, state: str, started: float,
                      error: str | None = None) -> None:
        record = {**attrs.asdict(key), 'filters': json.loads(key.filters),
                  'digest': key.digest, 'state': state,
                  'started': started, 'owner': self._owner, 'error': error}
        self.store.put(job_key(key.digest), json.dumps(record).encode())

    def _stale(self, record: Mapping[str, Any]) -> bool:
        if record['state'] != 'running':
            return False
        if record['owner'] != self._owner:
            return True
        with self._lock:
            return record['digest'] not in self._running

    def _start(self, key: ManifestKey) -> None:
        with self._lock:
            if key.digest in self._running:
                return
            if len(self._running) >= MAX_PENDING:
                # Bounded work: distinct requests cannot pile up jobs without end
                raise ServiceUnavailableError(f'{len(self._running)} manifests are being '
                                              f'prepared; request this one again later')
            self._running.add(key.digest)
        started = time.time()
        try:
            self._write_record(key, 'running', started)
            self._executor.submit(self._run, key, started)
        except BaseException:
            with self._lock:
                self._running.discard(key.digest)
            raise

    def _run(self, key: ManifestKey, started: float) -> None:
        try:
            self.generate(key)
        except Exception as e:
            # A domain error says what went wrong; anything else is a bug
            # whose details stay in the log
            if not isinstance(e, AzulError):
                log.exception('Failed to generate manifest %s', key.digest)
            message = e.message if isinstance(e, AzulError) else 'an internal error occurred'
            self._write_record(key, 'failed', started, message)
        else:
            self._write_record(key, 'done', started)
        finally:
            with self._lock:
                self._running.discard(key.digest)

    def generate(self, key: ManifestKey) -> Prepared:
        """Write the manifest of `key` to the store (synchronously)."""
        cls = format_class(key.format)
        context = manifest_context(self.runtime, key.catalog, json.loads(key.filters),
                                   key.service_url,
                                   None if key.sources is None else frozenset(key.sources))
        object_key = key.object_key(cls.extension)
        with self.store.writer(object_key, cls.content_type) as writer:
            base_name = write_manifest(context, key.format, writer.stream)
            name = file_name(context.catalog.atlas, key.digest, cls.extension, base_name)
            writer.metadata[FILE_NAME] = name
        return Prepared(digest=key.digest, format=key.format, object_key=object_key,
                        file_name=name if cls.named else None)


def _key_of(record: Mapping[str, Any]) -> ManifestKey:
    return ManifestKey(catalog=record['catalog'], format=record['format'],
                       filters=canonical_filters(record['filters']),
                       content=record['content'], code=record['code'],
                       service_url=record['service_url'],
                       sources=(None if record.get('sources') is None
                                else tuple(record['sources'])))
