"""
An HCA catalog of a TDR snapshot (`tdr_hca`), read with the real BigQuery
client from the local stand-in loaded with the fixture's snapshot tables, on
both backends. The fixtures README (§5) says that building bundles 1b6d8348
and 4426adc5 from those tables gives the canned `*.tdr.hca.json` bundles; so
the catalog must answer exactly as a canned catalog of those two files does
(but for the sources, which are named differently).
"""
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from azul.core.documents import BundleFQID
from azul.indexer.index import Indexer
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul.runtime import Runtime
from conftest import CATALOG, FIXTURES, ServiceClient, index_sources, make_config

TABLES = FIXTURES / 'hca' / 'tdr-tables' / 'd8c20944-739f-4e7d-9161-b720953432ce.tables.tdr.json'
TDR_SOURCE = 'tdr:bigquery:gcp:local-tdr:hca_snapshot:'
CANNED_SOURCES = [f'file://{FIXTURES}/hca/bundles/indexer/{name}-*.tdr.hca.json'
                  for name in ('1b6d8348', '4426adc5')]
BUNDLES = {('1b6d8348-d6e9-406a-aa6a-7ee886e52bf9', '2019-09-24T09:35:06.958773Z'),
           ('4426adc5-b3c5-5aab-ab86-51d8ce44dfbe', '2020-08-10T21:24:26.174274Z')}


def _catalog(repository: str, sources: list[str]) -> dict[str, Any]:
    return {'atlas': 'hca', 'internal': False,
            'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': repository}},
            'sources': sources}


@pytest.fixture(scope='module', params=('duckdb', 'opensearch'))
def clients(request, tmp_path_factory, app_module) -> Iterator[tuple[ServiceClient, ServiceClient]]:
    kind = request.param
    if kind == 'opensearch':
        request.getfixturevalue('es_endpoint')
    runtimes = []
    with LocalBigQuery(project='local-tdr', datasets={'hca_snapshot': TABLES}) as bigquery:
        try:
            for repository, sources in (('tdr_hca', [TDR_SOURCE]), ('canned', CANNED_SOURCES)):
                data_dir = tmp_path_factory.mktemp(f'tdr-{repository}-{kind}')
                config = make_config(kind, data_dir, 't' + uuid.uuid4().hex[:10],
                                     catalogs={CATALOG: _catalog(repository, sources)},
                                     extra_env={'AZUL_BIGQUERY_ENDPOINT': bigquery.url})
                runtime = Runtime(config)
                runtimes.append(runtime)
                if repository == 'canned':
                    index_sources(runtime, CATALOG, sources)
                else:
                    # Only the two bundles the canned files hold: the snapshot's
                    # other links rows are the subgraphs 4426adc5 stitches in,
                    # bundles of their own in a real catalog
                    indexer = Indexer(runtime)
                    indexer.create_indices(CATALOG)
                    indexer.index_bundles(CATALOG, TDR_SOURCE,
                                          [BundleFQID(u, v) for u, v in sorted(BUNDLES)])
            yield tuple(ServiceClient(app_module.create_app(lambda r=r: r), r)
                        for r in runtimes)
        finally:
            for runtime in runtimes:
                runtime.backend.drop_deployment()
                runtime.backend.close()


def test_listing(clients):
    tdr, _ = clients
    plugin = tdr.runtime.repository_plugin(CATALOG)
    listing = plugin.list_bundles(TDR_SOURCE)
    # The four links rows: two bundles and the two upstream subgraphs 4426adc5 stitches in
    assert {(f.uuid, f.version) for f in listing.bundles} >= BUNDLES
    assert len(listing.bundles) == 4
    assert {f.uuid for f in plugin.list_bundles(TDR_SOURCE, '44').bundles} == {
        '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'}


# What depends on the bundle's version: the canned plugin derives one for a
# file named without it (fixtures README §2.6), 2019-10-03T10:54:44.192000Z
# for 1b6d8348, where TDR has its links row's, 2019-09-24T09:35:06.958773Z.
# And the sources, which are named differently.
_VERSIONED = {'sources', 'dates', 'bundleVersion'}


def _comparable(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _comparable(v) for k, v in body.items() if k not in _VERSIONED}
    if isinstance(body, list):
        return [_comparable(v) for v in body]
    return body


@pytest.mark.parametrize('entity_type', ['files', 'samples', 'projects', 'bundles'])
def test_same_answers_as_the_canned_bundles(clients, entity_type):
    tdr, canned = clients
    path = f'/index/{entity_type}?catalog={CATALOG}&size=100'
    ours, theirs = tdr.get_json(path), canned.get_json(path)
    assert ours['hits'], ours
    ours_, theirs_ = _comparable(ours['hits']), _comparable(theirs['hits'])
    for a, b in zip(ours_, theirs_, strict=True):
        for key in a.keys() | b.keys():
            assert a.get(key) == b.get(key), (a['entryId'], key, a.get(key), b.get(key))
    assert ours['pagination']['total'] == theirs['pagination']['total']
    assert ours['termFacets'] == theirs['termFacets']
    assert {s['sourceSpec'] for hit in ours['hits'] for s in hit['sources']} == {TDR_SOURCE}
    versions = {(b['bundleUuid'], b['bundleVersion'])
                for hit in ours['hits'] for b in hit.get('bundles', ())}
    assert versions <= BUNDLES


def test_summary(clients):
    tdr, canned = clients
    path = f'/index/summary?catalog={CATALOG}'
    assert tdr.get_json(path) == canned.get_json(path)


def test_downloads_go_to_tdr_drs(clients):
    tdr, _ = clients
    hits = tdr.get_json(f'/index/files?catalog={CATALOG}&size=100')['hits']
    file = next(f for hit in hits for f in hit['files'] if f['drs_uri'])
    reply = tdr.get(f'/repository/files/{file["uuid"]}?catalog={CATALOG}')
    assert reply.status == 302, reply.body
    host, _, object_id = file['drs_uri'].removeprefix('drs://').partition('/')
    assert reply.header('Location') == f'https://{host}/ga4gh/drs/v1/objects/{object_id}'
