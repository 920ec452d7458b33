"""Every 400 of the service, CORS, and a backend that is down."""
import json
import socket

import pytest
from service_oracle import query

from azul.runtime import Runtime
from conftest import ServiceClient, make_config

BAD_REQUESTS = [
    # Values no backend can store: unbounded ints, non-finite floats, lone surrogates
    ('/index/files?' + query(filters={'fileSize': {'within': [[0, 10 ** 400]]}}),
     'expected a range [lo, hi] of two finite numbers'),
    ('/index/summary?' + query(filters={'fileSize': {'within': [[0, 10 ** 400]]}}),
     'expected a range [lo, hi] of two finite numbers'),
    ('/index/files?' + query(filters={'fileSize': {'is': [float('inf')]}}),
     "Invalid value for field 'fileSize'"),
    ('/index/files?' + query(filters={'fileSize': {'is': [10 ** 30]}}),
     'outside the range of a 64-bit integer'),
    ('/index/files?' + query(filters={'fileSize': {'within': [[float('nan'), 5]]}}),
     'two finite numbers'),
    ('/index/files?' + query(filters={'organismAgeRange': {'contains': [float('nan')]}}),
     'two finite numbers'),
    ('/index/files?' + query(filters={'organ': {'is': ['\ud800']}}), 'is not valid Unicode'),
    ('/index/files?sort=fileSize&' + query(search_after=json.dumps([10 ** 400, 'x'])),
     'does not fit the sort field'),
    ('/index/files?sort=fileSize&' + query(search_after=json.dumps([10 ** 30, 'x'])),
     'does not fit the sort field'),
    ('/index/files?' + query(search_after=json.dumps(['a', '\ud800'])),
     'must be a non-empty string'),
    ('/index/files?catalog=nope', "Unknown catalog 'nope'"),
    ('/index/nope', "Unknown entity type 'nope'"),
    ('/index/files?bogus=1', "Unknown parameter(s) 'bogus'"),
    ('/index/files?size=1&size=2', "'size' was given 2 times"),
    ('/index/files?filters={', "not valid JSON"),
    ('/index/files?' + query(filters=[1]), 'must be a JSON object'),
    ('/index/files?' + query(filters={'nope': {'is': ['x']}}), "Unknown field 'nope'"),
    ('/index/files?' + query(filters={'organ': {'has': ['x']}}), "Unknown relation 'has'"),
    ('/index/files?' + query(filters={'organ': {'within': [[1, 2]]}}),
     "Relation 'within' is not allowed for field 'organ'"),
    ('/index/files?' + query(filters={'organ': {'is': 'brain'}}), 'must be a JSON array'),
    ('/index/files?' + query(filters={'organ': {'is': ['a'], 'within': [[1, 2]]}}),
     'exactly one relation'),
    ('/index/files?' + query(filters={'fileSize': {'within': [[5, 1]]}}),
     'lower bound exceeds the upper bound'),
    ('/index/files?' + query(filters={'fileSize': {'is': ['big']}}),
     "Invalid value for field 'fileSize'"),
    ('/index/files?size=0', "'size' must be between 1 and 1000"),
    ('/index/files?size=1001', "'size' must be between 1 and 1000"),
    ('/index/files?size=ten', "'size' must be an integer"),
    ('/index/files?sort=nope', "Invalid value 'nope' for parameter 'sort'"),
    ('/index/files?sort=accessible', "Invalid value 'accessible' for parameter 'sort'"),
    ('/index/files?order=up', "Invalid value 'up' for parameter 'order'"),
    ('/index/files?' + query(search_after='["a","b"]', search_before='["a","b"]'),
     "'search_after' and 'search_before' are mutually exclusive"),
    ('/index/files?' + query(search_after='"a"'), "'search_after' must be a JSON array"),
    ('/index/files?' + query(search_after='[1, "x"]'), 'does not fit the sort field'),
    ('/index/files?search_before_uid=x', "'search_before_uid' requires 'search_before'"),
    ('/index/files/x?catalog=nope', "Unknown catalog 'nope'"),
    ('/index/nope/x', "Unknown entity type 'nope'"),
    ('/index/files/x?size=1', "Unknown parameter(s) 'size'"),
    ('/index/summary?' + query(filters={'nope': {'is': [1]}}), "Unknown field 'nope'"),
    ('/index/summary?size=1', "Unknown parameter(s) 'size'"),
    ('/index/catalogs?catalog=dcp', "Unknown parameter(s) 'catalog'"),
    ('/health/queues,nope', "Unknown health check key(s) 'nope'"),
    ('/repository/files/x?catalog=nope', "Unknown catalog 'nope'"),
    ('/repository/files/x?wait=5', "'wait' must be between 0 and 1"),
    ('/fetch/repository/files/x?bogus=1', "Unknown parameter(s) 'bogus'"),
]


@pytest.mark.parametrize('path, message', BAD_REQUESTS, ids=[p for p, _ in BAD_REQUESTS])
def test_bad_request(client, path, message):
    reply = client.get(path)
    assert reply.status == 400, reply.body
    assert reply.json['Code'] == 'BadRequestError'
    assert message in reply.json['Message']
    assert reply.header('Access-Control-Allow-Origin') == '*'


@pytest.mark.parametrize('body, message', [
    (b'{"filters": ', 'The request body is not valid JSON'),
    (b'"filters"', 'must be a JSON object of parameters'),
    (json.dumps({'nope': 1}), "Unknown parameter(s) 'nope'"),
    (json.dumps({'size': 5000}), "'size' must be between 1 and 1000"),
    (json.dumps({'size': '5'}), "'size' was given both in the query string and in the body"),
    (json.dumps({'filters': {'organ': {'is': [{'a': 1}]}}}), "Invalid value for field 'organ'"),
    (json.dumps({'sort': 5}), "'sort' must be a string"),
])
def test_bad_post(client, body, message):
    reply = client.post('/index/files?size=5' if 'both' in message else '/index/files',
                        body=body, headers={'Content-Type': 'application/json'})
    assert reply.status == 400, reply.body
    assert reply.json['Code'] == 'BadRequestError'
    assert message in reply.json['Message']


@pytest.mark.parametrize('method', ['GET', 'PUT', 'POST'])
def test_preflight(client, method):
    reply = client.request('OPTIONS', '/index/files', headers={
        'Origin': 'https://data.humancellatlas.org',
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'authorization,content-type',
    })
    assert reply.status == 200
    assert reply.header('Access-Control-Allow-Origin') == '*'
    allowed_headers = reply.header('Access-Control-Allow-Headers').lower().split(',')
    assert {'authorization', 'content-type'} <= set(allowed_headers)
    allowed = set(reply.header('Access-Control-Allow-Methods').split(','))
    # PUT is not a method of this path, and a browser must be told so
    assert (method in allowed) == (method != 'PUT')


def test_every_path_answers_preflight(client, app_module):
    for path, methods in client.app.routes.items():
        concrete = path.replace('{entity_type}', 'files').replace('{keys}', 'queues') \
            .replace('{entity_id}', 'x').replace('{file_uuid}', 'x')
        reply = client.request('OPTIONS', concrete)
        assert reply.status == 200, path
        assert set(reply.header('Access-Control-Allow-Methods').split(',')) == set(methods)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_backend_down_is_503(app_module, tmp_path, monkeypatch):
    monkeypatch.setenv('AZUL_ES_ENDPOINT', f'http://127.0.0.1:{_closed_port()}')
    runtime = Runtime(make_config('opensearch', tmp_path, 'tdown'))
    client = ServiceClient(app_module.create_app(lambda: runtime), runtime)
    for path in ('/index/files', '/index/files/x', '/index/summary', '/repository/files/x'):
        reply = client.get(path)
        assert reply.status == 503, (path, reply.body)
        assert reply.json['Code'] == 'ServiceUnavailableError'
        assert reply.json['Message']
        assert reply.header('Access-Control-Allow-Origin') == '*'
    reply = client.get('/health/elasticsearch')
    assert reply.status == 503
    assert reply.json['up'] is False and reply.json['elasticsearch']['up'] is False
    assert client.get('/health/basic').status == 200
