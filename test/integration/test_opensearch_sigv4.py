"""
Requests to AWS OpenSearch Service are signed (SigV4): the backend is pointed
at a loopback proxy in front of the real node that records each request's
headers and passes it on, so the signed requests must also work end to end.
"""
import http.server
import urllib.request
import uuid

import pytest
from backend_data import registry

from azul.backends import make_backend
from azul.config import Config
from azul.errors import ConfigError
from azul_testing import serving

KEY_ID = 'AKIDEXAMPLE'


class _Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(('127.0.0.1', 0), _Proxy)
        self.upstream = upstream
        self.seen: list[dict[str, str]] = []


class _Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _forward(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ('content-type', 'accept')}
        request = urllib.request.Request(self.server.upstream + self.path, data=body,
                                         method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
                content_type = response.headers.get('Content-Type', 'application/json')
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
            content_type = e.headers.get('Content-Type', 'application/json')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy(es_endpoint):
    with serving(_Recorder(es_endpoint.rstrip('/'))) as server:
        yield server


def _env(endpoint: str, **overrides) -> dict[str, str]:
    env = {
        'AZUL_DEPLOYMENT': 't' + uuid.uuid4().hex[:10],
        'AZUL_DATA_DIR': '/nonexistent',
        'AZUL_CATALOGS': '{"dcp": {"atlas": "hca", "internal": false, "plugins": '
                         '{"metadata": {"name": "hca"}, "repository": {"name": "canned"}}, '
                         '"sources": ["file:///nonexistent/*.json"]}}',
        'AZUL_INDEX_BACKEND': 'opensearch',
        'AZUL_DUCKDB_PATH': '/nonexistent/index.duckdb',
        'AZUL_ES_ENDPOINT': endpoint,
        'AZUL_ES_TIMEOUT': '30',
        'AZUL_INDEX_PREFIX': 'azul',
        'AZUL_HOST': '127.0.0.1',
        'AZUL_PORT': '8080',
        'AZUL_QUEUE': 'local',
        'AZUL_QUEUE_PATH': '/nonexistent/queue.sqlite',
        'AZUL_DEMO_BUNDLES': '1',
        'AZUL_AWS_REGION': 'us-west-2',
        'AZUL_LOG_LEVEL': 'INFO',
    }
    env.update(overrides)
    return env


def test_signed_requests_reach_the_cluster(proxy, monkeypatch):
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', KEY_ID)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
    monkeypatch.setenv('AWS_SESSION_TOKEN', 'session-token-of-the-lambda-role')
    url = f'http://127.0.0.1:{proxy.server_address[1]}'
    config = Config.from_env(_env(url, AZUL_ES_SIGV4='true'))
    backend = make_backend(config)
    try:
        backend.create_indices('dcp', ['files'], registry())
        assert backend.count('dcp', 'files') == 0
    finally:
        backend.drop_deployment()
        backend.close()
    assert proxy.seen
    for headers in proxy.seen:
        # The credential scope names the key, the configured region and the
        # `es` signing name of OpenSearch Service (AWS's documented format)
        authorization = headers['authorization']
        assert authorization.startswith(f'AWS4-HMAC-SHA256 Credential={KEY_ID}/')
        assert '/us-west-2/es/aws4_request, SignedHeaders=' in authorization
        assert 'x-amz-date' in headers
        assert headers['x-amz-security-token'] == 'session-token-of-the-lambda-role'


def test_unsigned_by_default_off_aws(proxy):
    url = f'http://127.0.0.1:{proxy.server_address[1]}'
    config = Config.from_env(_env(url))
    assert config.es_sigv4 is False
    backend = make_backend(config)
    try:
        backend.health()
    finally:
        backend.close()
    assert proxy.seen
    assert all('authorization' not in headers for headers in proxy.seen)


def test_signing_is_the_default_for_an_aws_domain():
    endpoint = 'https://search-azul-index-dev-abc123.us-west-2.es.amazonaws.com'
    assert Config.from_env(_env(endpoint)).es_sigv4 is True
    assert Config.from_env(_env(endpoint, AZUL_ES_SIGV4='false')).es_sigv4 is False


def test_password_and_signing_exclude_each_other():
    with pytest.raises(ConfigError, match='AZUL_ES_AUTH and AZUL_ES_SIGV4'):
        Config.from_env(_env('https://x.us-west-2.es.amazonaws.com', AZUL_ES_AUTH='u:p'))


def test_signing_without_credentials_fails_at_start(monkeypatch, tmp_path):
    for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
                 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'):
        monkeypatch.delenv(name, raising=False)
    # No shared files and no instance metadata: boto3 then finds nothing
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'none'))
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'none'))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    config = Config.from_env(_env('http://127.0.0.1:9', AZUL_ES_SIGV4='true'))
    with pytest.raises(ConfigError, match='needs AWS credentials'):
        make_backend(config)
