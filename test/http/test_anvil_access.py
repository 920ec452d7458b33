"""
Managed access in an AnVIL catalog, on both backends: an open source of
synthetic bundles and a restricted one, the fixture's three bundles of
dataset 2370f948 (ANVIL_CMG_UWASH_DS_BDIS), readable by group `consent-1`.
As in the original, `datasets` is the open entity type (listed to every
caller, marked `accessible`), the other types show only what the caller may
read, and a `source_id` filter (the original's AnVIL name of the field)
naming an unreadable source is a 403.
"""
import json
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from azul.runtime import Runtime
from azul_dev.synth.anvil import generate_anvil
from azul_testing import FIXTURES
from conftest import ServiceClient, index_sources, make_config

CATALOG = 'anvil'
RESTRICTED = f'file://{FIXTURES}/anvil/*.tdr.anvil.json'
TOKENS = {'token-consented': {'subject': 'alice@example.org', 'groups': ['consent-1']}}
# The fixture's dataset and its files: the primary bundle's two and the
# supplementary one (fixtures README §6.2)
RESTRICTED_DATASET = '2370f948-2783-4eb6-afea-e022897f4dcf'
RESTRICTED_FILES = 3


@pytest.fixture(scope='module', params=('duckdb', 'opensearch'))
def client(request, tmp_path_factory, app_module) -> Iterator[ServiceClient]:
    kind = request.param
    if kind == 'opensearch':
        request.getfixturevalue('es_endpoint')
    data_dir = tmp_path_factory.mktemp(f'anvil-access-{kind}')
    generate_anvil(20, data_dir / 'open', seed=7)
    open_source = f'file://{data_dir}/open/*.tdr.anvil.json'
    tokens = data_dir / 'tokens.json'
    tokens.write_text(json.dumps(TOKENS))
    catalogs = {CATALOG: {'atlas': 'anvil', 'internal': False,
                          'plugins': {'metadata': {'name': 'anvil'},
                                      'repository': {'name': 'canned'}},
                          'sources': [open_source, {'spec': RESTRICTED, 'group': 'consent-1'}]}}
    runtime = Runtime(make_config(kind, data_dir, 't' + uuid.uuid4().hex[:10],
                                  catalogs=catalogs,
                                  extra_env={'AZUL_TOKENS_FILE': str(tokens)}))
    try:
        index_sources(runtime, CATALOG, [open_source, RESTRICTED])
        yield ServiceClient(app_module.create_app(lambda: runtime), runtime)
    finally:
        runtime.backend.drop_deployment()
        runtime.backend.close()


def _get(client: ServiceClient, path: str, token: str | None, status: int = 200, **params):
    query = '&'.join(f'{k}={quote(v if isinstance(v, str) else json.dumps(v))}'
                     for k, v in {'catalog': CATALOG, **params}.items())
    headers = {} if token is None else {'Authorization': f'Bearer {token}'}
    reply = client.get(f'{path}?{query}', headers=headers)
    assert reply.status == status, reply.body[:500]
    return reply.json


@pytest.mark.parametrize('token', [None, 'token-consented'])
def test_datasets_are_listed_and_marked(client, token):
    body = _get(client, '/index/datasets', token, size='100')
    marks = {hit['entryId']: hit['datasets'][0]['accessible'] for hit in body['hits']}
    assert marks[RESTRICTED_DATASET] is (token is not None)
    assert all(marks[d] for d in marks if d != RESTRICTED_DATASET)


def test_files_only_of_readable_sources(client):
    anonymous = _get(client, '/index/files', None)['pagination']['total']
    consented = _get(client, '/index/files', 'token-consented')['pagination']['total']
    assert consented - anonymous == RESTRICTED_FILES
    summary = _get(client, '/index/summary', None)
    assert summary['fileCount'] == anonymous


def test_source_filter_of_an_unreadable_source(client):
    filters = {'source_id': {'is': [RESTRICTED]}}
    _get(client, '/index/files', None, status=403, filters=filters)
    body = _get(client, '/index/files', 'token-consented', filters=filters)
    assert body['pagination']['total'] == RESTRICTED_FILES
