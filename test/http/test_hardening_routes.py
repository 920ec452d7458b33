"""
The local server over real HTTP, hardened (issue 12, items 7 to 9): unknown
paths, HEAD and other methods; errors in JSON, never HTML; the Host header
links are built from; Swagger UI's assets served locally; credentials in the
backend's URL masked on /health; slow clients disconnected and connections
bounded. On both backends, against the session's indexed catalog.
"""
import hashlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from azul.adapters.server import LocalServer
from azul.runtime import Runtime
from conftest import ServiceClient, make_config


@pytest.fixture
def server(indexed) -> Iterator[LocalServer]:
    server = LocalServer(indexed.runtime, '127.0.0.1', 0, worker=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def start(runtime: Runtime, **options) -> LocalServer:
    server = LocalServer(runtime, '127.0.0.1', 0, worker=False, **options)
    server.start()
    return server


def port(server: LocalServer) -> int:
    return server.httpd.server_address[1]


def call(server: LocalServer, method: str, path: str, body: bytes | None = None,
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection('127.0.0.1', port(server), timeout=30)
    try:
        connection.request(method, path, body=body,
                           headers={k.replace('_', '-'): v for k, v in headers.items()})
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        connection.close()


def exchange(server: LocalServer, data: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(('127.0.0.1', port(server)), timeout=30) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b''.join(chunks)


# Item 7: routes

@pytest.mark.parametrize('method, path, message', [
    ('GET', '/nosuch', 'Unknown path `/nosuch`'),
    ('GET', '/index', 'Unknown path `/index`'),
    ('GET', '/index/files/x/y?size=1', 'Unknown path `/index/files/x/y`'),
    ('DELETE', '/health/basic/more', 'Unknown path `/health/basic/more`'),
    # Once answered 403 "Missing Authentication Token"
    ('GET', '/dcp/add', 'Unknown path `/dcp/add`'),
])
def test_unknown_path_is_404_naming_it(server, method, path, message):
    status, headers, body = call(server, method, path)
    assert status == 404
    assert headers['content-type'] == 'application/json'
    assert json.loads(body) == {'Code': 'NotFoundError', 'Message': message}


@pytest.mark.parametrize('path', ['/health/basic', '/index/catalogs', '/version', '/',
                                  '/index/summary', '/index/files?size=3'])
def test_head_answers_like_get_without_body(server, path):
    status, headers, body = call(server, 'GET', path)
    assert status == 200 and body
    head_status, head_headers, head_body = call(server, 'HEAD', path)
    assert head_status == 200
    assert head_body == b''
    assert head_headers['content-type'] == headers['content-type']
    assert head_headers['content-length'] == str(len(body))


@pytest.mark.parametrize('method, path, allow', [
    ('TRACE', '/health', 'GET, HEAD, OPTIONS'),
    ('TRACE', '/index/catalogs', 'GET, HEAD, OPTIONS'),
    ('PUT', '/index/files', 'GET, HEAD, OPTIONS, POST'),
    ('DELETE', '/index/summary', 'GET, HEAD, OPTIONS'),
    ('PROPFIND', '/', 'GET, HEAD, OPTIONS'),
    ('POST', '/version', 'GET, HEAD, OPTIONS'),
])
def test_other_methods_are_405_json(server, method, path, allow):
    status, headers, body = call(server, method, path)
    assert status == 405
    assert headers['content-type'] == 'application/json'
    assert headers['allow'] == allow
    assert json.loads(body) == {'Code': 'MethodNotAllowedError',
                                'Message': f'Unsupported method: {method}'}


def test_what_http_server_refuses_is_json(server):
    # Once HTML pages of http.server, one without even a status line
    reply = exchange(server, b'GET / HTTP/1.1 x\r\nHost: 127.0.0.1\r\n\r\n')
    head, _, body = reply.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 400 ')
    assert b'Content-Type: application/json' in head
    assert json.loads(body) == {'Code': 'BadRequestError',
                                'Message': "Bad request version ('x')"}
    reply = exchange(server, b'GET /' + b'a' * 70_000 + b' HTTP/1.1\r\n\r\n')
    head, _, body = reply.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 414 ')
    assert json.loads(body) == {'Code': 'RequestURITooLongError',
                                'Message': 'Request-URI Too Long'}


# Item 8: links from the Host header, Swagger UI, credentials

def test_links_only_for_allowed_hosts(server):
    path = '/index/projects?size=1'
    status, _, body = call(server, 'GET', path, Host='evil.example')
    assert status == 400
    assert json.loads(body) == {
        'Code': 'BadRequestError',
        'Message': 'Host `evil.example` is not an allowed host (see AZUL_ALLOWED_HOSTS)'}
    # With a port, or userinfo smuggled into the port
    for host in ('evil.example:8000', 'localhost:@evil.example', 'localhost:80/x'):
        status, _, body = call(server, 'GET', path, Host=host)
        assert status == 400, host
        assert json.loads(body)['Message'].startswith(f'Host `{host}` is ')
    # The server's own names
    for host in (f'localhost:{port(server)}', f'127.0.0.1:{port(server)}', 'LOCALHOST'):
        status, _, body = call(server, 'GET', path, Host=host)
        assert status == 200, host
        link = json.loads(body)['pagination']['next']
        assert link.startswith(f'http://{host}/index/projects?'), link


def test_allowed_hosts_setting(server):
    # As AZUL_ALLOWED_HOSTS=azul.example,[::1] makes it (see test_masking.py)
    server.httpd.RequestHandlerClass.allowed_hosts = frozenset({'azul.example', '::1'})
    status, _, body = call(server, 'GET', '/index/projects?size=1', Host='azul.example')
    assert status == 200
    assert json.loads(body)['pagination']['next'].startswith('http://azul.example/')
    assert call(server, 'GET', '/version', Host='localhost')[0] == 400
    assert call(server, 'GET', '/version', Host='[::1]:8000')[0] == 200
    server.httpd.RequestHandlerClass.allowed_hosts = None
    assert call(server, 'GET', '/version', Host='anything.example')[0] == 200
    # Malformed is malformed, whatever is allowed
    assert call(server, 'GET', '/version', Host='a@b')[0] == 400


def test_swagger_ui_loads_nothing_from_elsewhere(server):
    status, headers, page = call(server, 'GET', '/')
    assert status == 200 and headers['content-type'] == 'text/html; charset=utf-8'
    assert b'<script src="static/swagger-ui-bundle.js"></script>' in page
    assert b'<link rel="stylesheet" href="static/swagger-ui.css">' in page
    assert b'http:' not in page and b'https:' not in page and b'//' not in page
    status, headers, script = call(server, 'GET', '/static/swagger-ui-bundle.js')
    assert status == 200
    assert headers['content-type'] == 'application/javascript; charset=utf-8'
    # The file of swagger-ui-bundle 1.1.0 (Swagger UI 4.15.5), as its wheel's RECORD lists it
    assert len(script) == 1061579
    assert hashlib.sha256(script).hexdigest() == \
        'fd76294e33356ab3fd111ddaeeb10d3f79de8ae1a4d34dbf777f5eef224648d9'
    status, headers, css = call(server, 'GET', '/static/swagger-ui.css')
    assert (status, headers['content-type'], len(css)) == (200, 'text/css; charset=utf-8',
                                                            144966)
    status, _, body = call(server, 'GET', '/static/swagger-initializer.js')
    assert (status, json.loads(body)) == (404, {
        'Code': 'NotFoundError', 'Message': "No such file: 'swagger-initializer.js'"})


def test_health_masks_credentials_of_the_cluster(app_module, es_endpoint, tmp_path,
                                                 monkeypatch):
    # The test node has no security plugin: it ignores the credentials
    scheme, _, rest = es_endpoint.partition('://')
    monkeypatch.setenv('AZUL_ES_ENDPOINT', f'{scheme}://admin:hunter2@{rest}')
    runtime = Runtime(make_config('opensearch', tmp_path, 'tmask'))
    try:
        client = ServiceClient(app_module.create_app(lambda: runtime), runtime)
        reply = client.get('/health/elasticsearch')
        assert reply.status == 200, reply.body
        assert b'hunter2' not in reply.body and b'admin' not in reply.body
        assert reply.json['elasticsearch']['endpoint'] == f'{scheme}://********@{rest}'
    finally:
        runtime.close()


# Item 9: slow clients

def test_half_sent_requests_are_closed_after_the_read_timeout(indexed):
    server = start(indexed.runtime, read_timeout=1, max_connections=8)
    try:
        stalled = []
        for data in (b'GET /index/catalogs HTTP/1.1\r\nHost: 127.0.0.1\r\n',
                     b'POST /index/files HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                     b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"si'):
            s = socket.create_connection(('127.0.0.1', port(server)), timeout=30)
            s.sendall(data)
            stalled.append(s)
        start_time = time.monotonic()
        # Meanwhile, others are served
        assert call(server, 'GET', '/health/basic')[0] == 200
        assert call(server, 'GET', '/index/projects?size=1')[0] == 200
        for s in stalled:
            # Closed by the server without an answer (without the timeout:
            # the client's own 30 s timeout raises here)
            assert s.recv(1024) == b''
            s.close()
        assert time.monotonic() - start_time < 10
    finally:
        server.stop()


def test_connections_beyond_the_limit_are_refused(indexed):
    server = start(indexed.runtime, read_timeout=30, max_connections=2)
    idle = [socket.create_connection(('127.0.0.1', port(server)), timeout=30)
            for _ in range(2)]
    try:
        # Both slots are held by connections that send nothing
        time.sleep(0.2)
        status, headers, body = call(server, 'GET', '/health/basic')
        assert (status, headers['retry-after']) == (503, '1')
        assert json.loads(body) == {'Code': 'ServiceUnavailableError',
                                    'Message': 'Too many connections; try again later'}
        for s in idle:
            s.close()
        # A closed connection frees its slot
        deadline = time.monotonic() + 10
        while call(server, 'GET', '/health/basic')[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        for s in idle:
            s.close()
        server.stop()


def test_many_stalled_clients_hold_no_threads_forever(indexed):
    server = start(indexed.runtime, read_timeout=1, max_connections=16)
    before = threading.active_count()
    sockets = [socket.create_connection(('127.0.0.1', port(server)), timeout=30)
               for _ in range(12)]
    try:
        for s in sockets:
            s.sendall(b'GET /version HTTP/1.1\r\n')
        time.sleep(0.3)
        assert threading.active_count() >= before + 12
        for s in sockets:
            assert s.recv(1024) == b''
        deadline = time.monotonic() + 10
        while threading.active_count() > before:
            assert time.monotonic() < deadline, threading.active_count()
            time.sleep(0.05)
        assert call(server, 'GET', '/version')[0] == 200
    finally:
        for s in sockets:
            s.close()
        server.stop()


def test_apps_answer_head_on_get_routes(client):
    # The app itself (on Lambda, API Gateway leaves the body out)
    for path in ('/health/basic', '/index/catalogs', '/version', '/openapi', '/'):
        assert client.request('HEAD', path).status == 200, path
    spec = client.get_json('/openapi')
    # Every GET answers HEAD; the manifest PUTs are the only paths without a GET
    assert sorted(path for path, ops in spec['paths'].items() if 'head' not in ops) == [
        '/fetch/manifest/files', '/manifest/files']
    assert all('head' in ops for ops in spec['paths'].values() if 'get' in ops)
    assert spec['paths']['/health']['head']['responses']['200'] == {
        'description': 'Every check passed. Keys: `api_endpoints`, `elasticsearch`, '
                       '`progress`, `queues`.'}
