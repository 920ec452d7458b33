"""Pure tests of paging, facet rendering, error mapping and health key parsing."""
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters
from azul.core.search import FacetResult, Hit, SearchRequest, SearchResult, Sort, TermBucket
from azul.errors import (
    AzulError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidFilterError,
    NotFoundError,
    RepositoryError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from azul.service import facets, health, pagination, version
from azul.service.request import link
from azul.service.responses import ERRORS, error_response, respond

organ = Field('organ', FieldType.keyword, 'p', facet=True)
flag = Field('flag', FieldType.boolean, 'p', facet=True)
age = Field('age', FieldType.object, 'p', facet=True)
project = Field('project', FieldType.keyword, 'p', facet=True)
project_id = Field('projectId', FieldType.keyword, 'q')
registry = FieldRegistry((organ, flag, age, project, project_id))


def hits(*ids: str) -> tuple[Hit, ...]:
    return tuple(Hit(i, {}, (None if i.startswith('n') else i.upper(), i)) for i in ids)


def search(size: int, after=None, before=None) -> SearchRequest:
    return SearchRequest('files', Filters(), Sort(organ), size,
                         search_after=after, search_before=before)


@pytest.mark.parametrize('req, returned, ids, has_next, has_previous', [
    # First page with more to come: one extra hit was fetched and is dropped
    (search(2), ('a', 'b', 'c'), ('a', 'b'), True, False),
    # Last page reached from the first
    (search(2), ('a', 'b'), ('a', 'b'), False, False),
    (search(2, after=('B', 'b')), ('c', 'd', 'e'), ('c', 'd'), True, True),
    (search(2, after=('D', 'd')), ('e',), ('e',), False, True),
    # Backwards: the extra hit precedes the page
    (search(2, before=('E', 'e')), ('b', 'c', 'd'), ('c', 'd'), True, True),
    (search(2, before=('C', 'c')), ('a', 'b'), ('a', 'b'), True, False),
    (search(2, after=('Z', 'z')), (), (), False, False),
])
def test_page(req, returned, ids, has_next, has_previous):
    page = pagination.page(req, SearchResult(hits(*returned), total=5, facets={}))
    assert tuple(h.entity_id for h in page.hits) == ids
    assert (page.next is not None) == has_next
    assert (page.previous is not None) == has_previous
    if has_next:
        assert page.next == page.hits[-1].sort
    if has_previous:
        assert page.previous == page.hits[0].sort


def test_overfetch_asks_for_one_more():
    assert pagination.overfetch(search(10)).size == 11


def test_pagination_links_repeat_parameters_and_carry_a_cursor():
    req = search(2, after=('B', 'b'))
    page = pagination.page(req, SearchResult(hits('c', 'n-d', 'e'), total=7, facets={}))
    repeated = {'catalog': 'dcp', 'filters': '{}', 'size': '2', 'sort': 'organ',
                'order': 'asc'}
    result = pagination.pagination(req, page, repeated,
                                   lambda params: link('http://h', '/index/files', params))
    assert result['pages'] == 4 and result['count'] == 2 and result['total'] == 7
    for name, cursor in (('next', [None, 'n-d']), ('previous', ['C', 'c'])):
        query = {k: v[0] for k, v in parse_qs(urlsplit(result[name]).query).items()}
        key = 'search_after' if name == 'next' else 'search_before'
        assert json.loads(query.pop(key)) == cursor
        assert query == repeated


def test_term_facets_order_and_rendering():
    results = {
        'organ': FacetResult(total=9, counts={'brain': 2, None: 2, 'blood': 2, 'liver': 3}),
        'flag': FacetResult(total=4, counts={True: 3, False: 1}),
        'age': FacetResult(total=1, counts={'{"unit":"year","value":"3"}': 1}),
        'project': FacetResult(total=3, counts={'p1': 2, 'p2': 1}),
    }
    companions = {'project': 'projectId'}
    values = facets.companion_values(companions, {'project': {'project': (
        TermBucket('p1', 2, {}, {'projectId': ('id-a', 'id-b')}),
        TermBucket('p2', 1, {}, {'projectId': ('id-c',)}),
    )}})
    rendered = facets.term_facets(registry, results, companions, values)
    assert list(rendered) == ['organ', 'flag', 'age', 'project']
    assert rendered['organ'] == {'terms': [{'term': 'liver', 'count': 3},
                                           {'term': 'blood', 'count': 2},
                                           {'term': 'brain', 'count': 2},
                                           {'term': None, 'count': 2}],
                                 'total': 9, 'type': 'terms'}
    assert rendered['flag']['terms'] == [{'term': 'true', 'count': 3},
                                         {'term': 'false', 'count': 1}]
    assert rendered['age']['terms'] == [{'term': {'unit': 'year', 'value': '3'}, 'count': 1}]
    assert rendered['project']['terms'] == [
        {'term': 'p1', 'count': 2, 'projectId': ['id-a', 'id-b']},
        {'term': 'p2', 'count': 1, 'projectId': ['id-c']},
    ]


def test_companion_requests_drop_the_facets_own_filter():
    from azul.core.filters import parse_filters
    filters = parse_filters({'project': {'is': ['p1']}, 'organ': {'is': ['brain']}}, registry)
    [(name, request)] = facets.companion_requests('files', filters, registry,
                                                  {'project': 'projectId'}).items()
    assert name == 'project'
    assert request.filters.fields() == ('organ',)
    [terms] = request.aggregations
    assert terms.field is project and terms.distinct == (project_id,)


# The statuses and codes of Chalice's exception classes, which the original
# raises for these cases (BadRequestError 400, UnauthorizedError 401,
# NotFoundError 404, ConflictError 409, its own BadGatewayError 502 and
# ServiceUnavailableError 503)
@pytest.mark.parametrize('error, status, text', [
    (BadRequestError('bad'), 400, '{"Code":"BadRequestError","Message":"bad"}'),
    (InvalidFilterError('worse'), 400, '{"Code":"BadRequestError","Message":"worse"}'),
    (UnauthorizedError('who'), 401, '{"Code":"UnauthorizedError","Message":"who"}'),
    (NotFoundError('gone'), 404, '{"Code":"NotFoundError","Message":"gone"}'),
    (ConflictError('race'), 409, '{"Code":"ConflictError","Message":"race"}'),
    (RepositoryError('tdr'), 502, '{"Code":"BadGatewayError","Message":"tdr"}'),
    (ServiceUnavailableError('down'), 503,
     '{"Code":"ServiceUnavailableError","Message":"down"}'),
    # Several arguments: the message is their tuple, as Chalice's str(e)
    (BadRequestError('Catalog name is invalid', 'foo '), 400,
     '{"Code":"BadRequestError","Message":"(\'Catalog name is invalid\', \'foo \')"}'),
])
def test_error_response(error, status, text):
    response = error_response(error)
    assert response.status == status
    assert error.status == status
    # Compact, as Chalice serializes error bodies: separators (',', ':')
    assert response.text == text
    assert response.headers['Content-Type'] == 'application/json'


@pytest.mark.parametrize('error', [AzulError('index missing'), ConfigError('no setting')])
def test_server_faults_are_a_generic_500(error, caplog):
    response = error_response(error)
    assert response.status == 500
    # Chalice's body for an unhandled exception
    assert response.text == ('{"Code":"InternalServerError",'
                             '"Message":"An internal server error occurred."}')
    assert error.message in caplog.text


def test_every_error_class_is_in_the_table():
    classes = {cls for cls, _, _ in ERRORS}
    assert {BadRequestError, UnauthorizedError, ForbiddenError, NotFoundError, ConflictError,
            GoneError, UnsupportedMediaTypeError, RepositoryError, ServiceUnavailableError,
            ConfigError, AzulError} <= classes
    # No domain error is ever a 4xx unless it is one of the client-error classes
    for cls, status, _ in ERRORS:
        client_error = issubclass(cls, (BadRequestError, UnauthorizedError, ForbiddenError,
                                        NotFoundError, ConflictError, GoneError,
                                        UnsupportedMediaTypeError))
        assert (status < 500) == client_error, cls


def test_unexpected_error_is_a_generic_500(caplog):
    def broken():
        raise KeyError('secret internals')
    response = respond(broken)
    assert response.status == 500
    assert 'secret' not in response.text
    assert 'secret internals' in caplog.text


def test_health_keys():
    assert health.parse_keys('queues,elasticsearch,queues') == ('queues', 'elasticsearch')
    assert health.parse_keys('queues,nope') is None
    # The original's answer to an unknown key: 400, a message and no `up`
    response = health.invalid_keys()
    assert response.status == 400
    assert response.text == '{"Message": "Invalid health keys"}'


def test_version_prefers_the_environment(tmp_path):
    assert version.git_info({'AZUL_GIT_COMMIT': 'abc', 'AZUL_GIT_DIRTY': 'true'}) \
        == {'commit': 'abc', 'dirty': True}
    # Not a git work tree: no guessing
    assert version.git_info({}, tmp_path) == {'commit': 'unknown', 'dirty': False}


class _Queue:
    """Queue statistics of a queue that can count per catalog, or not."""

    def __init__(self, per_catalog: bool):
        self.all = {'notifications': {'queued': 5, 'failed': 1}, 'tallies': {'queued': 7}}
        if per_catalog:
            self.catalog_counts = lambda name: {'dcp': {'notifications': {'queued': 3}},
                                                'other': {}}[name]

    def counts(self):
        return self.all


class _Runtime:
    def __init__(self, per_catalog: bool):
        from azul.config import Config
        from azul.service.openapi import CANONICAL_ENV
        env = {**CANONICAL_ENV, 'AZUL_CATALOGS': json.dumps({
            name: {'atlas': 'hca', 'internal': False,
                   'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
                   'sources': ['file:///tmp/azul/bundles']}
            for name in ('dcp', 'other')})}
        self.config = Config.from_env(env)
        self.queue_stats = _Queue(per_catalog)


def _health_request(**query: str):
    from azul.service.request import Request
    return Request('GET', '/health/progress', {k: (v,) for k, v in query.items()})


@pytest.mark.parametrize('per_catalog, query, progress', [
    # Scoped where the queue can tell: 3 of the 5 queued bundles are dcp's
    (True, {'catalog': 'dcp'}, (3, 0)),
    (True, {'catalog': 'other'}, (0, 0)),
    # All catalogs without one, or with one that is not configured (ignored
    # as the original ignores the parameter), or other parameters
    (True, {}, (5, 7)),
    (True, {'catalog': 'nope'}, (5, 7)),
    (True, {'catalog': 'foo bar', 'bogus': '1'}, (5, 7)),
    # A queue that cannot count per catalog (SQS) reports them all
    (False, {'catalog': 'dcp'}, (5, 7)),
])
def test_progress_of_a_catalog(per_catalog, query, progress):
    runtime = _Runtime(per_catalog)
    scope = health.scope(runtime, _health_request(**query))
    bundles, documents = progress
    assert health.check_progress(runtime, scope) == {'up': True, 'unindexed_bundles': bundles,
                                                     'unindexed_documents': documents}
    # The queues are those of the deployment, whatever the catalog
    assert health.check_queues(runtime, scope) == {
        'up': True,
        'notifications': {'up': True, 'queued': 5, 'failed': 1},
        'tallies': {'up': True, 'queued': 7, 'failed': 0},
    }
