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
import csv
import io
import json
import os
import uuid
from urllib.parse import quote

import pytest
from chalice.test import Client

from azul.adapters.server import load_app
from azul.config import Config
from azul.indexer.index import Indexer
from azul.manifests.generate import manifest_context, write_manifest
from azul.runtime import Runtime
from unit.test_anvil_plugin import FIXTURES
from unit.test_anvil_shape import _golden

SOURCE = f'file://{FIXTURES}'
CATALOG = 'anvil'
HOST = 'azul.test'


@pytest.fixture
def runtime(backend, tmp_path):
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
    return runtime


@pytest.fixture
def client(runtime):
    return Client(load_app('service').create_app(lambda: runtime))


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


# The original's compact manifest of these files (its `test_manifests.py`,
# `TestAnvilManifests.test_compact_manifest`), transcribed: per column, the
# values of the supplementary file, the VCF and the BAM. Differences, applied
# below: the supplementary bundle's uuid and the source are ours; our
# fixture's biosample has no `apriori_cell_type`; `files.azul_mirror_uri` is
# left out (see `anvil.fields.manifest_config`); DRS URIs and
# file URLs are those of our fixture and service.
_ORIGINAL_COMPACT = {
    'bundles.bundle_uuid': ('595c469e-604d-ab34-af39-f5b9f5d61818',
                            '826dea02-e274-affe-aabc-eb3db63ad068',
                            '826dea02-e274-affe-aabc-eb3db63ad068'),
    'bundles.bundle_version': ('2022-06-01T00:00:00.000000Z',) * 3,
    'sources.source_id': ('6c87f0e1-509d-46a4-b845-7584df39263b',) * 3,
    'sources.source_spec': ('tdr:bigquery:gcp:test_anvil_project:anvil_snapshot',) * 3,
    'datasets.document_id': ('2370f948-2783-4eb6-afea-e022897f4dcf',) * 3,
    'datasets.source_datarepo_row_ids': (
        'workspace_attributes:7a22b629-9d81-4e4d-9297-f9e44ed760bc',) * 3,
    'datasets.dataset_id': ('52ee7665-7033-63f2-a8d9-ce8e32666739',) * 3,
    'datasets.consent_group': ('DS-BDIS',) * 3,
    'datasets.data_use_permission': ('DS-BDIS',) * 3,
    'datasets.owner': ('Debbie Nickerson',) * 3,
    'datasets.principal_investigator': ('',) * 3,
    'datasets.registered_identifier': ('phs000693',) * 3,
    'datasets.title': ('ANVIL_CMG_UWASH_DS_BDIS',) * 3,
    'datasets.data_modality': ('',) * 3,
    'donors.document_id': ('', *('bfd991f2-2797-4083-972a-da7c6d7f1b2e',) * 2),
    'donors.source_datarepo_row_ids': ('', *('subject:c23887a0-20c1-44e4-a09e-1c5dfdc2d0ef',) * 2),
    'donors.donor_id': ('', *('1e2bd7e5-f45e-a391-daea-7c060be76acd',) * 2),
    'donors.organism_type': ('', *('redacted-ACw+6ecI',) * 2),
    'donors.phenotypic_sex': ('', *('redacted-JfQ0b3xG',) * 2),
    'donors.reported_ethnicity': ('', *('redacted-NSkwDycK',) * 2),
    'donors.genetic_ancestry': ('',) * 3,
    'diagnoses.document_id': ('', *('15d85d30-ad4a-4f50-87a8-a27f59dd1b5f || '
                                    '939a4bd3-86ed-4a8a-81f4-fbe0ee673461',) * 2),
    'diagnoses.source_datarepo_row_ids': ('', *('subject:c23887a0-20c1-44e4-a09e-1c5dfdc2d0ef',)
                                          * 2),
    'diagnoses.diagnosis_id': ('', *('25ff8d32-18c9-fc3e-020a-5de20d35d906 || '
                                     '5ebe9bc4-a1be-0ddf-7277-b1e88276d0f6',) * 2),
    'diagnoses.disease': ('', *('redacted-A61iJlLx || redacted-g50ublm/',) * 2),
    'diagnoses.diagnosis_age_unit': ('',) * 3,
    'diagnoses.diagnosis_age': ('', *("{'gte': None, 'lte': None}",) * 2),
    'diagnoses.onset_age_unit': ('',) * 3,
    'diagnoses.onset_age': ('', *("{'gte': None, 'lte': None}",) * 2),
    'diagnoses.phenotype': ('', *('redacted-acSYHZUr',) * 2),
    'diagnoses.phenopacket': ('',) * 3,
    'biosamples.document_id': ('', *('826dea02-e274-4ffe-aabc-eb3db63ad068',) * 2),
    'biosamples.source_datarepo_row_ids': ('', *('sample:98048c3b-2525-4090-94fd-477de31f2608',)
                                           * 2),
    'biosamples.biosample_id': ('', *('f9d40cf6-37b8-22f3-ce35-0dc614d2452b',) * 2),
    'biosamples.anatomical_site': ('',) * 3,
    'biosamples.apriori_cell_type': ('', *('bar || foo',) * 2),
    'biosamples.biosample_type': ('',) * 3,
    'biosamples.disease': ('',) * 3,
    'biosamples.donor_age_at_collection_unit': ('',) * 3,
    'biosamples.donor_age_at_collection': ('', *("{'gte': None, 'lte': None}",) * 2),
    'activities.document_id': ('', '1509ef40-d1ba-440d-b298-16b7c173dcd4',
                               '816e364e-1193-4e5b-a91a-14e4b009157c'),
    'activities.source_datarepo_row_ids': ('', 'sequencing:d4f6c0c4-1e11-438e-8218-cfea63b8b051',
                                           'sequencing:a6c663c7-6f26-4ed2-af9d-48e9c709a22b'),
    'activities.activity_id': ('', '18b3be87-e26b-4376-0d8d-c1e370e90e07',
                               'a60c5138-3749-f7cb-8714-52d389ad5231'),
    'activities.activity_type': ('', 'Sequencing', 'Sequencing'),
    'activities.assay_type': ('',) * 3,
    'activities.data_modality': ('',) * 3,
    'activities.reference_assembly': ('',) * 3,
    'files.document_id': ('6b0f6c0f-5d80-4242-accb-840921351cd5',
                          '15b76f9c-6b46-433f-851d-34e89f1b9ba6',
                          '3b17377b-16b1-431c-9967-e5d01fc5923f'),
    'files.source_datarepo_row_ids': ('file_inventory:04ff3af2-0543-4ea6-830a-d31b957fa2ee',
                                      'file_inventory:81d16471-97ac-48fe-99a0-73d9ec62c2c0',
                                      'file_inventory:9658d94a-511d-4b49-82c3-d0cb07e0cff2'),
    'files.file_id': ('1fab11f5-7eab-4318-9a58-68d8d06e0715',
                      '1e269f04-4347-4188-b060-1dcc69e71d67',
                      '8b722e88-8103-49c1-b351-e64fa7c6ab37'),
    'files.data_modality': ('',) * 3,
    'files.file_format': ('.txt', '.vcf.gz', '.bam'),
    'files.file_size': ('15079345', '213021639', '3306845592'),
    'files.file_md5sum': ('4bf181ad18f3640418aa1deb7623d8cc', 'beec606ee0aa299fdf913f4259316622',
                          '7cd9fd7b54a8bf380e44e93706f1fa2d'),
    'files.reference_assembly': ('',) * 3,
    'files.file_name': (
        'CCDG_13607_B01_GRM_WGS_2019-02-19_chr15.recalibrated_variants.annotated.coding.txt',
        '307500.merged.matefixed.sorted.markeddups.recal.g.vcf.gz',
        '307500.merged.matefixed.sorted.markeddups.recal.bam'),
    'files.is_supplementary': ('True', 'False', 'False'),
    'files.drs_uri': None,
    'files.azul_url': None,
    'files.azul_mirror_uri': None,
}


def _expected_compact() -> list[dict[str, str]]:
    columns = dict(_ORIGINAL_COMPACT)
    del columns['files.azul_mirror_uri']
    columns['bundles.bundle_uuid'] = ('6b0f6c0f-5d80-a242-accb-840921351cd5',
                                      *columns['bundles.bundle_uuid'][1:])
    columns['sources.source_id'] = columns['sources.source_spec'] = (SOURCE,) * 3
    columns['biosamples.apriori_cell_type'] = ('',) * 3
    file_ids = columns['files.file_id']
    documents = columns['files.document_id']
    columns['files.drs_uri'] = tuple(
        f'drs://mock_tdr.lan/v1_6c87f0e1-509d-46a4-b845-7584df39263b_{f}' for f in file_ids)
    columns['files.azul_url'] = tuple(
        f'http://{HOST}/repository/files/{d}?catalog={CATALOG}'
        f'&version=2022-06-01T00%3A00%3A00.000000Z' for d in documents)
    return [{name: values[i] for name, values in columns.items()} for i in range(3)]


def test_compact_manifest(runtime):
    context = manifest_context(runtime, CATALOG, None, f'http://{HOST}')
    output = io.BytesIO()
    write_manifest(context, 'compact', output)
    text = output.getvalue().decode()
    rows = list(csv.DictReader(io.StringIO(text, newline=''), dialect='excel-tab'))
    expected = _expected_compact()
    # The columns in the original's order, the rows in any
    assert text.split('\r\n')[0].split('\t') == list(expected[0])
    key = 'files.document_id'
    assert sorted(rows, key=lambda r: r[key]) == sorted(expected, key=lambda r: r[key])
