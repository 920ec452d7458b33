"""
The manifest preparation protocol over real HTTP against the local server,
as the Data Browser and curl go through it: PUT, 301s with Retry-After while
a job runs, a 302 to the finished manifest, whose link serves its bytes; the
/fetch variants as JSON; the signed key of curl manifests; 410, 400 and 503.
Expected statuses, headers and messages are the original's (its
manifest_controller and test/service/test_manifest.py), read off its source.
"""
import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import attrs
import pytest

from azul.adapters.server import LocalServer
from azul.backends.opensearch.backend import OpenSearchBackend
from azul.indexer.index import Indexer
from azul.manifests.keys import Token
from azul.runtime import Runtime
from conftest import CATALOG, SOURCES, make_config

# A project of the fixture catalog with a handful of files (its bundle
# aaa96233's project, per the bundle's project document)
PROJECT_FILTER = {'projectId': {'is': ['e8642221-4c2c-4fd7-b926-a68bce363c88']}}


@attrs.frozen
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Http:
    """Requests without following redirects, as the protocol is about them."""

    def __init__(self, url: str):
        self.host, self.port = urlsplit(url).hostname, urlsplit(url).port

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> Reply:
        if path.startswith('http'):
            parts = urlsplit(path)
            path = parts.path + ('?' + parts.query if parts.query else '')
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         response.read())
        finally:
            connection.close()


def manifest_path(fetch: bool = False, **params) -> str:
    query = '&'.join(f'{k}={quote(v if isinstance(v, str) else json.dumps(v))}'
                     for k, v in params.items())
    return ('/fetch' if fetch else '') + '/manifest/files' + ('?' + query if query else '')


@pytest.fixture(scope='module')
def server(indexed) -> Iterator[Http]:
    instance = LocalServer(indexed.runtime, '127.0.0.1', 0, worker=False)
    instance.start()
    try:
        yield Http(instance.url)
    finally:
        instance.stop()


def until_done(http: Http, reply: Reply, fetch: bool) -> tuple[Reply, list[int]]:
    """Follow 301s, honouring Retry-After; the final reply and the waits."""
    waits = []
    for _ in range(30):
        status = reply.json['Status'] if fetch else reply.status
        if status != 301:
            return reply, waits
        location = reply.json['Location'] if fetch else reply.headers['location']
        wait = int(reply.json['Retry-After'] if fetch else reply.headers['retry-after'])
        waits.append(wait)
        time.sleep(min(wait, 0.2))
        reply = http.request('GET', location)
    raise AssertionError('The manifest was never ready')


def test_redirect_protocol(server):
    put = server.request('PUT', manifest_path(catalog=CATALOG, format='compact',
                                              filters=PROJECT_FILTER))
    assert put.status in (301, 302), put.body
    if put.status == 301:
        assert put.headers['location'].startswith('http://127.0.0.1:')
        assert '/manifest/files/' in put.headers['location']
        assert put.headers['retry-after'] == '1'
        assert put.body == b''
    done, waits = until_done(server, put, fetch=False)
    assert done.status == 302, done.body
    # The 302's body tells how to download with curl, per shell
    assert done.headers['content-type'] == 'text/plain'
    text = done.body.decode()
    assert '\nDownload the manifest in bash with `curl` using:\n\ncurl ' in text
    assert '\nDownload the manifest in cmd.exe with `curl` using:\n\ncurl.exe ' in text
    manifest = server.request('GET', done.headers['location'])
    assert manifest.status == 200
    assert manifest.headers['content-type'] == 'text/tab-separated-values'
    disposition = manifest.headers['content-disposition']
    assert disposition.startswith("attachment; filename*=UTF-8''")
    assert disposition.endswith('.tsv')
    lines = manifest.body.decode().splitlines()
    assert lines[0].split('\t')[:3] == ['source_id', 'source_spec', 'bundle_uuid']
    assert len(lines) > 1
    # Prepared once: the same request now redirects to it right away
    again = server.request('PUT', manifest_path(catalog=CATALOG, format='compact',
                                                filters=PROJECT_FILTER))
    assert again.status == 302
    assert again.headers['location'].split('?')[0] == done.headers['location'].split('?')[0]


def test_fetch_protocol_and_parameters_in_the_body(server):
    filters = {'fileFormat': {'is': ['fastq.gz']}}
    body = json.dumps({'catalog': CATALOG, 'format': 'compact',
                       'filters': json.dumps(filters)}).encode()
    put = server.request('PUT', manifest_path(fetch=True), body=body,
                         headers={'Content-Type': 'application/json'})
    assert put.status == 200
    assert put.json['Status'] in (301, 302)
    done, _ = until_done(server, put, fetch=True)
    assert set(done.json) == {'Status', 'Location', 'CommandLine'}
    assert set(done.json['CommandLine']) == {'cmd.exe', 'bash'}
    # The same parameters in the query string name the same manifest
    query = server.request('PUT', manifest_path(fetch=True, catalog=CATALOG, format='compact',
                                                filters=filters))
    assert query.json['Status'] == 302
    assert query.json['Location'].split('?')[0] == done.json['Location'].split('?')[0]


def test_curl_manifest_by_signed_key(server):
    put = server.request('PUT', manifest_path(fetch=True, catalog=CATALOG, format='curl',
                                              filters=PROJECT_FILTER))
    done, _ = until_done(server, put, fetch=True)
    location = done.json['Location']
    # Not the expiring storage link but the key of the manifest, at the
    # non-fetch endpoint, so that the command line keeps working
    assert '/fetch/' not in location and '/manifest/files/' in location
    bash = done.json['CommandLine']['bash']
    assert bash.startswith(f'curl --location --fail {location} | curl ')
    assert bash.endswith('--config -')
    by_key = server.request('GET', location)
    assert by_key.status == 302
    config = server.request('GET', by_key.headers['location'])
    assert config.status == 200
    assert b'--create-dirs' in config.body
    key = urlsplit(location).path.rsplit('/', 1)[1]
    refused = server.request('GET', f'/fetch/manifest/files/{key}')
    assert refused.status == 400
    assert refused.json['Message'] == 'The fetch endpoint does not support a manifest key'


def test_bad_tokens_and_parameters(server):
    def error(method, path):
        reply = server.request(method, path)
        return reply.status, reply.json['Message']

    assert error('GET', '/manifest/files/nonsense') == (400, 'Invalid token')
    assert error('GET', '/fetch/manifest/files/nonsense') == (400, 'Invalid token')
    unknown_job = Token(str(uuid.uuid5(uuid.NAMESPACE_URL, 'never started'))).encode()
    status, message = error('GET', f'/manifest/files/{unknown_job}')
    assert status == 410 and 'expired' in message
    status, message = error('PUT', manifest_path(catalog=CATALOG, format='tsv'))
    assert status == 400
    assert message.startswith('Unknown manifest format `tsv`. Must be one of {')
    status, message = error('PUT', manifest_path(catalog=CATALOG,
                                                 filters={'noSuchField': {'is': ['x']}}))
    assert status == 400 and 'noSuchField' in message
    status, message = error('PUT', manifest_path(catalog=CATALOG) + '&filters=%7B')
    assert (status, message) == (400, "The 'filters' parameter is not valid JSON")
    status, message = error('PUT', manifest_path(catalog=CATALOG, size='1'))
    assert (status, message) == (400, 'Unknown query parameter `size`')
    status, _ = error('PUT', manifest_path(catalog='nosuchcatalog'))
    assert status in (400, 404)


def test_preflight_allows_the_portal(server):
    reply = server.request('OPTIONS', '/fetch/manifest/files',
                           headers={'Origin': 'https://data.humancellatlas.org',
                                    'Access-Control-Request-Method': 'PUT'})
    assert reply.status == 200
    assert 'PUT' in reply.headers['access-control-allow-methods']
    assert reply.headers['access-control-allow-origin'] == '*'


def test_bad_links_are_refused(server):
    put = server.request('PUT', manifest_path(catalog=CATALOG, format='compact',
                                              filters=PROJECT_FILTER))
    done, _ = until_done(server, put, fetch=False)
    location = done.headers['location']
    assert server.request('GET', location.replace('signature=', 'signature=0')).status == 403
    assert server.request('GET', location.replace('.tsv?', '.zip?')).status == 403
    # Without expiry and signature: incomplete, not forged
    assert server.request('GET', location.split('?')[0]).status == 400


@pytest.fixture
def fresh(tmp_path) -> Iterator[Runtime]:
    """A DuckDB catalog of its own, which the tests below change."""
    runtime = Runtime(make_config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10]))
    try:
        yield runtime
    finally:
        runtime.close()


def _index(runtime: Runtime, source: str, count: int | None = None, deleted=False) -> None:
    indexer = Indexer(runtime)
    indexer.create_indices(CATALOG)
    bundles = runtime.repository_plugin(CATALOG).list_bundles(source).bundles
    indexer.index_bundles(CATALOG, source, bundles[:count], deleted=deleted)


def test_new_content_makes_a_new_manifest(fresh):
    _index(fresh, SOURCES[1])
    server = LocalServer(fresh, '127.0.0.1', 0, worker=False)
    server.start()
    try:
        http = Http(server.url)
        path = manifest_path(catalog=CATALOG, format='compact')
        first, _ = until_done(http, http.request('PUT', path), fetch=False)
        assert first.status == 302
        assert http.request('PUT', path).status == 302
        _index(fresh, SOURCES[0], count=1)
        # The catalog changed: the cached manifest is not served any more
        changed = http.request('PUT', path)
        assert changed.status == 301
        second, _ = until_done(http, changed, fetch=False)
        assert second.headers['location'].split('?')[0] != first.headers['location'].split('?')[0]
        rows = http.request('GET', second.headers['location']).body.decode().splitlines()
        old_rows = http.request('GET', first.headers['location']).body.decode().splitlines()
        assert len(rows) > len(old_rows)
    finally:
        server.stop()


def test_failed_job_answers_503_and_leaves_nothing(fresh):
    _index(fresh, SOURCES[1])
    jobs = fresh.manifests
    # Occupy the only worker, so that the job waits while the backend goes away
    release = threading.Event()
    jobs._executor.submit(release.wait)
    server = LocalServer(fresh, '127.0.0.1', 0, worker=False)
    server.start()
    try:
        http = Http(server.url)
        path = manifest_path(catalog=CATALOG, format='compact')
        put = http.request('PUT', path)
        assert put.status == 301
        fresh.backend.close()
        release.set()
        deadline = time.monotonic() + 30
        while True:
            reply = http.request('GET', put.headers['location'])
            if reply.status != 301 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert reply.status == 503, reply.body
        assert reply.json['Message'].startswith('Failed to generate manifest')
        manifests = Path(fresh.config.manifest_dir) / 'manifests'
        assert not manifests.exists() or not any(manifests.iterdir())
    finally:
        server.stop()


def test_backend_down_is_a_503(tmp_path):
    config = make_config('opensearch', tmp_path, 't' + uuid.uuid4().hex[:10],
                         extra_env={'AZUL_ES_ENDPOINT': 'http://127.0.0.1:9'})
    runtime = Runtime(config, backend=OpenSearchBackend('http://127.0.0.1:9', 'azul', 'x',
                                                        timeout=2))
    server = LocalServer(runtime, '127.0.0.1', 0, worker=False)
    # Not started through `start`: it would create indices on the dead node
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        reply = Http(server.url).request('PUT', manifest_path(catalog=CATALOG))
        assert reply.status == 503
        assert reply.json['Code'] == 'ServiceUnavailableError'
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
