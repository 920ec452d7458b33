"""
`GoogleVerifier` against a stand-in for Google's tokeninfo endpoint and
Terra's SAM: one small HTTP server on 127.0.0.1, on an ephemeral port.
"""
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from azul.auth.identity import GoogleVerifier, Identity
from azul.errors import ServiceUnavailableError, UnauthorizedError

# Token → the email tokeninfo reports for it
EMAILS = {
    'alice-token': 'alice@example.org',
    'carol-token': 'carol@example.org',
    'sam-garbage-token': 'dave@example.org',
    'sam-down-token': 'erin@example.org',
}
# Token → the groups SAM lists for it; carol is not registered with SAM
GROUPS = {
    'alice-token': [
        {'groupName': 'g1', 'groupEmail': 'g1@firecloud.org', 'role': 'member'},
    ],
}


class StandIn(BaseHTTPRequestHandler):
    """Google's tokeninfo and Terra's SAM, as far as the verifier uses them."""

    #: What a test wants tokeninfo to answer instead, if anything: (status, body)
    tokeninfo_override: tuple[int, bytes] | None = None
    #: Every request: (path, query, Authorization header)
    requests: list[tuple[str, dict, str | None]] = []

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, body: bytes | object,
              content_type: str = 'application/json') -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        authorization = self.headers.get('Authorization')
        type(self).requests.append((url.path, query, authorization))
        if url.path == '/tokeninfo':
            self._tokeninfo(query)
        elif url.path == '/sam/api/groups/v1':
            self._sam(authorization)
        else:
            self._send(404, {'error': 'not found'})

    def _tokeninfo(self, query: dict) -> None:
        if self.tokeninfo_override is not None:
            status, body = self.tokeninfo_override
            self._send(status, body, 'text/plain')
            return
        [token] = query.get('access_token', [None])
        if token == 'slow-token':
            # Longer than the verifier waits; then no answer at all
            time.sleep(1)
            return
        email = EMAILS.get(token)
        if email is None:
            self._send(400, {'error': 'invalid_token'})
        else:
            self._send(200, {'azp': 'client', 'aud': 'client', 'sub': '1234',
                             'scope': 'openid email', 'exp': '1798761600',
                             'expires_in': '3599', 'email': email,
                             'email_verified': 'true', 'access_type': 'online'})

    def _sam(self, authorization: str | None) -> None:
        prefix = 'Bearer '
        token = (authorization[len(prefix):]
                 if authorization and authorization.startswith(prefix) else None)
        if token == 'sam-garbage-token':
            self._send(200, b'<html>Service Temporarily Unavailable</html>', 'text/html')
        elif token == 'sam-down-token':
            self._send(503, {'message': 'down'})
        elif token in GROUPS:
            self._send(200, GROUPS[token])
        elif token in EMAILS:
            self._send(404, {'message': 'Google Id not found', 'statusCode': 404})
        else:
            self._send(401, {'message': 'Unauthorized', 'statusCode': 401})


@pytest.fixture
def server() -> Iterator[str]:
    StandIn.tokeninfo_override = None
    StandIn.requests = []
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), StandIn)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = httpd.server_address[:2]
        yield f'http://{host}:{port}'
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
        StandIn.tokeninfo_override = None


class Clock:

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _verifier(base: str, clock=None) -> GoogleVerifier:
    return GoogleVerifier(tokeninfo_url=base + '/tokeninfo', sam_url=base + '/sam/',
                          timeout=5, clock=clock or Clock(1_000_000.0))


def test_valid_token(server):
    clock = Clock(1_000_000.0)
    identity = _verifier(server, clock).verify('alice-token')
    assert identity == Identity(subject='alice@example.org', groups=frozenset({'g1'}),
                                expires=1_000_000.0 + 3599)
    # The token went to tokeninfo as a parameter and to SAM as a bearer token
    assert StandIn.requests == [
        ('/tokeninfo', {'access_token': ['alice-token']}, None),
        ('/sam/api/groups/v1', {}, 'Bearer alice-token'),
    ]


def test_expiry_follows_the_clock(server):
    verifier = _verifier(server, Clock(50.0))
    assert verifier.verify('alice-token').expires == 50.0 + 3599


def test_invalid_token(server):
    with pytest.raises(UnauthorizedError):
        _verifier(server).verify('mallory-token')
    # SAM is not asked about a token tokeninfo refuses
    assert [path for path, _, _ in StandIn.requests] == ['/tokeninfo']


def test_unregistered_user_has_no_groups(server):
    identity = _verifier(server).verify('carol-token')
    assert identity.subject == 'carol@example.org'
    assert identity.groups == frozenset()


@pytest.mark.parametrize('status', [500, 502, 503, 429])
def test_tokeninfo_failure(server, status):
    StandIn.tokeninfo_override = (status, b'oops')
    with pytest.raises(ServiceUnavailableError):
        _verifier(server).verify('alice-token')


def test_tokeninfo_not_json(server):
    StandIn.tokeninfo_override = (200, b'<html>hello</html>')
    with pytest.raises(ServiceUnavailableError):
        _verifier(server).verify('alice-token')


def test_tokeninfo_expired(server):
    # A token with no time left is refused
    StandIn.tokeninfo_override = (200, json.dumps({'email': 'alice@example.org',
                                                   'expires_in': '0'}).encode())
    with pytest.raises(UnauthorizedError):
        _verifier(server).verify('alice-token')


def test_tokeninfo_too_slow(server):
    verifier = GoogleVerifier(tokeninfo_url=server + '/tokeninfo', sam_url=server + '/sam',
                              timeout=0.2)
    start = time.monotonic()
    with pytest.raises(ServiceUnavailableError):
        verifier.verify('slow-token')
    # It gave up waiting, rather than seeing the server hang up after a second
    assert time.monotonic() - start < 0.8


def test_server_down():
    # A port nothing listens on: bound, then closed
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with pytest.raises(ServiceUnavailableError):
        _verifier(f'http://127.0.0.1:{port}').verify('alice-token')


def test_sam_not_json(server):
    with pytest.raises(ServiceUnavailableError):
        _verifier(server).verify('sam-garbage-token')


def test_sam_failure(server):
    with pytest.raises(ServiceUnavailableError):
        _verifier(server).verify('sam-down-token')
