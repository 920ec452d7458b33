"""
AnVIL bundles from the fixture snapshot tables through the production
BigQuery client (`BigQueryTableClient`) against the local BigQuery stand-in,
and the `tdr_anvil` repository plugin on it. Expected values are the canned
AnVIL bundles (`shared/fixtures/anvil/*.tdr.anvil.json`). Needs no
OpenSearch: run with AZUL_ES_ENDPOINT set to anything.
"""
import json
import types

import pytest

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError
from azul.plugins.repository.tdr.anvil import TDRAnvilRepository
from azul.plugins.repository.tdr.anvil_bundles import SQLAnvilTables, build_bundle, list_bundles
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul_testing import FIXTURES

ANVIL = FIXTURES / 'anvil'
TABLES = ANVIL / '6c87f0e1-509d-46a4-b845-7584df39263b.tables.tdr.json'
PROJECT, DATASET = 'local-tdr', 'anvil_snapshot'
SOURCE = f'tdr:bigquery:gcp:{PROJECT}:{DATASET}:/1'
VERSION = '2022-06-01T00:00:00.000000Z'  # that of all AnVIL bundles (fixtures README)
UUIDS = sorted(path.name.split('.')[0] for path in ANVIL.glob('*.tdr.anvil.json'))


def expected(uuid: str) -> dict:
    return json.loads((ANVIL / f'{uuid}.tdr.anvil.json').read_text())


class FixtureDUOS:
    """DUOS knowing the description of the fixtures' DUOS bundle."""

    def __init__(self):
        self.texts = {}
        rows = json.loads(TABLES.read_text())['tables']['anvil_dataset']['rows']
        for uuid in UUIDS:
            for key, entity in expected(uuid)['entities'].items():
                if set(entity) == {'description', 'version'}:
                    [row] = [r for r in rows if key.endswith('/' + r['datarepo_row_id'])]
                    self.texts[row['dataset_id']] = entity['description']

    def description(self, dataset_id):
        return self.texts.get(dataset_id)


@pytest.fixture(scope='module')
def local():
    with LocalBigQuery(project=PROJECT, datasets={DATASET: TABLES}) as local:
        yield local


@pytest.fixture(scope='module')
def tables(local):
    client = BigQueryTableClient(PROJECT, endpoint=local.url, initial_delay=0.001)
    yield SQLAnvilTables(client, f'{PROJECT}.{DATASET}')
    client.close()


@pytest.fixture
def plugin(local):
    plugin = TDRAnvilRepository(types.SimpleNamespace(bigquery_endpoint=local.url),
                                duos=FixtureDUOS())
    yield plugin
    plugin.close()


def assert_fixture(bundle, uuid: str, source: str) -> None:
    document = expected(uuid)
    assert bundle.fqid == BundleFQID(uuid, VERSION)
    assert bundle.source == source
    assert (bundle.manifest, bundle.stitched, bundle.kind) == ({}, frozenset(), 'tdr')
    assert bundle.metadata == document['entities']
    assert bundle.links == {'links': document['links']}


def test_fixture_has_a_duos_bundle():
    assert len(UUIDS) == 3 and len(FixtureDUOS().texts) == 1


@pytest.mark.parametrize('uuid', UUIDS)
def test_bundles_through_bigquery(tables, uuid):
    assert_fixture(build_bundle(tables, 'src', uuid, VERSION, FixtureDUOS()), uuid, 'src')


def test_listing_through_bigquery(tables):
    assert list_bundles(tables, '', duos=True) == UUIDS
    assert list_bundles(tables, UUIDS[-1][:16], duos=True) == [UUIDS[-1]]


def test_plugin_lists_and_fetches(plugin):
    listing = plugin.list_bundles(SOURCE)
    assert listing.bundles == tuple(BundleFQID(uuid, VERSION) for uuid in UUIDS)
    assert listing.problems == ()
    for uuid in UUIDS:
        assert_fixture(plugin.fetch_bundle(SOURCE, BundleFQID(uuid, VERSION)), uuid, SOURCE)


def test_plugin_partitions(plugin):
    partitions = plugin.partitions(SOURCE)
    assert partitions == [format(i, 'x') for i in range(16)]
    by_partition = [fqid.uuid
                    for p in partitions for fqid in plugin.list_bundles(SOURCE, p).bundles]
    assert by_partition == UUIDS
    # A source with a common prefix holds only the bundles under it
    narrow = f'tdr:bigquery:gcp:{PROJECT}:{DATASET}:8/1'
    assert [f.uuid for f in plugin.list_bundles(narrow).bundles] == [UUIDS[-1]]
    assert plugin.list_bundles(narrow, '2').bundles == ()
    with pytest.raises(NotFoundError):
        plugin.fetch_bundle(narrow, BundleFQID(UUIDS[0], VERSION))


def test_plugin_without_duos(local):
    plugin = TDRAnvilRepository(types.SimpleNamespace(bigquery_endpoint=local.url))
    try:
        listed = [fqid.uuid for fqid in plugin.list_bundles(SOURCE).bundles]
        duos_uuid = (set(UUIDS) - set(listed)).pop()
        assert len(listed) == 2
        with pytest.raises(NotFoundError):
            plugin.fetch_bundle(SOURCE, BundleFQID(duos_uuid, VERSION))
    finally:
        plugin.close()


def test_file_url(plugin):
    primary = plugin.fetch_bundle(SOURCE, BundleFQID(UUIDS[-1], VERSION))
    for key, entity in primary.metadata.items():
        if key.startswith('anvil_file/'):
            host, _, object_id = entity['file_ref'].removeprefix('drs://').partition('/')
            assert plugin.file_url(SOURCE, entity) == \
                f'https://{host}/ga4gh/drs/v1/objects/{object_id}'
