"""Every 400 of the service, CORS, and a backend that is down."""
import json
import socket

import pytest
from service_oracle import query

from azul.runtime import Runtime
from conftest import ServiceClient, make_config

# A project of the fixture bundles (WongAdultRetina), and UUIDs of nothing
PROJECT = '8185730f-4113-40d3-9cc3-929271784c2b'
NO_ENTITY = '2b7959bb-acd1-4aa3-9557-345f9b3c6327'
NO_FILE = '74897eb7-0701-4e4f-9e6b-8b9521b2816b'
VERSION = '2018-11-02T11:33:44.450442Z'
UNKNOWN_CATALOG = "Catalog name 'nope' does not exist. Must be one of {'dcp', 'other'}."

# Status, code and the exact message of the original Azul for each request.
# The messages are those of its service app's validators and controllers
# (validate_params, validate_catalog, validate_size, validate_order,
# validate_field, validate_json_param, validate_entity_type, azul.uuids,
# RepositoryService, RepositoryController.download_file) and the cases of its
# test/service/test_request_validation.py; the sets it prints (catalogs,
# entity types) are listed in configuration order here.
ORIGINAL_ERRORS = [
    # validate_catalog: a well-formed unknown name is a 404, on every route
    *((path + 'catalog=nope', 404, 'NotFoundError', UNKNOWN_CATALOG) for path in (
        '/index/files?', '/index/summary?', f'/index/projects/{PROJECT}?',
        f'/repository/files/{NO_FILE}?', f'/fetch/repository/files/{NO_FILE}?',
        '/repository/sources?')),
    # ... a malformed one a 400 whose message is the tuple of the
    # RequirementError's arguments
    ('/index/files?catalog=foo%20', 400, 'BadRequestError',
     "('Catalog name is invalid', 'foo ')"),
    ('/index/summary?catalog=-', 400, 'BadRequestError', "('Catalog name is invalid', '-')"),
    ('/index/files?catalog=Dcp', 400, 'BadRequestError', "('Catalog name is invalid', 'Dcp')"),
    (f'/repository/files/{NO_FILE}?catalog=foo%20', 400, 'BadRequestError',
     "('Catalog name is invalid', 'foo ')"),
    ('/index/spiders', 400, 'BadRequestError',
     "Entity type 'spiders' is invalid for catalog 'dcp'. "
     "Must be one of {'files', 'samples', 'projects', 'bundles'}."),
    ('/index/spiders/' + PROJECT, 400, 'BadRequestError',
     "Entity type 'spiders' is invalid for catalog 'dcp'. "
     "Must be one of {'files', 'samples', 'projects', 'bundles'}."),
    # validate_params
    ('/index/files?some_nonexistent_filter=1', 400, 'BadRequestError',
     'Unknown query parameter `some_nonexistent_filter`'),
    ('/index/bundles?b=1&a=2', 400, 'BadRequestError', 'Unknown query parameters `a`, `b`'),
    ('/index/summary?size=1', 400, 'BadRequestError', 'Unknown query parameter `size`'),
    (f'/fetch/repository/files/{NO_FILE}?bogus=1', 400, 'BadRequestError',
     'Unknown query parameter `bogus`'),
    ('/repository/sources?size=1', 400, 'BadRequestError', 'Unknown query parameter `size`'),
    # validate_size
    ('/index/files?size=1001', 400, 'BadRequestError',
     'Invalid value for parameter `size`, must not be greater than 1000'),
    ('/index/files?size=0', 400, 'BadRequestError',
     'Invalid value for parameter `size`, must be greater than 0'),
    ('/index/files?size=foo', 400, 'BadRequestError', 'Invalid value for parameter `size`'),
    # validate_order
    ('/index/projects?order=foo', 400, 'BadRequestError',
     "Unknown order `foo`. Must be one of ('asc', 'desc')"),
    # validate_field, for the sort and for the filters
    ('/index/samples?size=1&sort=bad-field&order=asc', 400, 'BadRequestError',
     'Unknown field `bad-field`'),
    # validate_json_param
    ('/index/files?filters=%22', 400, 'BadRequestError',
     "The 'filters' parameter is not valid JSON"),
    ('/index/summary?filters=%7B', 400, 'BadRequestError',
     "The 'filters' parameter is not valid JSON"),
    ('/index/files?search_after=%5B', 400, 'BadRequestError',
     "The 'search_after' parameter is not valid JSON"),
    # azul.uuids.validate_uuid of the entity id
    ('/index/files/-0c5ac7c0-817e-40d4-b1b1-34c3d5cfecdb-', 400, 'BadRequestError',
     "'-0c5ac7c0-817e-40d4-b1b1-34c3d5cfecdb-' is not a valid UUID."),
    ('/index/projects/FOO', 400, 'BadRequestError', "'FOO' is not a valid UUID."),
    ('/index/projects/' + PROJECT.upper(), 400, 'BadRequestError',
     f"'{PROJECT.upper()}' is not a valid UUID."),
    ('/index/samples/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 400, 'BadRequestError',
     '("\'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\' is not a valid UUID.", '
     "'Not a valid RFC-4122 UUID (undefined version 10).')"),
    # RepositoryService: a valid id of no entity
    ('/index/files/' + NO_ENTITY, 404, 'NotFoundError',
     f"Can't find an entity in files with an uuid, {NO_ENTITY}."),
    # The search parameters are validated on the entity route too
    (f'/index/projects/{PROJECT}?size=0', 400, 'BadRequestError',
     'Invalid value for parameter `size`, must be greater than 0'),
    # ... and the filters apply
    (f'/index/projects/{PROJECT}?' + query(filters={'projectId': {'is': [NO_ENTITY]}}), 404,
     'NotFoundError', f"Can't find an entity in projects with an uuid, {PROJECT}."),
    # The validators of /repository/files: version, wait, requestIndex, replica
    *((f'{prefix}/repository/files/{NO_FILE}?{param}', 400, 'BadRequestError',
       f'Invalid value for `{name}`')
      for prefix in ('', '/fetch')
      for name, param in (('version', 'version=foo'),
                          ('version', 'version=2018-11-02'),
                          # Six digits of fraction, as the original parses versions
                          ('version', 'version=2018-11-02T11:33:44.45Z'),
                          ('version', 'version=2018-11-02T113344Z'),
                          ('wait', 'wait=5'),
                          ('requestIndex', 'requestIndex=x'),
                          ('replica', 'replica=azure'))),
    # RepositoryController.download_file: a file the catalog does not have
    *((f'{prefix}/repository/files/foo?version={VERSION}', 404, 'NotFoundError',
       f"Unable to find file 'foo', version '{VERSION}' in catalog 'dcp'")
      for prefix in ('', '/fetch')),
    (f'/repository/files/{NO_FILE}?catalog=other', 404, 'NotFoundError',
     f"Unable to find file '{NO_FILE}', version None in catalog 'other'"),
]


@pytest.mark.parametrize('path, status, code, message', ORIGINAL_ERRORS,
                         ids=[p for p, *_ in ORIGINAL_ERRORS])
def test_original_errors(client, path, status, code, message):
    reply = client.get(path)
    assert reply.status == status, reply.body
    # Chalice's error body, serialized compactly as Chalice does
    assert reply.body == json.dumps({'Code': code, 'Message': message},
                                    separators=(',', ':')).encode()
    assert reply.header('Content-Type') == 'application/json'
    assert reply.header('Access-Control-Allow-Origin') == '*'


def test_entity_route_finds_the_entity(client):
    # The counterpart of the 404s above: a valid id of an indexed entity,
    # with parameters the original accepts there, and filters it passes
    for params in ({}, {'size': '5', 'sort': 'projectTitle', 'order': 'desc'},
                   {'filters': {'projectId': {'is': [PROJECT]}}}):
        hit = client.get_json(f'/index/projects/{PROJECT}?' + query(**params))
        assert hit['entryId'] == PROJECT


# Bad filters are a 400 (the wording is the filter parser's, and tested with
# it); the service must not turn any of them into another status
FILTER_ERRORS = [
    query(filters={'bad-field': {'is': ['fake-val']}}),
    query(filters={'organPart': {'is': ['fake-val']}, 'bad-field': {'is': ['fake-val']}}),
    'filters=%22%22',
    'filters=%5B1%5D',
    # Values no backend can store: unbounded ints, non-finite floats, lone surrogates
    query(filters={'fileSize': {'within': [[0, 10 ** 400]]}}),
    query(filters={'fileSize': {'is': [float('inf')]}}),
    query(filters={'fileSize': {'is': [10 ** 30]}}),
    query(filters={'fileSize': {'within': [[float('nan'), 5]]}}),
    query(filters={'organismAgeRange': {'contains': [float('nan')]}}),
    # NaN and Infinity are no JSON; a number too large for a float is
    'filters=%7B%22organismAgeRange%22%3A%7B%22contains%22%3A%5B1e400%5D%7D%7D',
    'filters=%7B%22fileSize%22%3A%7B%22within%22%3A%5B%5B0%2C1e400%5D%5D%7D%7D',
    query(filters={'organ': {'is': ['\ud800']}}),
    query(filters={'organ': {'has': ['x']}}),
    query(filters={'organ': {'within': [[1, 2]]}}),
    query(filters={'organ': {'is': 'brain'}}),
    query(filters={'organ': {'is': ['a'], 'within': [[1, 2]]}}),
    query(filters={'fileSize': {'within': [[5, 1]]}}),
    query(filters={'fileSize': {'is': ['big']}}),
]


@pytest.mark.parametrize('path', ['/index/files', '/index/summary', f'/index/projects/{PROJECT}'])
@pytest.mark.parametrize('filters', FILTER_ERRORS)
def test_bad_filters(client, path, filters):
    reply = client.get(f'{path}?{filters}')
    assert reply.status == 400, reply.body
    assert reply.json['Code'] == 'BadRequestError'
    assert reply.header('Access-Control-Allow-Origin') == '*'
    if 'bad-field' in filters:
        assert "'bad-field'" in reply.json['Message'] or '`bad-field`' in reply.json['Message']


# Bad paging and sorting; the original refuses these too, in words of its own
BAD_REQUESTS = [
    ('/index/files?sort=fileSize&' + query(search_after=json.dumps([10 ** 400, 'x'])),
     'does not fit the sort field'),
    ('/index/files?sort=fileSize&' + query(search_after=json.dumps([10 ** 30, 'x'])),
     'does not fit the sort field'),
    ('/index/files?' + query(search_after=json.dumps(['a', '\ud800'])),
     'must be a non-empty string'),
    ('/index/files?sort=accessible', 'The field `accessible` cannot be used for sorting'),
    ('/index/files?' + query(search_after='["a","b"]', search_before='["a","b"]'),
     "'search_after' and 'search_before' are mutually exclusive"),
    ('/index/files?' + query(search_after='"a"'), "'search_after' must be a JSON array"),
    ('/index/files?' + query(search_after='[1, "x"]'), 'does not fit the sort field'),
]


@pytest.mark.parametrize('path, message', BAD_REQUESTS, ids=[p for p, _ in BAD_REQUESTS])
def test_bad_request(client, path, message):
    reply = client.get(path)
    assert reply.status == 400, reply.body
    assert reply.json['Code'] == 'BadRequestError'
    assert message in reply.json['Message']
    assert reply.header('Access-Control-Allow-Origin') == '*'


@pytest.mark.parametrize('path', [
    # The original does not validate the parameters of these routes
    '/index/catalogs?catalog=dcp',
    '/version?bogus=1',
    '/openapi?bogus=1',
    # A repeated parameter: the last one counts, as in Chalice's MultiDict
    '/index/files?size=1001&size=2',
    # The original accepts the uids of the deprecated cursors and ignores them
    '/index/files?search_before_uid=x',
    '/index/files?search_after_uid=x&size=1',
])
def test_parameters_the_original_accepts(client, path):
    assert client.get(path).status == 200


@pytest.mark.parametrize('body, message', [
    (b'{"filters": ', 'The request body is not valid JSON'),
    (b'"filters"', 'must be a JSON object of parameters'),
    (json.dumps({'nope': 1}), 'Unknown query parameter `nope`'),
    (json.dumps({'size': 5000}),
     'Invalid value for parameter `size`, must not be greater than 1000'),
    (json.dumps({'size': '5'}), "'size' was given both in the query string and in the body"),
    (json.dumps({'filters': {'bad-field': {'is': ['x']}}}), "bad-field"),
    (json.dumps({'sort': 5}), 'Invalid value for `sort`'),
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
    for path in ('/index/files', '/index/files/' + PROJECT, '/index/summary',
                 '/repository/files/x'):
        reply = client.get(path)
        assert reply.status == 503, (path, reply.body)
        assert reply.json['Code'] == 'ServiceUnavailableError'
        assert reply.json['Message']
        assert reply.header('Access-Control-Allow-Origin') == '*'
    reply = client.get('/health/elasticsearch')
    assert reply.status == 503
    assert reply.json['up'] is False and reply.json['elasticsearch']['up'] is False
    assert client.get('/health/basic').status == 200
