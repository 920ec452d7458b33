"""
Managed access over HTTP, on both backends: a catalog with an open and a
restricted source (see `access_catalogs`), asked by an anonymous caller, a
caller of another group and a member of the source's group.

The expectations follow the original Azul's rules (`Filters.reify` and its
integration test `_test_managed_access`): /index/projects lists every
project and marks it `accessible` or not, the other entity types show only
what the caller may read, a `sourceId` filter naming an unreadable source is
a 403 there, and the file of an unreadable source is not found (404). The
restricted bundle's files (`TDR_FILES`) and the shared project were read off
the fixture by hand.
"""
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from access_catalogs import (
    CONSENTED,
    EXPIRED,
    OTHER,
    SHARED_PROJECT,
    TDR_BUNDLE,
    TDR_FILE_ENTITY,
    TDR_FILES,
    bearer,
)
from test_manifest_protocol import Http, until_done

from azul.adapters.server import LocalServer
from conftest import CATALOG, SOURCE, TDR_SOURCE, ServiceClient

ANONYMOUS = None
CALLERS = (ANONYMOUS, OTHER, CONSENTED)


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else bearer(token)


def get(client: ServiceClient, path: str, token: str | None = None, status: int = 200,
        **params: Any) -> Any:
    query = '&'.join(f'{k}={quote(v if isinstance(v, str) else json.dumps(v))}'
                     for k, v in {'catalog': CATALOG, **params}.items())
    reply = client.get(f'{path}?{query}', headers=_headers(token))
    assert reply.status == status, (path, params, reply.status, reply.body[:1000])
    return reply.json


def all_hits(client: ServiceClient, path: str, token: str | None, **params: Any
             ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every hit, page by page, and the first page."""
    first = body = get(client, path, token, size=1000, **params)
    hits = list(body['hits'])
    while body['pagination']['next'] is not None:
        url = body['pagination']['next'].removeprefix('http://azul.test')
        reply = client.get(url, headers=_headers(token))
        assert reply.status == 200, reply.body
        body = reply.json
        hits += body['hits']
    return hits, first


def file_ids(hits: list[dict[str, Any]]) -> set[str]:
    return {f['uuid'] for hit in hits for f in hit['files']}


def terms(response: dict[str, Any], facet: str) -> dict[Any, int]:
    return {t['term']: t['count'] for t in response['termFacets'][facet]['terms']}


@pytest.mark.parametrize('token', CALLERS)
def test_sources(access_catalogs, token):
    body = get(access_catalogs.mixed, '/repository/sources', token)
    expected = [SOURCE, TDR_SOURCE] if token == CONSENTED else [SOURCE]
    assert body == {'sources': [{'sourceId': s, 'sourceSpec': s} for s in expected]}


@pytest.mark.parametrize('header', ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b',
                                    'Bearer tökén', f'Bearer {EXPIRED}',
                                    'Bearer not-a-token-of-the-file'])
@pytest.mark.parametrize('path', ['/index/files', '/index/projects', '/index/summary',
                                  '/repository/sources'])
def test_bad_credentials_are_401(access_catalogs, header, path):
    reply = access_catalogs.mixed.get(f'{path}?catalog={CATALOG}',
                                      headers={'Authorization': header})
    assert reply.status == 401, reply.body
    assert reply.json['Code'] == 'UnauthorizedError'
    assert ('expired' in reply.json['Message']) == (header == f'Bearer {EXPIRED}')


@pytest.mark.parametrize('token', CALLERS)
def test_files_show_only_readable_sources(access_catalogs, token):
    hits, body = all_hits(access_catalogs.mixed, '/index/files', token)
    ids = file_ids(hits)
    consented = token == CONSENTED
    assert (ids & TDR_FILES) == (TDR_FILES if consented else set())
    assert all(one['accessible'] for hit in hits for one in hit['files'])
    assert body['pagination']['total'] == len(hits)
    # Deviation (see azul.auth.reify): the facet counts what the caller sees
    assert terms(body, 'accessible') == {'true': body['pagination']['total']}
    everything = get(access_catalogs.mixed, '/index/files', CONSENTED, size=1000)
    assert body['pagination']['total'] == (everything['pagination']['total']
                                           - (0 if consented else len(TDR_FILES)))


@pytest.mark.parametrize('token', CALLERS)
def test_bundles_show_only_readable_sources(access_catalogs, token):
    hits, _ = all_hits(access_catalogs.mixed, '/index/bundles', token)
    bundles = {b['bundleUuid'] for hit in hits for b in hit['bundles']}
    assert (TDR_BUNDLE in bundles) == (token == CONSENTED)


@pytest.mark.parametrize('token', CALLERS)
def test_projects_are_listed_and_marked(access_catalogs, token):
    body = get(access_catalogs.mixed, '/index/projects', token, size=1000)
    marks = {hit['entryId']: hit['projects'][0]['accessible'] for hit in body['hits']}
    # Every project, whoever asks; the shared one is accessible only to a
    # caller who may read both of its sources
    assert SHARED_PROJECT in marks
    consented = token == CONSENTED
    assert marks[SHARED_PROJECT] is consented
    assert all(marks[p] for p in marks if p != SHARED_PROJECT)
    # Facet terms are spelled as the original spells booleans there
    expected = ({'true': len(marks)} if consented
                else {'true': len(marks) - 1, 'false': 1})
    assert terms(body, 'accessible') == expected
    # Selecting a term finds exactly the entities it counted
    for term, count in expected.items():
        value = term == 'true'
        selected = get(access_catalogs.mixed, '/index/projects', token, size=1000,
                       filters={'accessible': {'is': [value]}})
        assert selected['pagination']['total'] == count
        assert all(hit['projects'][0]['accessible'] is value for hit in selected['hits'])
        # ... and the facet still shows the other term (a facet ignores its own filter)
        assert terms(selected, 'accessible') == expected


@pytest.mark.parametrize('token', CALLERS)
def test_source_filter(access_catalogs, token):
    filters = {'sourceId': {'is': [TDR_SOURCE]}}
    if token == CONSENTED:
        body = get(access_catalogs.mixed, '/index/files', token, size=1000, filters=filters)
        assert file_ids(body['hits']) == TDR_FILES
    else:
        body = get(access_catalogs.mixed, '/index/files', token, status=403, filters=filters)
        # The original's error, a ForbiddenError with the sources as a second argument
        assert body == {'Code': 'ForbiddenError',
                        'Message': str(('Cannot filter by inaccessible sources',
                                        {TDR_SOURCE}))}
    # Projects are not limited: any caller may find those of any source
    body = get(access_catalogs.mixed, '/index/projects', token, size=1000, filters=filters)
    assert [hit['entryId'] for hit in body['hits']] == [SHARED_PROJECT]


def test_inaccessible_files_select_nothing(access_catalogs):
    body = get(access_catalogs.mixed, '/index/files', ANONYMOUS,
               filters={'accessible': {'is': [False]}})
    assert body['hits'] == [] and body['pagination']['total'] == 0
    unfiltered = get(access_catalogs.mixed, '/index/files', ANONYMOUS)
    assert terms(body, 'accessible') == {'true': unfiltered['pagination']['total']}


@pytest.mark.parametrize('token', CALLERS)
def test_entity_endpoint(access_catalogs, token):
    status = 200 if token == CONSENTED else 404
    get(access_catalogs.mixed, f'/index/files/{TDR_FILE_ENTITY}', token, status=status)
    project = get(access_catalogs.mixed, f'/index/projects/{SHARED_PROJECT}', token)
    assert project['projects'][0]['accessible'] is (token == CONSENTED)


@pytest.mark.parametrize('token', CALLERS)
def test_summary(access_catalogs, token):
    mixed = get(access_catalogs.mixed, '/index/summary', token)
    everything = get(access_catalogs.mixed, '/index/summary', CONSENTED)
    expected = everything['fileCount'] - (0 if token == CONSENTED else len(TDR_FILES))
    assert mixed['fileCount'] == expected


@pytest.mark.parametrize('token', CALLERS)
def test_downloads(access_catalogs, token):
    # The restricted bundle's file has a DRS URI: a download resolves
    client = access_catalogs.mixed
    [file_id] = TDR_FILES
    consented = token == CONSENTED
    reply = client.get(f'/repository/files/{file_id}?catalog={CATALOG}', headers=_headers(token))
    assert reply.status == (302 if consented else 404), reply.body
    if not consented:
        # As the original: what the caller may not read is not found
        assert reply.json['Message'].startswith(f'Unable to find file {file_id!r}')
    reply = client.get(f'/fetch/repository/files/{file_id}?catalog={CATALOG}',
                       headers=_headers(token))
    assert reply.status == (200 if consented else 404), reply.body
    reply = client.get(f'/ga4gh/drs/v1/objects/{file_id}', headers=_headers(token))
    assert reply.status == (200 if consented else 404), reply.body


@pytest.fixture
def server(access_catalogs) -> Iterator[Http]:
    """The local server: what manifest links point to is served there only."""
    instance = LocalServer(access_catalogs.mixed.runtime, '127.0.0.1', 0, worker=False)
    instance.start()
    try:
        yield Http(instance.url)
    finally:
        instance.stop()


def manifest(http: Http, token: str | None, filters: Any) -> tuple[int, bytes]:
    """The status of the request and, if it succeeded, the manifest's bytes."""
    path = (f'/manifest/files?catalog={CATALOG}&format=compact'
            f'&filters={quote(json.dumps(filters))}')
    reply = http.request('PUT', path, headers=_headers(token))
    if reply.status not in (301, 302):
        return reply.status, reply.body
    done, _ = until_done(http, reply, fetch=False)
    assert done.status == 302, done.body
    content = http.request('GET', done.headers['location'])
    assert content.status == 200
    return 200, content.body


@pytest.mark.parametrize('token', CALLERS)
def test_manifests(server, token):
    consented = token == CONSENTED
    status, body = manifest(server, token, {})
    assert status == 200
    text = body.decode()
    assert all((f in text) == consented for f in TDR_FILES)
    status, body = manifest(server, token, {'sourceId': {'is': [TDR_SOURCE]}})
    assert status == (200 if consented else 403), body


def test_openapi_offers_a_bearer_token(access_catalogs):
    spec = access_catalogs.mixed.get_json('/openapi')
    assert spec['components']['securitySchemes'] == {'bearer': {
        'type': 'http', 'scheme': 'bearer',
        'description': "A token of the deployment's token file (AZUL_TOKENS_FILE)"}}
    assert spec['security'] == [{}, {'bearer': []}]
