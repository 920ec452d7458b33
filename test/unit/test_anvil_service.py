"""
The AnVIL plugin behind the service, in process, on both backends: a catalog
of the canned AnVIL fixture bundles indexed by the indexer and read through
the app's routes, as a client would.

Until `anvil` is registered in `azul.runtime.METADATA_PLUGINS` and
`azul.config.metadata_plugins`, this module registers it for its own tests.
The hits and summary must be those of the golden files of `test_anvil_shape`
(checked against the original's expectations), but for what the catalog's
source and the service URL make different.
"""
import json
import os
import uuid
from urllib.parse import quote

import pytest
from chalice.test import Client

import azul.config
import azul.runtime
from azul.adapters.server import load_app
from azul.config import Config
from azul.indexer.index import Indexer
from azul.runtime import Runtime
from unit.test_anvil_plugin import FIXTURES
from unit.test_anvil_shape import _golden

SOURCE = f'file://{FIXTURES}'
CATALOG = 'anvil'
HOST = 'azul.test'


@pytest.fixture
def client(backend, tmp_path, monkeypatch):
    if 'anvil' not in azul.config.metadata_plugins:
        monkeypatch.setattr(azul.config, 'metadata_plugins',
                            (*azul.config.metadata_plugins, 'anvil'))
    if 'anvil' not in azul.runtime.METADATA_PLUGINS:
        monkeypatch.setattr(azul.runtime, 'METADATA_PLUGINS',
                            {**azul.runtime.METADATA_PLUGINS,
                             'anvil': 'azul.plugins.metadata.anvil:AnvilPlugin'})
    catalogs = {CATALOG: {'atlas': 'anvil', 'internal': False,
                          'plugins': {'metadata': {'name': 'anvil'},
                                      'repository': {'name': 'canned'}},
                          'sources': [SOURCE]}}
    # The settings of the test session (`source environment`), but for ours
    config = Config.from_env({
        **os.environ,
        'AZUL_DEPLOYMENT': 't' + uuid.uuid4().hex[:10],
        'AZUL_DATA_DIR': str(tmp_path),
        'AZUL_CATALOGS': json.dumps(catalogs),
        'AZUL_INDEX_PREFIX': 'azul',
        # The backend is the fixture's; the settings only say which kind it is
        'AZUL_INDEX_BACKEND': 'duckdb' if 'DuckDB' in type(backend).__name__ else 'opensearch',
        'AZUL_DUCKDB_PATH': str(tmp_path / 'unused.duckdb'),
        'AZUL_SERVICE_URL': '',
        'AZUL_QUEUE': 'local',
        'AZUL_QUEUE_PATH': str(tmp_path / 'queue.sqlite'),
    })
    runtime = Runtime(config, backend=backend)
    indexer = Indexer(runtime)
    indexer.create_indices(CATALOG)
    listing = runtime.repository_plugin(CATALOG).list_bundles(SOURCE)
    # The fixture directory also holds the snapshot's tables, no bundle
    assert len(listing.bundles) == 3, listing
    indexer.index_bundles(CATALOG, SOURCE, listing.bundles)
    app = load_app('service').create_app(lambda: runtime)
    return Client(app)


def _get(client, path: str, status: int = 200):
    response = client.http.get(path, headers={'Host': HOST})
    assert response.status_code == status, (path, response.body[:1000])
    return json.loads(response.body) if response.body[:1] == b'{' else response


def _as_served(hit):
    """A golden hit as this catalog serves it: its source, our service URL."""
    hit = {**hit, 'sources': [{'source_prefix': '', 'source_spec': SOURCE,
                               'source_id': SOURCE}]}
    for file in hit.get('files', ()):
        if 'azul_url' in file:
            file['azul_url'] = file['azul_url'].replace('http://localhost:8000',
                                                        f'http://{HOST}')
    return hit


def test_hits(client):
    expected = _golden('hits_all')
    for entity_type, hits in expected.items():
        body = _get(client, f'/index/{entity_type}?catalog={CATALOG}')
        # The golden files list hits by entity id, the service by its sort
        served = {h['entryId']: h for h in body['hits']}
        assert served == {h['entryId']: _as_served(h) for h in hits}, entity_type
        assert body['pagination']['total'] == len(hits)
    body = _get(client, f'/index/files?catalog={CATALOG}')
    assert body['pagination']['sort'] == 'files.file_id'
    assert [h['files'][0]['file_id'] for h in body['hits']] == [
        '1e269f04-4347-4188-b060-1dcc69e71d67', '1fab11f5-7eab-4318-9a58-68d8d06e0715',
        '8b722e88-8103-49c1-b351-e64fa7c6ab37']


def test_summary(client):
    assert _get(client, f'/index/summary?catalog={CATALOG}') == _golden('summary_all')


def test_filters_and_facets(client):
    filters = quote(json.dumps({'files.file_format': {'is': ['.txt']}}))
    body = _get(client, f'/index/datasets?catalog={CATALOG}&filters={filters}')
    assert body['pagination']['total'] == 1
    # The facet ignores its own filter: every format of the dataset's files
    assert body['termFacets']['files.file_format']['terms'] == [
        {'term': '.bam', 'count': 1}, {'term': '.txt', 'count': 1},
        {'term': '.vcf.gz', 'count': 1}]
    body = _get(client, f'/index/files?catalog={CATALOG}&filters={filters}')
    assert [h['entryId'] for h in body['hits']] == ['6b0f6c0f-5d80-4242-accb-840921351cd5']
    assert body['termFacets']['accessible']['terms'] == [{'term': 'true', 'count': 1}]


def test_file_download(client):
    # The file's URL in its hit leads to its DRS object
    (hit,) = _get(client, f'/index/files/15b76f9c-6b46-433f-851d-34e89f1b9ba6'
                          f'?catalog={CATALOG}')['files']
    path = hit['azul_url'].removeprefix(f'http://{HOST}')
    response = _get(client, path, status=302)
    assert response.headers['Location']
