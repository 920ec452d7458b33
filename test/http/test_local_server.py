"""
The local server end to end over real HTTP: notifications posted to the
indexer routes become searchable through the service routes, via the durable
local queue, which survives a restart with work pending.
"""
import gc
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

    def start(worker=True, host='127.0.0.1') -> LocalServer:
        runtime = Runtime(cfg)
        runtimes.append(runtime)
        server = LocalServer(runtime, host, 0, worker=worker)
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
    # `$` of a regular expression matches before a trailing newline too
    (notification(uuid=BUNDLE['uuid'] + '\n'), 'add',
     "Invalid bundle_fqid.uuid 'eca05046-3dad-4e45-b86c-8720f33a5dde\\n'"),
    (notification(version=BUNDLE['version'] + '\n'), 'add',
     "Invalid bundle version '2019-03-17T220646.332108Z\\n'"),
    # Digits of another script, which \\d matches and int() takes
    (notification(version='\u0662019-03-17T220646.332108Z'), 'add',
     "Invalid bundle version '\u0662019-03-17T220646.332108Z'"),
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
        with Client(indexer.create_app(loopback=True)) as client:
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


def raw(url: str, method: str, path: str, body: bytes | None = None,
        **headers: str) -> tuple[int, dict, object]:
    """A request with exactly these headers (and Host, unless given)."""
    import http.client
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {k.replace('_', '-'): v for k, v in headers.items()}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                json.loads(payload) if payload else None)
    finally:
        connection.close()


BODY = json.dumps(notification()).encode()
EVIL = 'https://evil.example'


def test_unknown_catalog_is_named_over_http(setup):
    server = setup(worker=False)
    try:
        status, headers, body = raw(server.url, 'POST', '/nosuchcatalog/add', BODY,
                                    Content_Type='application/json')
        assert (status, body) == (404, {
            'Code': 'NotFoundError',
            'Message': "Catalog name 'nosuchcatalog' does not exist. Must be one of {'live'}."})
        assert server.runtime.queue.counts() == {}
    finally:
        server.stop()


def test_indexer_is_no_cors_resource(setup):
    server = setup(worker=False)
    try:
        # The pre-flight of a cross-origin delete is refused, without CORS headers
        for path in ('/live/delete', '/live/add', '/nosuchcatalog/delete'):
            status, headers, body = raw(server.url, 'OPTIONS', path, Origin=EVIL,
                                        Access_Control_Request_Method='POST',
                                        Access_Control_Request_Headers='content-type')
            assert status == 403
            assert not any(h.startswith('access-control-') for h in headers), headers
            assert body == {'Code': 'ForbiddenError',
                            'Message': 'Cross-origin requests to the indexer are not allowed '
                                       f'(CORS pre-flight of {path} refused)'}
        # Nor does any answer of the indexer allow another origin to read it
        status, headers, _ = raw(server.url, 'POST', '/live/add', BODY,
                                 Content_Type='application/json')
        assert status == 202
        assert 'access-control-allow-origin' not in headers
        status, headers, _ = raw(server.url, 'POST', '/live/add', b'{', Origin=EVIL,
                                 Content_Type='application/json')
        assert status == 403
        assert 'access-control-allow-origin' not in headers
        # The read-only service stays open to every origin (the portals)
        status, headers, _ = raw(server.url, 'GET', '/index/catalogs', Origin=EVIL)
        assert (status, headers['access-control-allow-origin']) == (200, '*')
        status, headers, _ = raw(server.url, 'OPTIONS', '/index/files', Origin=EVIL,
                                 Access_Control_Request_Method='POST')
        assert (status, headers['access-control-allow-origin']) == (200, '*')
    finally:
        server.stop()


FORM = 'multipart/form-data; boundary=x'


@pytest.mark.parametrize('headers, status, code, message', [
    # What a page of another origin can send without a pre-flight
    ({'Content-Type': 'text/plain', 'Origin': EVIL}, 403, 'ForbiddenError',
     "Cross-origin notification from 'https://evil.example' refused"),
    ({'Content-Type': 'application/x-www-form-urlencoded', 'Origin': 'null'}, 403,
     'ForbiddenError', "Cross-origin notification from 'null' refused"),
    # The same without an Origin (sent by a client that is not a browser)
    ({'Content-Type': 'text/plain'}, 415, 'UnsupportedMediaType',
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'text/plain'"),
    ({'Content-Type': 'application/x-www-form-urlencoded'}, 415, 'UnsupportedMediaType',
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'application/x-www-form-urlencoded'"),
    ({'Content-Type': FORM}, 415, 'UnsupportedMediaType',
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'multipart/form-data'"),
    # Simple to a browser (the type is text/plain), JSON to a naive check
    ({'Content-Type': 'text/plain; application/json'}, 415, 'UnsupportedMediaType',
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'text/plain'"),
    # fetch() of a Blob without a type sends no Content-Type at all
    ({}, 415, 'UnsupportedMediaType',
     "Unsigned notifications must be sent with Content-Type application/json, not 'none'"),
])
def test_simple_cross_site_posts_are_refused(setup, headers, status, code, message):
    server = setup(worker=False)
    try:
        reply_status, reply_headers, body = raw(server.url, 'POST', '/live/delete', BODY,
                                                **headers)
        assert reply_status == status, body
        assert body['Code'] == code
        assert message in body['Message'], body
        assert 'access-control-allow-origin' not in reply_headers
        assert server.runtime.queue.counts() == {}
    finally:
        server.stop()


@pytest.mark.parametrize('headers', [
    {'Content-Type': 'application/json'},
    {'Content-Type': 'Application/JSON; charset=utf-8', 'Host': 'localhost:8000'},
    {'Content-Type': 'application/json', 'Origin': 'http://127.0.0.1:8000'},
])
def test_unsigned_json_on_loopback_is_accepted(setup, headers):
    server = setup(worker=False)
    try:
        status, _, body = raw(server.url, 'POST', '/live/delete', BODY, **headers)
        assert status == 202, body
        assert server.runtime.queue.counts()['notifications']['queued'] == 1
    finally:
        server.stop()


def test_unsigned_notifications_are_refused_off_loopback(setup):
    # Bound to every interface: reachable from elsewhere, so no key, no notifications
    server = setup(worker=False, host='0.0.0.0')
    try:
        port = server.httpd.server_address[1]
        status, headers, body = raw(f'http://127.0.0.1:{port}', 'POST', '/live/add', BODY,
                                    Content_Type='application/json')
        assert (status, body) == (401, {
            'Code': 'UnauthorizedError',
            'Message': 'Unsigned notifications are accepted only by a local server bound to '
                       'a loopback address; set AZUL_INDEXER_HMAC_KEY and sign notifications '
                       '(see azul.indexer.signature)'})
        assert server.runtime.queue.counts() == {}
    finally:
        server.stop()


@pytest.mark.parametrize('headers, message', [
    # A page whose DNS name was rebound to 127.0.0.1 is same-origin to itself.
    # (The local server refuses hosts other than AZUL_ALLOWED_HOSTS before
    # the app sees them; the app refuses them on its own, too.)
    ({'Host': 'evil.example:8000', 'Origin': 'http://evil.example:8000'},
     "Cross-origin notification from 'http://evil.example:8000' refused: the indexer accepts "
     "unsigned notifications only from the local host"),
    ({'Host': 'evil.example:8000'},
     "Unsigned notification to host 'evil.example:8000' refused: it must be addressed to a "
     "loopback host name (127.0.0.1, localhost or [::1])"),
])
def test_rebound_host_names_are_refused(tmp_path, headers, message):
    from chalice.test import Client

    from azul.adapters.server import load_app
    indexer = load_app('indexer')
    runtime = Runtime(config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10], None))
    indexer.set_runtime(runtime)
    try:
        with Client(indexer.create_app(loopback=True)) as client:
            reply = client.http.post('/live/add', body=BODY, headers={
                'Content-Type': 'application/json', **headers})
        assert reply.status_code == 403
        assert json.loads(reply.body) == {'Code': 'ForbiddenError', 'Message': message}
        assert runtime.queue.counts() == {}
    finally:
        indexer.set_runtime(None)
        runtime.close()


def test_a_serving_process_leaves_its_startup_heap_out_of_the_collector(tmp_path):
    # `serve` and the demo start with freeze=True: what the process holds once
    # ready is frozen (skipped by the collector's passes) until the server stops
    gc.unfreeze()
    runtime = Runtime(config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10], None))
    server = LocalServer(runtime, '127.0.0.1', 0, worker=False)
    try:
        assert gc.get_freeze_count() == 0
        server.start(freeze=True)
        try:
            # The apps' modules at least: thousands of objects, checked loosely
            assert gc.get_freeze_count() > 10_000
            status, body = request(f'{server.url}/index/projects?catalog=live')
            assert status == 200, body
        finally:
            server.stop()
        assert gc.get_freeze_count() == 0
    finally:
        runtime.backend.drop_deployment()
        runtime.close()
        gc.unfreeze()


def test_a_server_started_without_freeze_leaves_the_collector_alone(setup):
    gc.unfreeze()
    server = setup(worker=False)
    try:
        assert gc.get_freeze_count() == 0
    finally:
        server.stop()
