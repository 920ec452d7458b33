"""
Limits on one request over HTTP, on both backends: each violation is a 400
naming the limit, and the inputs that used to fail with a 500 (deep JSON,
numbers beyond a long on OpenSearch, more ranges than its clause limit) are
answered properly.
"""
import json
import urllib.request
import uuid
from urllib.parse import quote

import pytest

from azul.adapters.server import LocalServer
from azul.runtime import Runtime
from conftest import ServiceClient

DEEP = '[' * 100_000 + ']' * 100_000
SEARCH = '/index/files'


def _refused(reply, message: str) -> None:
    assert reply.status == 400, (reply.status, reply.body[:500])
    assert reply.json == {'Code': 'BadRequestError', 'Message': message}


def _filters(filters) -> str:
    return quote(json.dumps(filters) if not isinstance(filters, str) else filters)


@pytest.mark.parametrize('path', ['/index/files', '/index/summary',
                                  '/index/projects/8185730f-4113-40d3-9cc3-929271784c2b'])
def test_deep_filters_parameter(client: ServiceClient, path):
    # Failed with a RecursionError (500) in the JSON parser
    _refused(client.get(f'{path}?filters={quote(DEEP)}'),
             "The 'filters' parameter is nested too deeply: 100000 levels, more than the "
             "limit of 32 levels (setting AZUL_MAX_JSON_DEPTH)")


def test_deep_cursor(client: ServiceClient):
    _refused(client.get(f'{SEARCH}?search_after={quote(DEEP)}'),
             "The 'search_after' parameter is nested too deeply: 100000 levels, more than "
             "the limit of 32 levels (setting AZUL_MAX_JSON_DEPTH)")


def test_deep_body(client: ServiceClient):
    body = '{"filters": ' + '[' * 50_000 + ']' * 50_000 + '}'
    _refused(client.post(SEARCH, body=body, headers={'Content-Type': 'application/json'}),
             'The request body is nested too deeply: 50001 levels, more than the limit of '
             '32 levels (setting AZUL_MAX_JSON_DEPTH)')


def test_large_body(client: ServiceClient):
    body = json.dumps({'filters': {'fileName': {'is': ['x' * 3000] * 90}}})
    _refused(client.post(SEARCH, body=body, headers={'Content-Type': 'application/json'}),
             f'The request body is too large: {len(body)} bytes, more than the limit of '
             f'262144 bytes (setting AZUL_MAX_BODY_SIZE)')


def _ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i)) for i in range(n)]


TOO_MANY = [
    ({'fileId': {'is': _ids(101)}},
     'Too many values in the `is` filter of field `fileId`: 101, more than the limit of 100 '
     '(setting AZUL_MAX_FILTER_TERMS)'),
    ({'fileSize': {'within': [[0, 10 ** 12]] * 10}, 'organismAgeRange': {'within': [[0, 1]] * 7}},
     'Too many ranges in the `filters` parameter, all fields together: 17, more than the '
     'limit of 16 (setting AZUL_MAX_FILTER_RANGES)'),
    # More than OpenSearch's clause limit of 1024 (a 500 there)
    ({'fileSize': {'within': [[i, 10 ** 12] for i in range(1100)]}},
     'Too many ranges in the `filters` parameter, all fields together: 1100, more than the '
     'limit of 16 (setting AZUL_MAX_FILTER_RANGES)'),
    # 20,000 cost DuckDB 11 s of CPU (and a body of that size is too large)
    ({'fileId': {'is': _ids(5000)}},
     'Too many values in the `is` filter of field `fileId`: 5000, more than the limit of '
     '100 (setting AZUL_MAX_FILTER_TERMS)'),
    ({'fileId': {'is': _ids(100)}, 'projectId': {'is': _ids(100)},
      'sampleId': {'is': _ids(57)}},
     'Too many values in the `filters` parameter, all fields together: 257, more than the '
     'limit of 256 (setting AZUL_MAX_FILTER_VALUES)'),
]


@pytest.mark.parametrize('filters, message', TOO_MANY)
def test_too_many_values(client: ServiceClient, filters, message):
    _refused(client.post(SEARCH, body={'filters': filters}), message)
    _refused(client.get(f'/index/summary?filters={_filters(filters)}'), message)


def test_at_the_limits(client: ServiceClient):
    filters = {'fileId': {'is': _ids(99) + [None]}, 'projectId': {'is': _ids(100)},
               'sampleId': {'is': _ids(40)},
               'fileSize': {'within': [[i, 10 ** 15] for i in range(8)]},
               'organismAgeRange': {'intersects': [[0, 10 ** 10]] * 8}}
    reply = client.post(SEARCH, body={'filters': filters})
    assert reply.status == 200, reply.body[:500]
    assert reply.json['hits'] == []
    reply = client.get(f'/index/summary?filters={_filters(filters)}')
    assert reply.status == 200, reply.body[:500]


def _total(client: ServiceClient, filters) -> int:
    reply = client.get(f'{SEARCH}?filters={_filters(filters)}')
    assert reply.status == 200, reply.body[:500]
    return reply.json['pagination']['total']


@pytest.mark.parametrize('bounds', [[0, 1e300], [-1e300, 1e300], [0, 10 ** 30]])
def test_ranges_beyond_a_long(client: ServiceClient, bounds):
    # OpenSearch failed with "Value [1.0E300] is out of range for a long" (500);
    # every file size lies within these bounds
    files = _total(client, {'fileSize': {'within': [[0, 2 ** 53]]}})
    assert files > 1000
    assert _total(client, {'fileSize': {'within': [bounds]}}) == files
    # No long lies within these
    assert _total(client, {'fileSize': {'within': [[1e19, 1e300]]}}) == 0
    assert _total(client, {'fileSize': {'within': [[-1e300, -1e19]]}}) == 0


@pytest.fixture
def server(indexed):
    server = LocalServer(Runtime(indexed.runtime.config), '127.0.0.1', 0, worker=False)
    server.start()
    yield server
    server.stop()


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method='POST',
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize('body, message', [
    # Both failed with a 500: a RecursionError, and Python's own limit of
    # 4,300 digits
    (b'{"bundle_fqid": ' + b'[' * 100_000 + b']' * 100_000 + b'}',
     'The request body is nested too deeply: 100001 levels, more than the limit of 32 '
     'levels (setting AZUL_MAX_JSON_DEPTH)'),
    (b'{"bundle_fqid": 1' + b'0' * 5000 + b'}',
     'The request body is not valid JSON: a number of 5001 characters is out of range'),
    (b'{"bundle_fqid": "' + b'x' * 300_000 + b'"}',
     'The request body is too large: 300019 bytes, more than the limit of 262144 bytes '
     '(setting AZUL_MAX_BODY_SIZE)'),
])
def test_notification_limits(server, body, message):
    status, reply = _post(f'{server.url}/dcp/add', body)
    assert (status, reply) == (400, {'Code': 'BadRequestError', 'Message': message})
