"""
The local server end to end over real HTTP: notifications posted to the
indexer routes become searchable through the service routes, via the durable
local queue, which survives a restart with work pending.
"""
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from azul.adapters.server import LocalServer
from azul.config import Config
from azul.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = (ROOT.parent / 'shared' / 'fixtures').resolve()
SOURCE = f'file://{FIXTURES}/hca/bundles/cans/staging'
BUNDLE = {'uuid': 'eca05046-3dad-4e45-b86c-8720f33a5dde', 'version': '2019-03-17T220646.332108Z'}
# The project of that bundle, per its metadata
PROJECT = '5014cd10-bbed-4e85-bc45-6fe3a8a0079b'


def config(kind: str, data_dir: Path, deployment: str, es_endpoint: str | None) -> Config:
    catalog = {'atlas': 'hca', 'internal': False,
               'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
               'sources': [SOURCE]}
    return Config.from_env({
        'AZUL_DEPLOYMENT': deployment, 'AZUL_DATA_DIR': str(data_dir),
        'AZUL_CATALOGS': json.dumps({'live': catalog}),
        'AZUL_INDEX_BACKEND': kind, 'AZUL_DUCKDB_PATH': str(data_dir / 'index.duckdb'),
        'AZUL_ES_ENDPOINT': es_endpoint or '', 'AZUL_ES_TIMEOUT': '30',
        'AZUL_INDEX_PREFIX': 'azul', 'AZUL_HOST': '127.0.0.1', 'AZUL_PORT': '8000',
        'AZUL_QUEUE': 'local', 'AZUL_QUEUE_PATH': str(data_dir / 'queue.sqlite'),
        'AZUL_DEMO_BUNDLES': '1', 'AZUL_AWS_REGION': 'us-east-1', 'AZUL_LOG_LEVEL': 'INFO',
    })


def request(url: str, body=None, method=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b'null')
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b'null')


def notification(action='add', **overrides):
    fqid = {**BUNDLE, 'source': {'id': 'staging', 'spec': SOURCE}, **overrides}
    return {'bundle_fqid': fqid}


def poll(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError('timed out waiting for the indexer')


@pytest.fixture(params=['duckdb', 'opensearch'])
def setup(request, tmp_path):
    es = request.getfixturevalue('es_endpoint') if request.param == 'opensearch' else None
    cfg = config(request.param, tmp_path, 't' + uuid.uuid4().hex[:10], es)
    runtimes = []

    def start(worker=True) -> LocalServer:
        runtime = Runtime(cfg)
        runtimes.append(runtime)
        server = LocalServer(runtime, '127.0.0.1', 0, worker=worker)
        server.start()
        return server

    yield start
    runtimes[-1].backend.drop_deployment()
    for runtime in runtimes:
        runtime.close()


def _project_hits(url: str) -> list:
    status, body = request(f'{url}/index/projects?catalog=live')
    assert status == 200, body
    return [h for h in body['hits'] if h['entryId'] == PROJECT]


def test_a_posted_notification_becomes_searchable(setup):
    server = setup()
    try:
        status, body = request(f'{server.url}/live/add', notification())
        assert status == 202, body
        [hit] = poll(lambda: _project_hits(server.url))
        short_name = hit['projects'][0]['projectShortname']
        assert 'staging/10x/2019-03-17T22:00:54Z' in (short_name, *short_name)
        status, body = request(f'{server.url}/live/delete', notification())
        assert status == 202
        poll(lambda: not _project_hits(server.url))
    finally:
        server.stop()


def test_pending_work_survives_a_restart(setup):
    server = setup(worker=False)
    try:
        status, _ = request(f'{server.url}/live/add', notification())
        assert status == 202
        assert server.runtime.queue.counts()['notifications']['queued'] == 1
    finally:
        server.stop()
        server.runtime.queue.close()
    restarted = setup(worker=True)
    try:
        poll(lambda: _project_hits(restarted.url))
        poll(lambda: restarted.runtime.queue.counts() in ({}, {
            'notifications': {'queued': 0, 'failed': 0}}) or not any(
            c['queued'] for c in restarted.runtime.queue.counts().values()))
    finally:
        restarted.stop()


@pytest.mark.parametrize('body, action, message', [
    (notification(uuid='not-a-uuid'), 'add', "Invalid bundle_fqid.uuid 'not-a-uuid'"),
    (notification(version=''), 'add', '`bundle_fqid.version` must be a non-empty string'),
    (notification(version='yesterday'), 'add', "Invalid bundle version 'yesterday'"),
    (notification(source={'id': 'x', 'spec': 'file:///elsewhere'}), 'add',
     "Source 'file:///elsewhere' is not a source of catalog 'live'"),
    ({'bundle': {}}, 'add', "Unexpected properties in the request body: ['bundle']"),
    ({}, 'add', 'The request body lacks the object `bundle_fqid`'),
    (notification(), 'update', "Unknown action 'update'"),
])
def test_bad_notifications_are_rejected_with_a_message(setup, body, action, message):
    server = setup(worker=False)
    try:
        status, reply = request(f'{server.url}/live/{action}', body)
        assert status == 400
        assert reply['Code'] == 'BadRequestError'
        assert message in reply['Message']
        assert server.runtime.queue.counts() == {}
    finally:
        server.stop()


def test_concurrent_requests_get_their_own_answers(setup):
    # Chalice keeps the current request on the app object: without an app per
    # concurrent request, handlers would read each other's parameters
    import sys
    from concurrent.futures import ThreadPoolExecutor
    server = setup(worker=False)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        def ask(size: int) -> int:
            status, body = request(f'{server.url}/index/projects?catalog=live&size={size}')
            assert status == 200, body
            return body['pagination']['size']

        sizes = [1 + i % 50 for i in range(400)]
        with ThreadPoolExecutor(16) as pool:
            assert list(pool.map(ask, sizes)) == sizes
    finally:
        sys.setswitchinterval(interval)
        server.stop()


@pytest.mark.parametrize('catalog, status, body', [
    # The original's Catalog.validate_name, its message the tuple of the
    # RequirementError's arguments
    ('-', 400, {'Code': 'BadRequestError', 'Message': "('Catalog name is invalid', '-')"}),
    ('Live', 400, {'Code': 'BadRequestError', 'Message': "('Catalog name is invalid', 'Live')"}),
    # Well-formed but not configured: as on the service's routes
    ('nope', 404, {'Code': 'NotFoundError',
                   'Message': "Catalog name 'nope' does not exist. Must be one of {'live'}."}),
])
def test_indexer_refuses_bad_catalogs(tmp_path, catalog, status, body):
    from chalice.test import Client

    from azul.adapters.server import load_app
    indexer = load_app('indexer')
    runtime = Runtime(config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10], None))
    indexer.set_runtime(runtime)
    try:
        with Client(indexer.create_app()) as client:
            reply = client.http.post(f'/{catalog}/add', body=json.dumps(notification()),
                                     headers={'Content-Type': 'application/json'})
        assert reply.status_code == status
        # Compact, as Chalice serializes error bodies
        assert reply.body == json.dumps(body, separators=(',', ':')).encode()
        assert runtime.queue.counts() == {}
    finally:
        indexer.set_runtime(None)
        runtime.close()


@pytest.mark.parametrize('path, status, keys', [
    ('/health/basic?catalog=live', 200, set()),
    # The original's fast checks of its indexer
    ('/health/fast', 200, {'elasticsearch', 'queues', 'progress'}),
    ('/health/cached?bogus=1', 200, {'elasticsearch', 'queues', 'progress'}),
    ('/health/progress?catalog=live', 200, {'progress'}),
    ('/health', 200, {'elasticsearch', 'queues', 'progress', 'api_endpoints'}),
    ('/health/nope', 400, None),
])
def test_indexer_health(tmp_path, path, status, keys):
    # On Lambda the indexer is an API of its own, with the original's health routes
    from chalice.test import Client

    from azul.adapters.server import load_app
    from azul.indexer.index import Indexer
    indexer = load_app('indexer')
    runtime = Runtime(config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10], None))
    Indexer(runtime).create_indices('live')
    runtime.queue.send('notifications', [{'catalog': 'live'}] * 2)
    indexer.set_runtime(runtime)
    try:
        with Client(indexer.create_app()) as client:
            reply = client.http.get(path)
        assert reply.status_code == status, reply.body
        body = json.loads(reply.body)
        if keys is None:
            assert body == {'Message': 'Invalid health keys'}
        else:
            assert body.pop('up') is True
            assert set(body) == keys
            if 'progress' in keys:
                assert body['progress'] == {'up': True, 'unindexed_bundles': 2,
                                            'unindexed_documents': 0}
    finally:
        indexer.set_runtime(None)
        runtime.backend.drop_deployment()
        runtime.close()
