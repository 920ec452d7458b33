"""
The service through the local server (`azul serve`: a real HTTP server in
front of Chalice's LocalGateway), including a schemathesis run against the
served /openapi: no 5xx, and every response as the document describes it.
"""
import http.client
import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from azul.adapters.server import LocalServer


@pytest.fixture(scope='session')
def server(indexed):
    instance = LocalServer(indexed.runtime, '127.0.0.1', 0, worker=False)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def test_round_trip_over_http(server):
    url = server.url
    body = requests.get(f'{url}/index/samples', params={'size': 3}, timeout=60).json()
    assert body['pagination']['count'] == 3
    # The links point at this server, and a plus in the query is a space
    assert body['pagination']['next'].startswith(url + '/index/samples?')
    second = requests.get(body['pagination']['next'], timeout=60).json()
    assert {h['entryId'] for h in second['hits']}.isdisjoint(h['entryId'] for h in body['hits'])
    filters = json.dumps({'projectTitle': {'is': ['1.3 Million Brain Cells from E18 Mice']}})
    reply = requests.get(f'{url}/index/projects?filters={filters.replace(" ", "+")}',
                         timeout=60)
    assert reply.json()['pagination']['total'] == 1
    reply = requests.options(f'{url}/index/files', timeout=60, headers={
        'Origin': 'https://example.org', 'Access-Control-Request-Method': 'POST'})
    assert reply.status_code == 200
    assert 'POST' in reply.headers['Access-Control-Allow-Methods']
    reply = requests.get(f'{url}/index/files?size=0', timeout=60)
    assert reply.status_code == 400
    assert reply.headers['Access-Control-Allow-Origin'] == '*'
    assert reply.json()['Code'] == 'BadRequestError'


def test_portal_calls_over_http(server):
    # The requests the HCA Data Browser makes first; any error blanks the portal
    url = server.url
    reply = requests.get(f'{url}/health/progress', params={'catalog': 'dcp'}, timeout=60)
    assert reply.status_code == 200
    assert reply.json() == {'progress': {'up': True, 'unindexed_bundles': 0,
                                         'unindexed_documents': 0}, 'up': True}
    assert reply.headers['Access-Control-Allow-Origin'] == '*'
    reply = requests.get(f'{url}/index/catalogs', timeout=60)
    assert reply.status_code == 200 and reply.json()['default_catalog'] == 'dcp'


def test_errors_over_http_are_compact(server):
    reply = requests.get(f'{server.url}/index/files', params={'catalog': 'nope'}, timeout=60)
    assert reply.status_code == 404
    assert reply.content == (b'{"Code":"NotFoundError","Message":"Catalog name \'nope\' does '
                             b'not exist. Must be one of {\'dcp\', \'other\'}."}')
    assert reply.headers['Content-Type'] == 'application/json'
    # Framing the server refuses before any app sees the request
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.putrequest('POST', '/index/files')
        connection.putheader('Transfer-Encoding', 'chunked')
        connection.endheaders()
        connection.send(b'0\r\n\r\n')
        response = connection.getresponse()
        assert response.status == 411
        assert response.read() == (b'{"Code":"BadRequestError","Message":"Chunked request '
                                   b'bodies are not supported; send a Content-Length"}')
    finally:
        connection.close()


# Some schema-valid requests are rightly refused with a documented 400 that
# names the problem, e.g. a range whose lower bound exceeds its upper bound:
# JSON schema cannot express that. Every other check applies.
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

# Examples per operation; enough to reach every parameter of every operation
MAX_EXAMPLES = 30


def test_schemathesis(server):
    """No 5xx and no response that the served document does not describe."""
    schema = schemathesis.openapi.from_url(server.url + '/openapi')
    failures = {}
    labels = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=server.url, timeout=120,
                                   excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as e:
            failures[operation.label] = str(e)[:3000]
    documented = {f'{method.upper()} {path}'
                  for path, ops in schema.raw_schema['paths'].items() for method in ops}
    # Schemathesis leaves out the operation that serves the document it tests
    assert labels == documented - {'GET /openapi'}
    assert not failures, '\n\n'.join(f'{k}:\n{v}' for k, v in failures.items())
