"""
HTTP-level fixtures: one catalog of real HCA fixture bundles, indexed once per
backend kind and session through the indexer, and a client of the service's
Chalice app serving it (`chalice.test.Client`, i.e. Chalice's LocalGateway,
the same code path as `azul serve`).
"""
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from chalice.test import Client

from azul.adapters.server import load_app
from azul.config import Config
from azul.indexer.index import Indexer
from azul.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = (ROOT.parent / 'shared' / 'fixtures').resolve()
CATALOG = 'dcp'
OTHER_CATALOG = 'other'
# The DSS-style HCA bundles: old (v5) and current metadata, multi-file
# projects, nulls in many fields; the TDR copies of two of them would only
# duplicate entities.
SOURCE = f'file://{FIXTURES}/hca/bundles/indexer/*.dss.hca.json'
# A TDR bundle without a DSS twin: its files have DRS URIs, so they resolve to
# download URLs
TDR_SOURCE = f'file://{FIXTURES}/hca/bundles/indexer/4426adc5-*.tdr.hca.json'
SOURCES = (SOURCE, TDR_SOURCE)
BACKENDS = ('duckdb', 'opensearch')


def load_app_module() -> ModuleType:
    """lambdas/service/app.py, loaded as the local server loads it."""
    return load_app('service')


def catalog_spec(sources: list[str], internal: bool = False) -> dict[str, Any]:
    """An HCA catalog of canned sources, as `AZUL_CATALOGS` spells it."""
    return {'atlas': 'hca', 'internal': internal,
            'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
            'sources': sources}


def make_config(kind: str, data_dir: Path, deployment: str,
                service_url: str | None = None,
                catalogs: Mapping[str, Any] | None = None,
                extra_env: Mapping[str, str] | None = None) -> Config:
    if catalogs is None:
        # The second catalog is never indexed: it only exists to be named
        catalogs = {CATALOG: catalog_spec(list(SOURCES)),
                    OTHER_CATALOG: catalog_spec(list(SOURCES), internal=True)}
    env = {
        'AZUL_DEPLOYMENT': deployment,
        'AZUL_DATA_DIR': str(data_dir),
        'AZUL_CATALOGS': json.dumps(catalogs),
        'AZUL_INDEX_BACKEND': kind,
        'AZUL_DUCKDB_PATH': str(data_dir / 'index.duckdb'),
        'AZUL_ES_ENDPOINT': os.environ.get('AZUL_ES_ENDPOINT', ''),
        'AZUL_ES_TIMEOUT': '30',
        'AZUL_INDEX_PREFIX': 'azul',
        'AZUL_HOST': '127.0.0.1',
        'AZUL_PORT': '8000',
        'AZUL_SERVICE_URL': service_url or '',
        'AZUL_QUEUE': 'local',
        'AZUL_QUEUE_PATH': str(data_dir / 'queue.sqlite'),
        'AZUL_DEMO_BUNDLES': '1',
        'AZUL_AWS_REGION': 'us-east-1',
        'AZUL_LOG_LEVEL': 'INFO',
        **(extra_env or {}),
    }
    return Config.from_env(env)


@attrs.frozen
class Indexed:
    kind: str
    runtime: Runtime
    seconds: float


@pytest.fixture(scope='session', params=BACKENDS)
def indexed(request, tmp_path_factory) -> Iterator[Indexed]:
    kind = request.param
    if kind == 'opensearch':
        request.getfixturevalue('es_endpoint')
    data_dir = tmp_path_factory.mktemp(f'service-{kind}')
    # A fresh deployment name isolates this session's indices on a shared cluster
    deployment = 't' + uuid.uuid4().hex[:10]
    # The backend comes from the config, as in production (`make_backend`)
    runtime = Runtime(make_config(kind, data_dir, deployment))
    backend = runtime.backend
    try:
        start = time.perf_counter()
        index_sources(runtime, CATALOG, SOURCES)
        yield Indexed(kind, runtime, time.perf_counter() - start)
    finally:
        backend.drop_deployment()
        backend.close()


def index_sources(runtime: Runtime, catalog: str, sources: Sequence[str]) -> None:
    """Create the catalog's indices and index every bundle of the sources."""
    indexer = Indexer(runtime)
    indexer.create_indices(catalog)
    for source in sources:
        listing = runtime.repository_plugin(catalog).list_bundles(source)
        assert listing.bundles and not listing.problems, listing.problems
        indexer.index_bundles(catalog, source, listing.bundles)


@attrs.frozen
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        lower = {k.lower(): v for k, v in self.headers.items()}
        return lower.get(name.lower())


class ServiceClient:
    """Requests to the app by path, as a browser or portal would send them."""

    def __init__(self, app, runtime: Runtime):
        self.app = app
        self.runtime = runtime
        self._client = Client(app)

    def request(self, method: str, path: str, body: Any = None,
                headers: Mapping[str, str] | None = None) -> Reply:
        headers = {'Host': 'azul.test', **(headers or {})}
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers.setdefault('Content-Type', 'application/json')
        response = self._client.http.request(method, path, headers=headers,
                                             body=body.encode() if isinstance(body, str)
                                             else body or b'')
        return Reply(response.status_code, dict(response.headers), response.body or b'')

    def get(self, path: str, **kwargs) -> Reply:
        return self.request('GET', path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> Reply:
        return self.request('POST', path, body=body, **kwargs)

    def get_json(self, path: str, status: int = 200) -> Any:
        reply = self.get(path)
        assert reply.status == status, (path, reply.status, reply.body[:2000])
        return reply.json

    def follow(self, url: str) -> Any:
        """GET an absolute link from a response, e.g. pagination.next."""
        prefix = 'http://azul.test'
        assert url.startswith(prefix + '/'), url
        return self.get_json(url[len(prefix):])


@pytest.fixture(scope='session')
def app_module() -> ModuleType:
    return load_app_module()


@pytest.fixture(scope='session')
def client(indexed, app_module) -> ServiceClient:
    runtime = indexed.runtime
    return ServiceClient(app_module.create_app(lambda: runtime), runtime)


@pytest.fixture(scope='session')
def reference_spec() -> Mapping[str, Any]:
    with open(FIXTURES / 'azul-openapi' / 'service.openapi.json') as f:
        return json.load(f)


# A session fixture of its own module, which imports from this one
from access_catalogs import access_catalogs  # noqa: E402, F401
