"""
The real `google-cloud-bigquery` client, through `BigQueryTableClient`,
against the local BigQuery stand-in loaded from the TDR fixture tables.
Expected values are read from the fixture files, never from the code under
test. Needs no OpenSearch: run with AZUL_ES_ENDPOINT set to anything to keep
the session from starting a node when this file runs alone.
"""
import json
import urllib.request
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from azul.errors import RepositoryError
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul.plugins.repository.tdr.spec import TDRSourceSpec
from azul_testing import FIXTURES

HCA = FIXTURES / 'hca' / 'tdr-tables' / 'd8c20944-739f-4e7d-9161-b720953432ce.tables.tdr.json'
ANVIL = FIXTURES / 'anvil' / '6c87f0e1-509d-46a4-b845-7584df39263b.tables.tdr.json'
HCA_SPEC = TDRSourceSpec.parse('tdr:bigquery:gcp:local-tdr:hca_snapshot:/0')
ANVIL_SPEC = TDRSourceSpec.parse('tdr:bigquery:gcp:local-tdr:anvil_snapshot:/0')


def fixture_rows(path: Path, table: str) -> list[dict]:
    return json.loads(path.read_text())['tables'][table]['rows']


def make_local(**kwargs) -> LocalBigQuery:
    return LocalBigQuery(project='local-tdr',
                         datasets={HCA_SPEC.name: HCA, ANVIL_SPEC.name: ANVIL},
                         **kwargs)


@pytest.fixture(scope='module')
def local():
    with make_local() as local:
        yield local


def client_for(local: LocalBigQuery, **kwargs) -> BigQueryTableClient:
    kwargs.setdefault('initial_delay', 0.001)
    return BigQueryTableClient('local-tdr', endpoint=local.url, **kwargs)


def test_select_anvil_rows(local):
    # Strings, integers, booleans, arrays (REPEATED) and NULLs
    client = client_for(local)
    for table, key in [('anvil_file', 'file_id'), ('anvil_biosample', 'biosample_id'),
                       ('anvil_diagnosis', 'diagnosis_id'), ('anvil_dataset', 'dataset_id')]:
        rows = client.query(f'SELECT * FROM `{ANVIL_SPEC.qualify_table(table)}` '
                            f'ORDER BY {key}', {})
        expected = sorted(fixture_rows(ANVIL, table), key=lambda row: row[key])
        assert rows == expected, table


def test_select_hca_rows_json_columns(local):
    # Objects are JSON strings, as in TDR's BigQuery tables
    client = client_for(local)
    for table in ['links', 'supplementary_file', 'sequence_file']:
        rows = client.query(f'SELECT * FROM `{HCA_SPEC.qualify_table(table)}`', {})
        for row in rows:
            for column in ('content', 'descriptor'):
                if column in row:
                    assert isinstance(row[column], str)
                    row[column] = json.loads(row[column])
        key = f'{table}_id'
        expected = sorted(fixture_rows(HCA, table), key=lambda row: (row[key], row['version']))
        assert sorted(rows, key=lambda row: (row[key], row['version'])) == expected


def test_parameters_and_bigquery_dialect(local):
    client = client_for(local)
    fixture = fixture_rows(HCA, 'links')
    project_id = fixture[0]['project_id']
    ids = [fixture[0]['links_id'], fixture[-1]['links_id'], 'not-a-links-id']
    rows = client.query(f'''
        SELECT links_id, version, JSON_EXTRACT_SCALAR(content, '$.schema_type') AS schema_type
        FROM `{HCA_SPEC.qualify_table('links')}`
        WHERE project_id = @project_id AND links_id IN UNNEST(@ids)
        ORDER BY links_id, version
    ''', {'project_id': project_id, 'ids': ids})
    expected = sorted((row['links_id'], row['version'], row['content']['schema_type'])
                      for row in fixture if row['links_id'] in ids)
    assert [tuple(row.values()) for row in rows] == expected
    assert len(rows) == 2
    # An empty array selects nothing, as in BigQuery
    assert client.query(f'SELECT links_id FROM `{HCA_SPEC.qualify_table("links")}` '
                        f'WHERE links_id IN UNNEST(@ids)', {'ids': []}) == []


def test_json_path_and_starts_with(local):
    client = client_for(local)
    fixture = fixture_rows(HCA, 'sequence_file')
    prefix = fixture[0]['sequence_file_id'][:1]
    rows = client.query(f'''
        SELECT sequence_file_id,
               JSON_EXTRACT_SCALAR(content, '$.provenance.document_id') AS document_id,
               JSON_EXTRACT_SCALAR(descriptor, '$.size') AS size
        FROM `{HCA_SPEC.qualify_table('sequence_file')}`
        WHERE STARTS_WITH(sequence_file_id, @prefix)
    ''', {'prefix': prefix})
    expected = sorted((row['sequence_file_id'], row['content']['provenance']['document_id'],
                       str(row['descriptor']['size']))
                      for row in fixture if row['sequence_file_id'].startswith(prefix))
    assert sorted(tuple(row.values()) for row in rows) == expected
    assert expected


def test_scalar_parameter_types(local):
    client = client_for(local)
    fixture = fixture_rows(ANVIL, 'anvil_file')
    big = max(row['file_size'] for row in fixture)
    rows = client.query(f'SELECT file_id FROM `{ANVIL_SPEC.qualify_table("anvil_file")}` '
                        f'WHERE file_size >= @size AND is_supplementary = @supplementary',
                        {'size': big, 'supplementary': False})
    expected = [row['file_id'] for row in fixture
                if row['file_size'] >= big and row['is_supplementary'] is False]
    assert [row['file_id'] for row in rows] == expected


def test_paging():
    fixture = fixture_rows(HCA, 'sequence_file')
    assert len(fixture) > 3
    with make_local(page_size=3) as local:
        sql = (f'SELECT sequence_file_id FROM `{HCA_SPEC.qualify_table("sequence_file")}` '
               f'ORDER BY sequence_file_id')
        rows = client_for(local).query(sql, {})
        assert rows == [{'sequence_file_id': row['sequence_file_id']}
                        for row in sorted(fixture, key=lambda row: row['sequence_file_id'])]
        pages = [path for method, path in local.requests if '/queries/' in path]
        assert len(pages) >= len(fixture) // 3
        # The client's own page size is honoured too, and jobs.insert pages
        local.requests.clear()
        google = bigquery.Client(project='local-tdr', credentials=AnonymousCredentials(),
                                 client_options={'api_endpoint': local.url})
        result = google.query(sql).result(page_size=2)
        assert [row['sequence_file_id'] for row in result] == [
            row['sequence_file_id'] for row in rows
        ]
        assert ('POST', '/bigquery/v2/projects/local-tdr/jobs') in local.requests


def test_bad_query(local):
    client = client_for(local, retries=3)
    local.requests.clear()
    with pytest.raises(RepositoryError) as e:
        client.query(f'SELECT no_such_column FROM `{HCA_SPEC.qualify_table("links")}`', {})
    assert 'no_such_column' in e.value.message
    assert '400' in e.value.message
    assert len(local.requests) == 1, 'a refused query is not retried'
    with pytest.raises(RepositoryError) as e:
        client.query(f'SELECT * FROM `{HCA_SPEC.qualify_table("no_such_table")}`', {})
    assert 'Not found: Table local-tdr:hca_snapshot.no_such_table' in e.value.message
    with pytest.raises(RepositoryError) as e:
        client.query('SELECT * FROM `local-tdr.no_such_dataset.links`', {})
    assert 'no_such_dataset' in e.value.message


def test_bad_query_wire_form(local):
    # BigQuery's error JSON, as the client parses it
    body = json.dumps({'query': 'SELECT FROM WHERE', 'useLegacySql': False}).encode()
    request = urllib.request.Request(f'{local.url}/bigquery/v2/projects/local-tdr/queries',
                                     data=body, method='POST',
                                     headers={'Content-Type': 'application/json'})
    with pytest.raises(urllib.request.HTTPError) as e:
        urllib.request.urlopen(request)
    assert e.value.code == 400
    error = json.loads(e.value.read())['error']
    assert error['code'] == 400
    assert error['errors'][0]['reason'] == 'invalidQuery'
    assert error['message']


def test_transient_failures_retried():
    sleeps = []
    with make_local() as local:
        client = client_for(local, retries=3, initial_delay=0.01, sleep=sleeps.append)
        local.fail_next(2, status=503)
        rows = client.query(f'SELECT dataset_id FROM '
                            f'`{ANVIL_SPEC.qualify_table("anvil_dataset")}`', {})
        assert rows == [{'dataset_id': row['dataset_id']}
                        for row in fixture_rows(ANVIL, 'anvil_dataset')]
        assert sleeps == [0.01, 0.02], 'exponential back-off'
        sleeps.clear()
        local.fail_next(1, status=429)
        assert len(client.query('SELECT 1 AS one', {})) == 1
        assert sleeps == [0.01]


def test_transient_failures_past_budget():
    with make_local() as local:
        client = client_for(local, retries=2, sleep=lambda _: None)
        local.fail_next(3, status=503)
        with pytest.raises(RepositoryError) as e:
            client.query('SELECT 1 AS one', {})
        assert 'failed 3 times' in e.value.message
        assert '503' in e.value.message
        assert local.take_failure() is None, 'exactly the budget was spent'


def test_connection_refused():
    local = make_local().start()
    url = local.url
    local.stop()
    client = BigQueryTableClient('local-tdr', endpoint=url, retries=1, sleep=lambda _: None)
    with pytest.raises(RepositoryError) as e:
        client.query('SELECT 1 AS one', {})
    assert 'failed 2 times' in e.value.message
    assert 'ConnectionError' in e.value.message


def test_module_serves_until_terminated():
    # The way `make run` starts it: a process printing its URL first
    import subprocess
    import sys
    process = subprocess.Popen(
        [sys.executable, '-m', 'azul.plugins.repository.tdr.local_bigquery_http',
         '--project', 'local-tdr', '--dataset', f'{ANVIL_SPEC.name}={ANVIL}'],
        stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith('http://127.0.0.1:')
        client = BigQueryTableClient('local-tdr', endpoint=url)
        rows = client.query(f'SELECT donor_id FROM `{ANVIL_SPEC.qualify_table("anvil_donor")}`',
                            {})
        assert rows == [{'donor_id': row['donor_id']}
                        for row in fixture_rows(ANVIL, 'anvil_donor')]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
