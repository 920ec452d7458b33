"""HCA bundles built from the fixture TDR snapshot tables equal the canned TDR bundles."""
import copy
import json
from typing import Any

import pytest
from tdr_tables import HCA_TABLES, InMemoryHCATables, load_tables

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError, RepositoryError
from azul.plugins.repository.tdr.hca_bundles import (
    ENTITIES_SQL,
    SQLHCATables,
    build_bundle,
    list_bundles,
    sql_for,
)
from azul_testing import FIXTURES

SOURCE = 'tdr:bigquery:gcp:mock-project:d8c20944-739f-4e7d-9161-b720953432ce:/1'

BUNDLES = {
    '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9': '2019-09-24T09:35:06.958773Z',
    '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe': '2020-08-10T21:24:26.174274Z',
}
UPSTREAM = {
    'b0c2c714-45ee-4759-a32b-8ccbbcf911d4': '2020-08-10T21:24:26.174274Z',
    'bd4939c1-a078-43bd-8477-99ae59ceb555': '2020-08-10T21:24:26.174274Z',
}


def expected(uuid: str) -> dict[str, Any]:
    path = FIXTURES / 'hca' / 'bundles' / 'indexer' / f'{uuid}.tdr.hca.json'
    return json.loads(path.read_text())


@pytest.fixture
def tables() -> dict[str, list[dict[str, Any]]]:
    return load_tables()


def assert_bundle_equals_fixture(bundle, uuid: str) -> None:
    document = expected(uuid)
    assert bundle.fqid == BundleFQID(uuid=uuid, version=BUNDLES[uuid])
    assert bundle.source == SOURCE
    assert bundle.kind == 'tdr'
    assert bundle.manifest == document['manifest']
    assert bundle.metadata == document['metadata']
    assert bundle.links == document['links']
    assert sorted(bundle.stitched) == document['stitched']


@pytest.mark.parametrize('uuid', sorted(BUNDLES))
def test_bundle_equals_fixture(tables, uuid):
    bundle = build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])
    assert_bundle_equals_fixture(bundle, uuid)


@pytest.mark.parametrize('uuid', sorted(BUNDLES))
def test_json_columns_as_strings(tables, uuid):
    # BigQuery answers JSON columns as strings, the fixture holds objects
    for rows in tables.values():
        for row in rows:
            for column in ('content', 'descriptor'):
                if column in row:
                    row[column] = json.dumps(row[column])
    bundle = build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])
    assert_bundle_equals_fixture(bundle, uuid)


def test_stitching_order(tables):
    uuid = '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'
    bundle = build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])
    # The bundle's own links first, then each upstream subgraph's once
    contents = {row['links_id']: row['content'] for row in tables['links']}
    assert bundle.links['links'] == [
        link
        for links_id in (uuid, *sorted(UPSTREAM))
        for link in contents[links_id]['links']
    ]
    own = {'848c816e-4ae8-4c9a-9e3d-ebe447519ff4', '099457a1-a453-54c6-aae5-b70dafa33bbd',
           'b8b76328-854c-5862-a688-9b761a9cea86', '116965f3-f094-4769-9d28-ae675c1b569c'}
    assert not own & bundle.stitched
    assert 'sequence_file/8f8b9587-237f-4995-9461-c96eac53d615' in bundle.manifest
    assert '8f8b9587-237f-4995-9461-c96eac53d615' in bundle.stitched


def test_null_file_id(tables):
    uuid = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'
    bundle = build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])
    entry = bundle.manifest['supplementary_file/c343a47d-683f-571d-99c4-1331841b4e63']
    assert entry['drs_uri'] is None
    assert entry['content-type'] == 'whatever format these are in; dcp-type=data'
    others = [v for k, v in bundle.manifest.items() if v is not entry]
    assert all(v['drs_uri'].startswith('drs://mock_tdr.lan/v1_') for v in others)


def test_list_bundles(tables):
    in_memory = InMemoryHCATables(tables)
    assert list_bundles(in_memory) == sorted({**BUNDLES, **UPSTREAM}.items())
    assert list_bundles(in_memory, '4') == [('4426adc5-b3c5-5aab-ab86-51d8ce44dfbe',
                                             BUNDLES['4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'])]
    assert list_bundles(in_memory, 'b0') == [('b0c2c714-45ee-4759-a32b-8ccbbcf911d4',
                                              UPSTREAM['b0c2c714-45ee-4759-a32b-8ccbbcf911d4'])]
    assert list_bundles(in_memory, 'f') == []


def test_list_bundles_newest_version(tables):
    older = copy.deepcopy(one_links_row(tables, '1b6d8348'))
    older['version'] = '2019-01-01T00:00:00.000000Z'
    newer = copy.deepcopy(older)
    newer['version'] = '2019-10-03T10:55:24.911627Z'
    tables['links'] += [older, newer]
    assert list_bundles(InMemoryHCATables(tables), '1b') == [
        ('1b6d8348-d6e9-406a-aa6a-7ee886e52bf9', '2019-10-03T10:55:24.911627Z')
    ]
    # Each version is still a bundle of its own
    bundle = build_bundle(InMemoryHCATables(tables), SOURCE, newer['links_id'], newer['version'])
    assert bundle.fqid.version == newer['version']


def one_links_row(tables, prefix: str) -> dict[str, Any]:
    [row] = [row for row in tables['links'] if row['links_id'].startswith(prefix)]
    return row


def test_unknown_bundle(tables):
    with pytest.raises(NotFoundError):
        build_bundle(InMemoryHCATables(tables), SOURCE,
                     '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9', '2000-01-01T00:00:00.000000Z')


def test_dangling_reference(tables):
    missing = 'cell_line/70054038-cb12-429d-bb37-69185ff1deee'
    tables['cell_line'] = [row for row in tables['cell_line']
                           if row['cell_line_id'] != missing.split('/')[1]]
    uuid = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'
    with pytest.raises(RepositoryError, match='70054038-cb12-429d-bb37-69185ff1deee'):
        build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])


def test_dangling_reference_to_missing_table(tables):
    del tables['analysis_protocol']
    uuid = '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'
    with pytest.raises(RepositoryError, match='099457a1-a453-54c6-aae5-b70dafa33bbd'):
        build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])


def test_unproduced_dangling_input(tables):
    # Without the upstream subgraph no links document outputs the input file
    tables['links'] = [row for row in tables['links']
                       if not row['links_id'].startswith('b0c2c714')]
    uuid = '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'
    with pytest.raises(RepositoryError, match='8f8b9587-237f-4995-9461-c96eac53d615'):
        build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])


@pytest.mark.parametrize('table,column,row_id', [
    ('sequence_file', 'descriptor', '5f68ea73-350b-4d37-a341-3004139fb699'),
    ('sequence_file', 'file_id', '5f68ea73-350b-4d37-a341-3004139fb699'),
    ('donor_organism', 'content', '2b7adb0a-82a4-4319-80d1-4a73d879dec1'),
    ('process', 'version', '15de6ce1-c185-4852-ade4-43614c5d048b'),
    ('links', 'project_id', '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'),
])
def test_missing_column(tables, table, column, row_id):
    [row] = [row for row in tables[table] if row[table + '_id'] == row_id]
    del row[column]
    uuid = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'
    with pytest.raises(RepositoryError, match=f'{row_id}.*{column}'):
        build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])


def test_missing_descriptor_field(tables):
    row_id = '5f68ea73-350b-4d37-a341-3004139fb699'
    [row] = [row for row in tables['sequence_file'] if row['sequence_file_id'] == row_id]
    del row['descriptor']['sha256']
    uuid = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'
    with pytest.raises(RepositoryError, match=f'{row_id}.*sha256'):
        build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])


def test_null_file_id_without_drs_uri(tables):
    row_id = 'c343a47d-683f-571d-99c4-1331841b4e63'
    [row] = [row for row in tables['supplementary_file']
             if row['supplementary_file_id'] == row_id]
    del row['descriptor']['drs_uri']
    uuid = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'
    with pytest.raises(RepositoryError, match=row_id):
        build_bundle(InMemoryHCATables(tables), SOURCE, uuid, BUNDLES[uuid])


def test_sql_refuses_odd_table_names():
    assert sql_for(ENTITIES_SQL, 'p.d', 'cell_line').split() == [
        'SELECT', '*', 'FROM', '`p.d.cell_line`', 'WHERE', 'cell_line_id', 'IN', 'UNNEST(@ids)'
    ]
    with pytest.raises(RepositoryError):
        sql_for(ENTITIES_SQL, 'p.d', 'cell_line` UNION SELECT')


class DuckDBClient:
    """
    Runs the BigQuery SQL of `SQLHCATables` on DuckDB, the way the local
    BigQuery stand-in does: tables in a schema named like the dataset, JSON
    columns as strings, the SQL translated by sqlglot.
    """

    def __init__(self, tables, schema: str):
        import duckdb
        self.connection = duckdb.connect()
        self.connection.execute(f'CREATE SCHEMA "{schema}"')
        for name, rows in tables.items():
            columns = list(rows[0])
            self.connection.execute(f'CREATE TABLE "{schema}"."{name}" ('
                                    + ', '.join(f'"{c}" VARCHAR' for c in columns) + ')')
            self.connection.executemany(
                f'INSERT INTO "{schema}"."{name}" VALUES ('
                + ', '.join('?' for _ in columns) + ')',
                [[json.dumps(row[c]) if isinstance(row[c], dict) else row[c] for c in columns]
                 for row in rows]
            )
        self.queries: list[str] = []

    def query(self, sql, params):
        import sqlglot
        self.queries.append(sql)
        [translated] = sqlglot.transpile(sql, read='bigquery', write='duckdb')
        cursor = self.connection.execute(translated, dict(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


@pytest.fixture
def sql_tables(tables):
    return SQLHCATables(DuckDBClient(tables, 'snapshot'), 'snapshot')


@pytest.mark.parametrize('uuid', sorted(BUNDLES))
def test_sql_tables_on_duckdb(sql_tables, uuid):
    bundle = build_bundle(sql_tables, SOURCE, uuid, BUNDLES[uuid])
    assert_bundle_equals_fixture(bundle, uuid)


def test_sql_listing_on_duckdb(sql_tables):
    assert list_bundles(sql_tables) == sorted({**BUNDLES, **UPSTREAM}.items())
    assert list_bundles(sql_tables, 'bd') == [('bd4939c1-a078-43bd-8477-99ae59ceb555',
                                               UPSTREAM['bd4939c1-a078-43bd-8477-99ae59ceb555'])]


def test_sql_missing_value_on_duckdb(tables):
    # In a SQL table a column a row lacks is NULL in that row: named all the same
    row_id = '2b7adb0a-82a4-4319-80d1-4a73d879dec1'
    [row] = [row for row in tables['donor_organism'] if row['donor_organism_id'] == row_id]
    row['content'] = None
    sql_tables = SQLHCATables(DuckDBClient(tables, 'snapshot'), 'snapshot')
    uuid = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9'
    with pytest.raises(RepositoryError, match=f'{row_id}.*content'):
        build_bundle(sql_tables, SOURCE, uuid, BUNDLES[uuid])


def test_sql_tables_on_local_bigquery():
    # The production client against the BigQuery REST stand-in: what a TDR
    # catalog runs, short of Google
    from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
    from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
    with LocalBigQuery(datasets={'snapshot': HCA_TABLES}) as local:
        client = BigQueryTableClient('local-project', endpoint=local.url, retries=0)
        try:
            sql_tables = SQLHCATables(client, 'local-project.snapshot')
            assert list_bundles(sql_tables) == sorted({**BUNDLES, **UPSTREAM}.items())
            for uuid, version in BUNDLES.items():
                bundle = build_bundle(sql_tables, SOURCE, uuid, version)
                assert_bundle_equals_fixture(bundle, uuid)
        finally:
            client.close()
