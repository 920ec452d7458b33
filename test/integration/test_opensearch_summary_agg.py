"""
Azul's aggregation `azul_summary` in the test node
(scripts/opensearch/src/main/java/azul/facets): sums, exact cardinalities,
and documents per value with sums and distinct values of other fields, read
from per-segment columns. Checked against OpenSearch's own `sum`,
`cardinality` and `terms` aggregations (an oracle outside our code) and
against figures worked out by hand, over three segments and a deleted
document version; and the backend's summaries with and without it, against
the reference semantics.
"""
import uuid

import pytest
from opensearch_probes import Searches
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from azul.backends.opensearch import OpenSearchBackend
from azul.core.filters import Filters, Is
from azul.core.search import Cardinality, Count, Sum, SummaryRequest, Terms, reference_summary
from azul_dev import benchdata

pytestmark = pytest.mark.opensearch

# Written in three refreshes, so three segments; `b` is written again in the
# third, so its first version is a deleted document
BATCHES = [
    {'a': {'k': ['x', 'y'], 'g': 'p1', 'n': 10, 'd': 1.5, 'b': True},
     'b': {'k': ['x'], 'g': 'p2', 'n': 20, 'd': 2.25, 'b': False, 'nulls': ['d']},
     'c': {'k': ['y'], 'g': 'p1', 'n': 5, 'b': True, 'nulls': ['d']}},
    {'d': {'k': ['z'], 'g': 'p3', 'n': 7, 'd': 0.5, 'b': False},
     'e': {'g': 'p2', 'n': [1, 2], 'd': 4.0, 'nulls': ['k']}},
    {'b': {'k': ['y', 'z'], 'g': 'p3', 'n': 30, 'd': 8.0, 'b': True},
     'f': {'k': ['x'], 'g': 'p1', 'd': 1.0, 'b': False, 'nulls': ['n']}},
]
MAPPING = {'id': 'keyword', 'k': 'keyword', 'g': 'keyword', 'nulls': 'keyword', 'n': 'long',
           'd': 'double', 'b': 'boolean', 't': 'text'}


@pytest.fixture
def index(raw: OpenSearch):
    name = 'azul_test_summary_agg_' + uuid.uuid4().hex[:8]
    raw.indices.create(index=name, body={
        'settings': {'number_of_shards': 1, 'number_of_replicas': 0},
        'mappings': {'properties': {f: {'type': t} for f, t in MAPPING.items()}}})
    for batch in BATCHES:
        for doc_id, doc in batch.items():
            raw.index(index=name, id=doc_id, body={'id': doc_id, **doc})
        raw.indices.refresh(index=name)
    assert len(raw.indices.segments(index=name)['indices'][name]['shards']['0'][0]
               ['segments']) == 3
    yield name
    raw.indices.delete(index=name)


def _search(raw: OpenSearch, index: str, query: dict, aggs: dict) -> dict:
    response = raw.search(index=index, body={'size': 0, 'query': query, 'aggs': aggs},
                          request_cache=False)
    return response['aggregations']


def _parts(raw: OpenSearch, index: str, query: dict, parts: dict) -> dict:
    aggs = _search(raw, index, query, {'s': {'azul_summary': {'parts': parts}}})
    return aggs['s']['parts']


def test_the_figures_by_hand(raw, index):
    # Live: a [x y] p1 n10 d1.5 T; c [y] p1 n5 T nulls d; d [z] p3 n7 d0.5 F;
    # e [] p2 n1,2 d4 nulls k; b [y z] p3 n30 d8 T; f [x] p1 d1 F nulls n
    parts = _parts(raw, index, {'match_all': {}}, {
        'n': {'sum': 'n'},
        'd': {'sum': 'd'},
        'k': {'cardinality': 'k'},
        'terms': {'terms': 'k', 'sums': ['n', 'd'], 'distinct': ['g']},
        'null': {'terms': 'nulls', 'include': ['d'], 'sums': ['n'], 'distinct': ['g']},
        'bool': {'terms': 'b', 'sums': ['n']},
        'long': {'terms': 'n'},
    })
    assert parts['n'] == {'value': 55.0}
    assert parts['d'] == {'value': 15.0}
    assert parts['k'] == {'value': 3}

    def bucket(key, count, sums, distinct=None):
        b = {'key': key, 'doc_count': count,
             **{f'sum{j}': {'value': s} for j, s in enumerate(sums)}}
        if distinct is not None:
            b['distinct0'] = {'sum_other_doc_count': 0, 'buckets': [{'key': v} for v in distinct]}
        return b

    empty = {'doc_count_error_upper_bound': 0, 'sum_other_doc_count': 0}
    # By count, descending, then by key
    assert parts['terms'] == {**empty, 'buckets': [
        bucket('y', 3, [45.0, 9.5], ['p1', 'p3']),   # a, c, b
        bucket('x', 2, [10.0, 2.5], ['p1']),         # a, f
        bucket('z', 2, [37.0, 8.5], ['p3']),         # d, b
    ]}
    # Only c lists d as null: b's version that did is deleted
    assert parts['null'] == {**empty, 'buckets': [bucket('d', 1, [5.0], ['p1'])]}
    # Booleans are 1 and 0, as in a `terms` aggregation; e has none
    assert parts['bool'] == {**empty, 'buckets': [bucket(1, 3, [45.0]), bucket(0, 2, [7.0])]}
    # e's two values count once each
    assert [(b['key'], b['doc_count']) for b in parts['long']['buckets']] == [
        (1, 1), (2, 1), (5, 1), (7, 1), (10, 1), (30, 1)]
    # Of the documents of p1 (a, c, f) only
    # and of those, none lists k as null (only e does, in their segment)
    parts = _parts(raw, index, {'term': {'g': 'p1'}}, {
        'n': {'sum': 'n'}, 'terms': {'terms': 'k', 'sums': ['n']},
        'null': {'terms': 'nulls', 'include': ['k', 'no such term'], 'sums': ['n']}})
    assert parts == {'n': {'value': 15.0},
                     'terms': {**empty, 'buckets': [bucket('x', 2, [10.0]),
                                                    bucket('y', 2, [15.0])]},
                     'null': {**empty, 'buckets': []}}


QUERIES = [
    {'match_all': {}},
    {'term': {'k': 'y'}},
    {'terms': {'id': ['b', 'e', 'f']}},
    {'range': {'n': {'gte': 6}}},
    {'term': {'id': 'nothing'}},
]


@pytest.mark.parametrize('query', QUERIES)
def test_the_figures_are_those_of_opensearch_aggregations(raw, index, query):
    expected = _search(raw, index, query, {
        'n': {'sum': {'field': 'n'}},
        'd': {'sum': {'field': 'd'}},
        'k': {'cardinality': {'field': 'k'}},
        'g': {'cardinality': {'field': 'g'}},
        'terms': {'terms': {'field': 'k', 'size': 100},
                  'aggs': {'sum0': {'sum': {'field': 'n'}}, 'sum1': {'sum': {'field': 'd'}},
                           'distinct0': {'terms': {'field': 'g', 'size': 100}}}},
        'long': {'terms': {'field': 'n', 'size': 100}, 'aggs': {'sum0': {'sum': {'field': 'd'}}}},
        'double': {'terms': {'field': 'd', 'size': 100}, 'aggs': {'sum0': {'sum': {'field': 'n'}}}},
        'bool': {'terms': {'field': 'b', 'size': 100}},
    })
    actual = _parts(raw, index, query, {
        'n': {'sum': 'n'},
        'd': {'sum': 'd'},
        'k': {'cardinality': 'k'},
        'g': {'cardinality': 'g'},
        'terms': {'terms': 'k', 'sums': ['n', 'd'], 'distinct': ['g']},
        'long': {'terms': 'n', 'sums': ['d']},
        'double': {'terms': 'd', 'sums': ['n']},
        'bool': {'terms': 'b'},
    })
    for name in ('n', 'd', 'k', 'g'):
        assert actual[name] == expected[name], name

    def buckets(agg):
        return [(b['key'], b['doc_count'],
                 [b[f'sum{j}']['value'] for j in range(2) if f'sum{j}' in b],
                 [v['key'] for v in b.get('distinct0', {}).get('buckets', [])])
                for b in agg['buckets']]

    for name in ('terms', 'long', 'double', 'bool'):
        assert buckets(actual[name]) == buckets(expected[name]), name


@pytest.mark.parametrize('agg, problem', [
    ({'azul_summary': {}}, 'needs [parts]'),
    ({'azul_summary': {'parts': {}}}, 'needs [parts]'),
    ({'azul_summary': {'parts': {'p': {'sum': 'n'}}, 'size': 3}}, 'not [size]'),
    ({'azul_summary': {'parts': {'p': {'max': 'n'}}}}, 'part [p] needs one of [sum]'),
    ({'azul_summary': {'parts': {'p': {'sum': 'n', 'cardinality': 'k'}}}}, 'takes one of'),
    ({'azul_summary': {'parts': {'p': {'sum': 'n', 'sums': ['d']}}}}, 'of [sum] takes no [sums]'),
    ({'azul_summary': {'parts': {'p': {'terms': 'k', 'sums': 'n'}}}}, 'lists strings in [sums]'),
    ({'azul_summary': {'parts': {'p': {'terms': ['k']}}}}, 'names its field as a string'),
    ({'azul_summary': {'parts': {'p': {'sum': 'k'}}}}, 'cannot sum the keyword field [k]'),
    ({'azul_summary': {'parts': {'p': {'terms': 'k', 'sums': ['g']}}}},
     'cannot sum the keyword field [g]'),
    ({'azul_summary': {'parts': {'p': {'terms': 'n', 'include': ['1']}}}},
     '[include] for keyword fields only'),
    ({'azul_summary': {'parts': {'p': {'cardinality': 't'}}}},
     'cannot read the field [t] of type [text]'),
    ({'azul_summary': {'parts': {'p': {'sum': 'n'}}}, 'aggs': {'s': {'max': {'field': 'n'}}}},
     'no sub-aggregations'),
])
def test_bad_requests_are_refused(raw, index, agg, problem):
    with pytest.raises(os_errors.RequestError) as e:
        _search(raw, index, {'match_all': {}}, {'s': agg})
    assert e.value.status_code == 400
    assert problem in str(e.value.info)


def test_not_below_another_aggregation(raw, index):
    with pytest.raises(os_errors.RequestError) as e:
        _search(raw, index, {'match_all': {}}, {'t': {'terms': {'field': 'k'}, 'aggs': {
            's': {'azul_summary': {'parts': {'p': {'sum': 'n'}}}}}}})
    assert e.value.status_code == 400
    assert 'top-level aggregation only' in str(e.value.info)


def test_a_field_the_index_does_not_map_has_no_values(raw, index):
    # As OpenSearch's own aggregations have it
    assert _parts(raw, index, {'match_all': {}}, {
        's': {'sum': 'unmapped'}, 'c': {'cardinality': 'unmapped'},
        't': {'terms': 'unmapped'}, 'k': {'terms': 'k', 'sums': ['unmapped']}}) == {
        's': {'value': 0.0}, 'c': {'value': 0},
        't': {'doc_count_error_upper_bound': 0, 'sum_other_doc_count': 0, 'buckets': []},
        'k': {'doc_count_error_upper_bound': 0, 'sum_other_doc_count': 0, 'buckets': [
            {'key': 'y', 'doc_count': 3, 'sum0': {'value': 0.0}},
            {'key': 'x', 'doc_count': 2, 'sum0': {'value': 0.0}},
            {'key': 'z', 'doc_count': 2, 'sum0': {'value': 0.0}}]}}


def test_summaries_with_and_without_it(es_endpoint, deployment, monkeypatch):
    registry = benchdata.registry()
    docs = list(benchdata.generate(300, seed=11))
    f = registry.__getitem__
    backends = {known: OpenSearchBackend(es_endpoint, prefix='azul', deployment=deployment,
                                         request_cache=False, kept_counts=False,
                                         facet_counts=known)
                for known in (None, False)}
    writer = backends[None]
    writer.create_indices('bench', [benchdata.ENTITY_TYPE], registry)
    writer.load_aggregates('bench', benchdata.ENTITY_TYPE, docs)
    aggregations = (
        Count('count'),
        Sum('size', f('fileSize')),
        Sum('cells', f('cellCount')),
        Cardinality('projects', f('projectId')),
        Cardinality('species', f('genusSpecies'), count_null=True),
        Terms('formats', f('fileFormat'), sums=(f('fileSize'),)),
        Terms('organs', f('organ'), sums=(f('cellCount'), f('fileSize')),
              distinct=(f('projectId'), f('laboratory'))),
        Terms('workflows', f('workflow'), sums=(f('fileSize'),), distinct=(f('projectId'),)),
        Terms('intermediate', f('isIntermediate'), sums=(f('fileSize'),)),
        Terms('donors', f('donorCount')),
        Terms('ages', f('organismAgeRange'), distinct=(f('projectId'),)),
    )
    filters = [Filters(), benchdata.filtered(registry), benchdata.one_filter(registry),
               Filters((Is(f('workflow'), (None,)),)),
               Filters((Is(f('organ'), ('no such organ',)),))]
    searches = {known: Searches(backend, monkeypatch) for known, backend in backends.items()}
    for i, filtered in enumerate(filters):
        request = SummaryRequest(benchdata.ENTITY_TYPE, filtered, aggregations)
        expected = reference_summary(docs, request)
        if i == 0:
            # Null terms and distinct values are in play
            assert any(b.term is None and b.distinct['projectId'] for b in expected['workflows'])
        for known, backend in backends.items():
            assert backend.summary('bench', request) == expected, (i, known)
    # The test node has it, found by asking (the probe is the first search);
    # the other was told it has not. Both share the figures out among two
    # searches (`summary._part_weight`, `summary._WEIGHTS`)
    assert searches[None].take() == [1] + [2] * len(filters)
    assert searches[False].take() == [2] * len(filters)
    for backend in backends.values():
        backend.close()
