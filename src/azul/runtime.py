"""
The wiring of one running Azul: configuration, the backend and the plugins of
each catalog. Built lazily on first use, never at import time, so that
importing an app module does not connect to anything.
"""
import importlib
import os
import threading
from collections.abc import Mapping

from azul.backends import make_backend
from azul.backends.base import SearchBackend
from azul.config import Catalog, Config
from azul.errors import BadRequestError
from azul.plugins.metadata.base import MetadataPlugin
from azul.plugins.repository.base import RepositoryPlugin

# Built-in plugins are registered by name like any other, so that adding one is
# a line here and a name in AZUL_CATALOGS.
METADATA_PLUGINS: Mapping[str, str] = {
    'hca': 'azul.plugins.metadata.hca:HCAPlugin',
    'anvil': 'azul.plugins.metadata.anvil:AnvilPlugin',
}
REPOSITORY_PLUGINS: Mapping[str, str] = {
    'canned': 'azul.plugins.repository.canned:CannedRepository',
    'tdr_hca': 'azul.plugins.repository.tdr.hca:TDRHCARepository',
    'tdr_anvil': 'azul.plugins.repository.tdr.anvil:TDRAnvilRepository',
}


def _load(spec: str):
    module, _, name = spec.partition(':')
    return getattr(importlib.import_module(module), name)


class Runtime:

    def __init__(self, config: Config, backend: SearchBackend | None = None):
        self.config = config
        self._backend = backend
        self._lock = threading.Lock()
        self._metadata: dict[str, MetadataPlugin] = {}
        self._repository: dict[str, RepositoryPlugin] = {}
        self._queue = None
        self._manifests = None
        self._authenticator = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> 'Runtime':
        return cls(Config.from_env(os.environ if env is None else env))

    @property
    def backend(self) -> SearchBackend:
        with self._lock:
            if self._backend is None:
                self._backend = make_backend(self.config)
            return self._backend

    @property
    def queue(self):
        """The queue between indexer stages (`azul.indexer.queue.Queue`)."""
        with self._lock:
            if self._queue is None:
                if self.config.queue == 'local':
                    from azul.indexer.queue import LocalQueue
                    self._queue = LocalQueue(self.config.queue_path)
                else:
                    from azul.indexer.sqs import SQSQueue
                    self._queue = SQSQueue(self.config)
            return self._queue

    @property
    def manifest_secret(self) -> bytes:
        """
        The secret signing manifest keys and every expiring link (the one
        `azul.signing.signer` uses, which loads it once per process).
        """
        from azul.signing import signing_key
        return signing_key(self.config.manifest_signing_key, self.config.manifest_dir)

    @property
    def manifests(self):
        """Manifest preparation (`azul.manifests.jobs.ManifestJobs`)."""
        secret = self.manifest_secret
        with self._lock:
            if self._manifests is None:
                from azul.manifests.jobs import ManifestJobs
                from azul.service.version import git_info
                git = git_info(os.environ)
                # A tree with uncommitted changes is code no commit names
                code = git['commit'] + (f'-dirty-{id(self)}' if git['dirty'] else '')
                self._manifests = ManifestJobs(self, self._manifest_store(secret), code)
            return self._manifests

    def _manifest_store(self, secret: bytes):
        config = self.config
        if config.manifest_store == 's3':
            import boto3

            from azul.manifests.s3 import S3BlobStore
            client = boto3.client('s3', region_name=config.aws_region)
            return S3BlobStore(client, config.manifest_bucket)
        from azul.manifests.blobstore import LocalBlobStore
        from azul.manifests.links import BlobLinks
        from azul.signing import Signer
        return LocalBlobStore(config.manifest_dir, BlobLinks(Signer(secret)))

    @property
    def queue_stats(self):
        """What /health reports about queues: anything with `counts()`."""
        return self.queue

    @property
    def authenticator(self):
        """Who is behind a request's bearer token (see azul.auth)."""
        with self._lock:
            if self._authenticator is None:
                from azul.auth.access import Authenticator, make_verifier
                self._authenticator = Authenticator(make_verifier(self.config))
            return self._authenticator

    def catalog(self, name: str | None) -> Catalog:
        """The named catalog, the default one for None, or a 400 naming the problem."""
        if name is None:
            return self.config.default_catalog
        try:
            return self.config.catalog(name)
        except KeyError:
            names = ', '.join(c.name for c in self.config.catalogs)
            raise BadRequestError(f'Unknown catalog {name!r}; the catalogs are: {names}') from None

    def metadata_plugin(self, catalog: str | Catalog) -> MetadataPlugin:
        catalog = self.catalog(catalog) if isinstance(catalog, str) else catalog
        name = catalog.metadata_plugin
        with self._lock:
            if name not in self._metadata:
                self._metadata[name] = _load(METADATA_PLUGINS[name])(self.config)
            return self._metadata[name]

    def repository_plugin(self, catalog: str | Catalog) -> RepositoryPlugin:
        catalog = self.catalog(catalog) if isinstance(catalog, str) else catalog
        name = catalog.repository_plugin
        with self._lock:
            if name not in self._repository:
                self._repository[name] = _load(REPOSITORY_PLUGINS[name])(self.config)
            return self._repository[name]

    def close(self) -> None:
        if self._manifests is not None:
            self._manifests.close()
        if self._backend is not None:
            self._backend.close()
        if self._queue is not None and hasattr(self._queue, 'close'):
            self._queue.close()
