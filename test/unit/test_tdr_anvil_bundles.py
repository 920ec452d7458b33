"""AnVIL bundles built from the fixture snapshot tables equal the canned AnVIL bundles."""
import copy
import json
from typing import Any

import pytest
from anvil_tables import ANVIL_DIR, ANVIL_TABLES, FakeDUOS, InMemoryAnvilTables
from tdr_tables import load_tables

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError, RepositoryError
from azul.plugins.repository.tdr.anvil_bundles import (
    FIXED_VERSION,
    SQLAnvilTables,
    build_bundle,
    bundle_uuid,
    list_bundles,
)

SOURCE = 'tdr:bigquery:gcp:mock-project:6c87f0e1-509d-46a4-b845-7584df39263b:/1'

PRIMARY = '826dea02-e274-affe-aabc-eb3db63ad068'
SUPPLEMENTARY = '6b0f6c0f-5d80-a242-accb-840921351cd5'
DUOS = '2370f948-2783-aeb6-afea-e022897f4dcf'
BIOSAMPLE_ROW = '826dea02-e274-4ffe-aabc-eb3db63ad068'


def expected(uuid: str) -> dict[str, Any]:
    return json.loads((ANVIL_DIR / f'{uuid}.tdr.anvil.json').read_text())


def fixture_duos() -> FakeDUOS:
    # The text the DUOS bundle of the fixtures holds
    [entity] = expected(DUOS)['entities'].values()
    return FakeDUOS(entity['description'])


@pytest.fixture
def tables() -> dict[str, list[dict[str, Any]]]:
    return load_tables(ANVIL_TABLES)


def build(tables, uuid: str, duos=None):
    return build_bundle(InMemoryAnvilTables(tables), SOURCE, uuid, FIXED_VERSION,
                        duos or fixture_duos())


def row(tables, table: str, row_id: str) -> dict[str, Any]:
    [found] = [r for r in tables[table] if r.get('datarepo_row_id') == row_id]
    return found


@pytest.mark.parametrize('uuid', [PRIMARY, SUPPLEMENTARY, DUOS])
def test_bundle_equals_fixture(tables, uuid):
    bundle = build(tables, uuid)
    document = expected(uuid)
    assert bundle.fqid == BundleFQID(uuid=uuid, version=FIXED_VERSION)
    assert bundle.source == SOURCE
    assert bundle.kind == 'tdr'
    assert bundle.manifest == {}
    assert bundle.stitched == frozenset()
    assert bundle.metadata == document['entities']
    assert list(bundle.metadata) == list(document['entities'])
    assert bundle.links == {'links': document['links']}


def test_duos_is_asked_for_the_dataset(tables):
    duos = fixture_duos()
    build(tables, DUOS, duos)
    assert duos.asked == [tables['anvil_dataset'][0]['dataset_id']]
    # A dataset DUOS does not know has no description
    bundle = build(tables, DUOS, FakeDUOS(None))
    assert [entity['description'] for entity in bundle.metadata.values()] == [None]


def test_bundle_uuid():
    assert bundle_uuid(BIOSAMPLE_ROW) == PRIMARY
    with pytest.raises(RepositoryError, match='not a version 4 uuid'):
        bundle_uuid(PRIMARY)


def test_listing(tables):
    memory = InMemoryAnvilTables(tables)
    assert list_bundles(memory, '', duos=True) == sorted([PRIMARY, SUPPLEMENTARY, DUOS])
    # Without DUOS there is nothing to put in a DUOS bundle
    assert list_bundles(memory, '') == sorted([PRIMARY, SUPPLEMENTARY])
    assert list_bundles(memory, '8', duos=True) == [PRIMARY]
    assert list_bundles(memory, 'f', duos=True) == []
    # A prefix reaching the version digit: bundles have `a` there, rows `4`
    assert list_bundles(memory, PRIMARY[:17], duos=True) == [PRIMARY]
    assert list_bundles(memory, BIOSAMPLE_ROW[:17], duos=True) == []
    assert ('row_ids', 'anvil_biosample', BIOSAMPLE_ROW[:17], False) in memory.calls


def test_unknown_bundles(tables):
    non_supplementary_file = bundle_uuid(tables['anvil_file'][0]['datarepo_row_id'])
    assert not tables['anvil_file'][0]['is_supplementary']
    for uuid in ['00000000-0000-a000-8000-000000000000', BIOSAMPLE_ROW, non_supplementary_file]:
        with pytest.raises(NotFoundError):
            build(tables, uuid)
    with pytest.raises(NotFoundError):
        build_bundle(InMemoryAnvilTables(tables), SOURCE, PRIMARY, '2022-06-02T00:00:00.000000Z')
    with pytest.raises(NotFoundError):
        build_bundle(InMemoryAnvilTables(tables), SOURCE, DUOS, FIXED_VERSION, duos=None)


def test_placeholder_rows_are_skipped(tables):
    # A placeholder row naming the biosample, were it ever to, is no activity
    placeholder = tables['anvil_activity'][0]
    assert 'datarepo_row_id' not in placeholder
    placeholder['used_biosample_id'] = [tables['anvil_biosample'][0]['biosample_id']]
    placeholder['generated_file_id'] = ['no-such-file']
    assert build(tables, PRIMARY).links == {'links': expected(PRIMARY)['links']}


def test_links_sharing_an_activity_are_merged(tables):
    first, second = tables['anvil_sequencingactivity']
    first['generated_file_id'] += second['generated_file_id']
    tables['anvil_sequencingactivity'] = [first]
    bundle = build(tables, PRIMARY)
    files = sorted(f'anvil_file/{r["datarepo_row_id"]}' for r in tables['anvil_file']
                   if not r['is_supplementary'])
    activity = f'anvil_sequencingactivity/{first["datarepo_row_id"]}'
    assert {'inputs': [f'anvil_biosample/{BIOSAMPLE_ROW}'], 'activity': activity,
            'outputs': files} in bundle.links['links']
    assert len(bundle.links['links']) == 5
    assert f'anvil_sequencingactivity/{second["datarepo_row_id"]}' not in bundle.metadata


def test_upstream_activity_brings_in_what_it_used(tables):
    # A variant calling activity that made the .vcf.gz from the .bam
    bam, vcf = (r for r in tables['anvil_file'] if not r['is_supplementary'] and
                r['file_format'] in ('.bam', '.vcf.gz'))
    bam, vcf = sorted([bam, vcf], key=lambda r: r['file_format'] != '.bam')
    calling = dict(copy.deepcopy(tables['anvil_variantcallingactivity'][0]),
                   datarepo_row_id='0c0c0c0c-0000-4000-8000-000000000000',
                   variantcallingactivity_id='vc-1', activity_type='Variant calling',
                   used_file_id=[bam['file_id']], generated_file_id=[vcf['file_id']])
    tables['anvil_variantcallingactivity'].append(calling)
    bundle = build(tables, PRIMARY)
    assert {'inputs': [f'anvil_file/{bam["datarepo_row_id"]}'],
            'activity': f'anvil_variantcallingactivity/{calling["datarepo_row_id"]}',
            'outputs': [f'anvil_file/{vcf["datarepo_row_id"]}']} in bundle.links['links']
    assert bundle.metadata[f'anvil_variantcallingactivity/{calling["datarepo_row_id"]}'] == \
        dict(calling, version=FIXED_VERSION)


@pytest.mark.parametrize('table, row_id, column, value, referrer', [
    ('anvil_biosample', BIOSAMPLE_ROW, 'donor_id', ['no-such-donor'],
     f'anvil_biosample/{BIOSAMPLE_ROW}'),
    ('anvil_biosample', BIOSAMPLE_ROW, 'part_of_dataset_id', ['no-such-dataset'],
     f'anvil_biosample/{BIOSAMPLE_ROW}'),
    ('anvil_sequencingactivity', '816e364e-1193-4e5b-a91a-14e4b009157c', 'generated_file_id',
     ['no-such-file'], 'anvil_sequencingactivity/816e364e-1193-4e5b-a91a-14e4b009157c'),
])
def test_dangling_foreign_key(tables, table, row_id, column, value, referrer):
    row(tables, table, row_id)[column] = value
    with pytest.raises(RepositoryError) as e:
        build(tables, PRIMARY)
    assert referrer in e.value.message and repr(value[0]) in e.value.message


@pytest.mark.parametrize('table, row_id, column', [
    ('anvil_biosample', BIOSAMPLE_ROW, 'donor_id'),
    ('anvil_file', '3b17377b-16b1-431c-9967-e5d01fc5923f', 'file_ref'),
    ('anvil_sequencingactivity', '1509ef40-d1ba-440d-b298-16b7c173dcd4', 'generated_file_id'),
    ('anvil_diagnosis', '939a4bd3-86ed-4a8a-81f4-fbe0ee673461', 'diagnosis_id'),
    ('anvil_donor', 'bfd991f2-2797-4083-972a-da7c6d7f1b2e', 'part_of_dataset_id'),
])
def test_missing_column(tables, table, row_id, column):
    del row(tables, table, row_id)[column]
    with pytest.raises(RepositoryError) as e:
        build(tables, PRIMARY)
    assert f'{table}/{row_id}' in e.value.message and repr(column) in e.value.message


def test_missing_column_of_a_supplementary_file(tables):
    del row(tables, 'anvil_file', '6b0f6c0f-5d80-4242-accb-840921351cd5')['file_ref']
    with pytest.raises(RepositoryError, match='anvil_file/6b0f6c0f-5d80-4242-.*file_ref'):
        build(tables, SUPPLEMENTARY)


def test_inconsistent_rows(tables):
    modified = copy.deepcopy(tables)
    row(modified, 'anvil_donor', 'bfd991f2-2797-4083-972a-da7c6d7f1b2e')['part_of_dataset_id'] = 'x'
    with pytest.raises(RepositoryError, match='anvil_donor/bfd991f2.* is part of dataset'):
        build(modified, PRIMARY)
    modified = copy.deepcopy(tables)
    row(modified, 'anvil_biosample', BIOSAMPLE_ROW)['part_of_dataset_id'] *= 2
    with pytest.raises(RepositoryError, match='is part of 2 datasets'):
        build(modified, PRIMARY)
    modified = copy.deepcopy(tables)
    modified['anvil_dataset'] *= 2
    with pytest.raises(RepositoryError, match='2 rows in anvil_dataset'):
        build(modified, SUPPLEMENTARY)
    modified = copy.deepcopy(tables)
    modified['anvil_donor'] *= 2
    with pytest.raises(RepositoryError, match='share the key'):
        build(modified, PRIMARY)


class RecordingClient:

    def __init__(self):
        self.queries: list[tuple[str, dict]] = []

    def query(self, sql, params):
        self.queries.append((sql, dict(params)))
        return []


def test_sql_tables():
    client = RecordingClient()
    tables = SQLAnvilTables(client, 'proj.snap')
    tables.row_ids('anvil_file', 'ab', supplementary=True)
    tables.rows('anvil_donor', 'donor_id', {'b', 'a'})
    tables.rows_containing('anvil_activity', 'used_file_id', ['f'])
    tables.all_rows('anvil_dataset')
    sqls = [' '.join(sql.split()) for sql, _ in client.queries]
    assert sqls == [
        'SELECT datarepo_row_id FROM `proj.snap.anvil_file` '
        'WHERE STARTS_WITH(datarepo_row_id, @prefix) AND is_supplementary',
        'SELECT * FROM `proj.snap.anvil_donor` WHERE donor_id IN UNNEST(@values)',
        'SELECT * FROM `proj.snap.anvil_activity` WHERE EXISTS '
        '(SELECT 1 FROM UNNEST(used_file_id) AS ref WHERE ref IN UNNEST(@values))',
        'SELECT * FROM `proj.snap.anvil_dataset`',
    ]
    assert [params for _, params in client.queries] == [
        {'prefix': 'ab'}, {'values': ['a', 'b']}, {'values': ['f']}, {}]
    with pytest.raises(RepositoryError):
        tables.rows('anvil_donor', 'donor_id; DROP', ['a'])
