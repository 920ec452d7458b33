"""Summary, catalogs, version, health, the OpenAPI document, Swagger UI and file URLs."""
import json
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import validate as validate_spec
from service_oracle import query, validate

from azul.runtime import Runtime
from azul.service import openapi
from conftest import ROOT, SOURCE, TDR_SOURCE, ServiceClient, make_config


@pytest.mark.parametrize('filters', [
    None,
    {'genusSpecies': {'is': ['Homo sapiens']}},
    {'organ': {'is': ['brain', 'blood']}, 'fileFormat': {'is': ['fastq.gz']}},
], ids=json.dumps)
def test_summary_is_consistent(client, reference_spec, filters):
    summary = client.get_json('/index/summary?' + query(filters=filters))
    validate(reference_spec, '/index/summary', summary)
    validate(client.get_json('/openapi'), '/index/summary', summary)
    assert summary['fileCount'] == sum(s['count'] for s in summary['fileTypeSummaries'])
    assert summary['totalFileSize'] == sum(s['totalSize'] for s in summary['fileTypeSummaries'])
    files = client.get_json('/index/files?' + query(size='1', filters=filters))
    assert summary['fileCount'] == files['pagination']['total']
    projects = client.get_json('/index/projects?' + query(size='1', filters=filters))
    assert summary['projectCount'] == projects['pagination']['total']
    formats = {t['term']: t['count'] for t in files['termFacets']['fileFormat']['terms']}
    if filters and 'fileFormat' in filters:
        # The facet ignores its own filter, the summary does not
        formats = {k: v for k, v in formats.items() if k in filters['fileFormat']['is']}
    assert {s['format']: s['count'] for s in summary['fileTypeSummaries']} == formats
    assert summary['projectCount'] > 0


def test_empty_summary(client):
    summary = client.get_json('/index/summary?' + query(filters={'organ': {'is': ['nowhere']}}))
    for key in ('projectCount', 'specimenCount', 'speciesCount', 'fileCount', 'totalFileSize',
                'donorCount', 'labCount'):
        assert summary[key] == 0, key
    for key in ('organTypes', 'fileTypeSummaries', 'cellCountSummaries'):
        assert summary[key] == [], key


def test_catalogs(client, reference_spec):
    body = client.get_json('/index/catalogs')
    validate(reference_spec, '/index/catalogs', body)
    assert body['default_catalog'] == 'dcp'
    assert set(body['catalogs']) == {'dcp', 'other'}
    assert body['catalogs']['other']['internal'] is True


def test_version(client, reference_spec):
    body = client.get_json('/version')
    validate(reference_spec, '/version', body)
    assert len(body['git']['commit']) == 40 or body['git']['commit'] == 'unknown'


@pytest.mark.parametrize('path, keys', [
    ('/health', {'elasticsearch', 'queues', 'progress', 'api_endpoints'}),
    ('/health/basic', set()),
    ('/health/fast', {'elasticsearch', 'api_endpoints'}),
    ('/health/cached', {'elasticsearch', 'api_endpoints'}),
    ('/health/progress,elasticsearch', {'elasticsearch', 'progress'}),
    # What the HCA Data Browser polls: the catalog selects whose progress
    ('/health/progress?catalog=dcp', {'progress'}),
    ('/health?catalog=other', {'elasticsearch', 'queues', 'progress', 'api_endpoints'}),
    ('/health/fast?catalog=dcp', {'elasticsearch', 'api_endpoints'}),
    ('/health/cached?catalog=dcp', {'elasticsearch', 'api_endpoints'}),
    ('/health/basic?catalog=other', set()),
    # The original ignores every other parameter of the health routes (they
    # do not validate them), and so a catalog it does not know
    ('/health/progress?catalog=nope', {'progress'}),
    ('/health/progress?catalog=foo%20', {'progress'}),
    ('/health/progress?bogus=1&catalog=dcp&catalog=other', {'progress'}),
    ('/health/basic?bogus=1', set()),
    ('/health?size=1', {'elasticsearch', 'queues', 'progress', 'api_endpoints'}),
])
def test_health(client, reference_spec, path, keys):
    body = client.get_json(path)
    spec_path = path.partition('?')[0]
    spec_path = '/health/{keys}' if spec_path.count('/') == 2 and spec_path not in (
        '/health/basic', '/health/fast', '/health/cached') else spec_path
    validate(reference_spec, spec_path, body)
    validate(client.get_json('/openapi'), spec_path, body)
    assert body.pop('up') is True
    assert set(body) == keys
    if 'progress' in keys:
        assert body['progress'] == {'up': True, 'unindexed_bundles': 0,
                                    'unindexed_documents': 0}


def test_health_bodies(client):
    # The original serializes health bodies with json.dumps' defaults, and
    # lists the checks in the order of their names
    reply = client.get('/health/basic')
    assert reply.body == b'{"up": true}'
    reply = client.get('/health/progress,elasticsearch')
    assert list(reply.json) == ['elasticsearch', 'progress', 'up']


@pytest.mark.parametrize('path', ['/health/queues,nope', '/health/nope?catalog=dcp'])
def test_health_unknown_key(client, path):
    # HealthController.custom_health of the original: 400, no `up`, no `Code`
    reply = client.get(path)
    assert reply.status == 400
    assert reply.body == b'{"Message": "Invalid health keys"}'


def test_health_cached_is_of_the_default_catalog_only(client):
    # HealthController.cached_health of the original: a NotFoundError whose
    # message is the tuple of its three arguments
    reply = client.get('/health/cached?catalog=other')
    assert reply.status == 404
    assert reply.json == {'Code': 'NotFoundError',
                          'Message': "('Health is only cached for default catalog', "
                                     "'other', 'dcp')"}


def test_health_reports_queues(client, app_module, tmp_path):
    # A runtime of its own, so that its queue is not the session's
    indexed = client.runtime
    config = make_config(indexed.config.index_backend, tmp_path, indexed.config.deployment)
    runtime = Runtime(config, indexed.backend)
    # Message bodies name their catalog, as the indexer writes them
    runtime.queue.send('notifications', [{'catalog': 'dcp', 'bundle': i} for i in range(3)])
    runtime.queue.send('notifications', [{'catalog': 'other', 'bundle': i} for i in range(2)])
    runtime.queue.send('tallies', [{'catalog': 'dcp', 'entity': i} for i in range(7)])
    own = ServiceClient(app_module.create_app(lambda: runtime), runtime)
    body = own.get_json('/health/queues,progress')
    assert body['progress'] == {'up': True, 'unindexed_bundles': 5, 'unindexed_documents': 7}
    assert body['queues']['tallies'] == {'up': True, 'queued': 7, 'failed': 0}
    assert body['queues']['notifications'] == {'up': True, 'queued': 5, 'failed': 0}
    # The progress of one catalog; the queues stay those of the deployment
    body = own.get_json('/health/queues,progress?catalog=dcp')
    assert body['progress'] == {'up': True, 'unindexed_bundles': 3, 'unindexed_documents': 7}
    assert body['queues']['notifications'] == {'up': True, 'queued': 5, 'failed': 0}
    assert own.get_json('/health/progress?catalog=other')['progress'] \
        == {'up': True, 'unindexed_bundles': 2, 'unindexed_documents': 0}
    # An unknown catalog is ignored, as the original ignores the parameter
    assert own.get_json('/health/progress?catalog=nope')['progress'] \
        == {'up': True, 'unindexed_bundles': 5, 'unindexed_documents': 7}


def test_openapi(client, reference_spec):
    spec = client.get_json('/openapi')
    validate_spec(spec)
    assert spec['servers'] == [{'url': 'http://azul.test/'}]
    served = {(path, method.upper()) for path, ops in spec['paths'].items() for method in ops}
    routed = {(path, method) for path, methods in client.app.routes.items()
              for method in methods if method != 'OPTIONS'}
    assert served == routed
    # Close to the reference: its parameters for the paths we serve
    for path, ops in spec['paths'].items():
        for method, op in ops.items():
            ours = {p['name'] for p in op.get('parameters', [])}
            reference = reference_spec['paths'].get(path, {})
            theirs = {p['name'] for p in reference.get(method, {}).get('parameters', [])}
            theirs |= {p['name'] for p in reference.get('parameters', [])}
            assert theirs - {'keys'} <= ours, (path, method)


def test_committed_openapi_is_current():
    committed = json.loads((ROOT / 'lambdas' / 'service' / 'openapi.json').read_text())
    generated = openapi.canonical_document()
    validate_spec(generated)
    assert committed == generated, ('lambdas/service/openapi.json is stale; regenerate it with '
                                    '`make openapi` (or `python -m azul.service.openapi > '
                                    'lambdas/service/openapi.json`)')


def test_swagger_ui(client):
    reply = client.get('/')
    assert reply.status == 200
    assert reply.header('Content-Type').startswith('text/html')
    assert b"url: 'openapi'" in reply.body


def _files(client, source=TDR_SOURCE):
    filters = {'sourceId': {'is': [source]}}
    hits = client.get_json('/index/files?' + query(size='100', filters=filters))['hits']
    return [f for hit in hits for f in hit['files']]


def test_file_redirect(client, reference_spec):
    files = [f for f in _files(client) if f['drs_uri']]
    assert files
    for file in files[:3]:
        url = urlsplit(file['url'])
        reply = client.get(f'{url.path}?{url.query}')
        assert reply.status == 302, reply.body
        location = reply.header('Location')
        object_id = file['drs_uri'].rsplit('/', 1)[1]
        assert location.startswith('https://') and location.endswith('/' + object_id)
        assert file['name'] in reply.header('Content-Disposition')
        fetched = client.get_json(f'/fetch{url.path}?{url.query}')
        validate(reference_spec, '/fetch/repository/files/{file_uuid}', fetched)
        assert fetched == {'Status': 302, 'Location': location}
        # Without a version, the newest is found
        assert client.get(url.path).header('Location') == location
        # The DSS spelling of the version names the same file version
        version = file['version']
        assert len(version) == 27 and version[13] == ':' and version[16] == ':'
        dss = version[:13] + version[14:16] + version[17:]
        reply = client.get(f'{url.path}?version={dss}')
        assert reply.status == 302 and reply.header('Location') == location


def test_file_errors(client):
    # Files whose bytes are nowhere (DSS-style, none in the fixtures) are a 404
    unresolvable = _files(client, SOURCE)
    assert unresolvable
    for file in unresolvable[:1]:
        url = urlsplit(file['url'])
        reply = client.get(f'{url.path}?{url.query}')
        assert reply.status == 404 and reply.json['Code'] == 'NotFoundError'
        assert file['uuid'] in reply.json['Message']
    file = [f for f in _files(client) if f['drs_uri']][0]
    version = '2000-01-01T00:00:00.000000Z'
    none = '00000000-0000-4000-8000-000000000000'
    # RepositoryController.download_file of the original
    for path, message in (
        (f'/repository/files/{file["uuid"]}?version={version}',
         f"Unable to find file '{file['uuid']}', version '{version}' in catalog 'dcp'"),
        (f'/repository/files/{none}', f"Unable to find file '{none}', version None in "
                                      f"catalog 'dcp'"),
        (f'/fetch/repository/files/{none}', f"Unable to find file '{none}', version None in "
                                            f"catalog 'dcp'"),
    ):
        reply = client.get(path)
        assert reply.status == 404, path
        assert reply.json == {'Code': 'NotFoundError', 'Message': message}


def test_unindexed_catalog_is_empty(client):
    # A configured catalog before its first reindex: nothing found, not an error
    body = client.get_json('/index/files?catalog=other')
    assert body['hits'] == [] and body['pagination']['total'] == 0
    summary = client.get_json('/index/summary?catalog=other')
    assert summary['fileCount'] == 0 and summary['fileTypeSummaries'] == []
    reply = client.get('/index/files/00000000-0000-4000-8000-000000000000?catalog=other')
    assert reply.status == 404


def test_repository_sources(client):
    config = client.runtime.config
    for catalog in config.catalogs:
        body = client.get_json(f'/repository/sources?catalog={catalog.name}')
        assert [s['sourceSpec'] for s in body['sources']] == list(catalog.sources)
        assert all(s['sourceId'] == s['sourceSpec'] for s in body['sources'])
    assert client.get_json('/repository/sources?catalog=nope', status=404)['Code'] \
        == 'NotFoundError'
