"""
Azul's aggregation `azul_facet_counts` in the test node
(scripts/opensearch/src/main/java/azul/facets): the counts of a keyword
field's terms among the matching documents, listed as a `terms` aggregation
lists them. Checked against OpenSearch's own `terms` aggregation (an oracle
outside our code) and against literals worked out by hand, over several
segments, a deleted document version and both ways of counting; and the
backend's filtered pages with and without it, against the reference
semantics.
"""
import uuid

import pytest
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from azul.backends.opensearch import OpenSearchBackend
from azul.core.filters import Filters, Is
from azul.core.search import SearchRequest, Sort, reference_search
from azul_dev import benchdata

pytestmark = pytest.mark.opensearch

# Each document's terms; written in three refreshes, so three segments
BATCHES = [
    {'a': ['x\t1', 'y\t1'], 'b': ['x\t1', 'x\t2', 'y\tnull'], 'c': ['x\t2', 'y\t1']},
    {'d': ['x\t3', 'y\t1'], 'e': ['x\t1', 'y\t2']},
    # b again, with other terms: its first version is a deleted document
    {'b': ['x\t3', 'y\t2'], 'f': ['x\tnull', 'y\tnull']},
]
METHODS = ('auto', 'bitmaps', 'read')


@pytest.fixture
def index(raw: OpenSearch):
    name = 'azul_test_facet_counts_' + uuid.uuid4().hex[:8]
    raw.indices.create(index=name, body={
        'settings': {'number_of_shards': 1, 'number_of_replicas': 0},
        'mappings': {'properties': {'t': {'type': 'keyword'}, 'id': {'type': 'keyword'}}}})
    for batch in BATCHES:
        for doc_id, terms in batch.items():
            raw.index(index=name, id=doc_id, body={'id': doc_id, 't': terms})
        raw.indices.refresh(index=name)
    yield name
    raw.indices.delete(index=name)


def _search(raw: OpenSearch, index: str, query: dict, agg: dict) -> dict:
    response = raw.search(index=index, body={'size': 0, 'query': query, 'aggs': {'t': agg}},
                          request_cache=False)
    return response['aggregations']['t']


def _counts(method: str, prefix: str = '') -> dict:
    return {'azul_facet_counts': {'field': 't', 'prefix': prefix, 'method': method}}


QUERIES = [
    {'match_all': {}},
    {'term': {'t': 'y\t1'}},
    {'terms': {'id': ['b', 'f']}},
    {'term': {'id': 'nothing'}},
]


@pytest.mark.parametrize('query', QUERIES)
def test_the_counts_are_those_of_a_terms_aggregation(raw, index, query):
    assert len(raw.indices.segments(index=index)['indices'][index]['shards']['0'][0]
               ['segments']) == 3
    expected = _search(raw, index, query, {'terms': {'field': 't', 'size': 100}})
    for method in METHODS:
        actual = _search(raw, index, query, _counts(method))
        # Buckets by count, descending, then by key, as the terms aggregation lists them
        assert actual == expected, method


def test_the_counts_by_hand(raw, index):
    # Live: a [x1 y1], b [x3 y2], c [x2 y1], d [x3 y1], e [x1 y2], f [x- y-]
    for method in METHODS:
        assert _search(raw, index, {'match_all': {}}, _counts(method, 'y\t')) == {
            'doc_count_error_upper_bound': 0, 'sum_other_doc_count': 0,
            'buckets': [{'key': 'y\t1', 'doc_count': 3}, {'key': 'y\t2', 'doc_count': 2},
                        {'key': 'y\tnull', 'doc_count': 1}]}
        # Of the documents with y1 (a, c, d): x1 once, x2 once, x3 once
        assert _search(raw, index, {'term': {'t': 'y\t1'}}, _counts(method, 'x\t'))['buckets'] \
            == [{'key': 'x\t1', 'doc_count': 1}, {'key': 'x\t2', 'doc_count': 1},
                {'key': 'x\t3', 'doc_count': 1}]


@pytest.mark.parametrize('agg, problem', [
    ({'azul_facet_counts': {}}, 'needs a [field]'),
    ({'azul_facet_counts': {'field': 't', 'size': 10}}, 'not [size]'),
    ({'azul_facet_counts': {'field': 't', 'method': 'guess'}}, 'not [guess]'),
    ({'azul_facet_counts': {'field': 't'}, 'aggs': {'s': {'max': {'field': 'id'}}}},
     'no sub-aggregations'),
    ({'terms': {'field': 'id'}, 'aggs': {'s': {'azul_facet_counts': {'field': 't'}}}},
     'top-level aggregation only'),
])
def test_bad_requests_are_refused(raw, index, agg, problem):
    with pytest.raises(os_errors.RequestError) as e:
        _search(raw, index, {'match_all': {}}, agg)
    assert e.value.status_code == 400
    assert problem in str(e.value.info)


def test_pages_with_and_without_it(es_endpoint, deployment):
    registry = benchdata.registry()
    docs = list(benchdata.generate(300, seed=7))
    backends = {known: OpenSearchBackend(es_endpoint, prefix='azul', deployment=deployment,
                                         request_cache=False, facet_counts=known)
                for known in (None, False)}
    writer = backends[None]
    writer.create_indices('bench', [benchdata.ENTITY_TYPE], registry)
    writer.load_aggregates('bench', benchdata.ENTITY_TYPE, docs)
    filters = [benchdata.filtered(registry), benchdata.one_filter(registry),
               Filters((Is(registry['organ'], ('organ 0',)), Is(registry['fileFormat'], (None,))))]
    for f in filters:
        request = SearchRequest(benchdata.ENTITY_TYPE, f, Sort(registry['fileName']), size=5,
                                facets=registry.facets)
        expected = reference_search(docs, request)
        for backend in backends.values():
            actual = backend.search('bench', request)
            assert actual.total == expected.total
            assert [h.entity_id for h in actual.hits] == [h.entity_id for h in expected.hits]
            assert {n: (r.total, dict(r.counts)) for n, r in actual.facets.items()} == {
                n: (r.total, dict(r.counts)) for n, r in expected.facets.items()}
    # The test node has it, found by asking; the other was told it has not
    assert backends[None].facet_counts is True
    assert backends[False].facet_counts is False
    for backend in backends.values():
        backend.close()
