"""
The request for Azul's `azul_summary` and the reading of its response
(`azul.backends.opensearch.summary`); no node. The parts are the
aggregations `summary_body` would send, checked by hand against the
mapping's paths (`mapping.value_path`, `mapping.term_path`), and the
response shapes those of the aggregations they stand for.
"""
from azul.backends.opensearch.summary import (
    summary_agg_bodies,
    summary_agg_response,
    summary_body,
    summary_result,
)
from azul.core.fields import Field, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import Cardinality, Count, Sum, SummaryRequest, TermBucket, Terms

ORGAN = Field('organ', FieldType.keyword, 'organ', facet=True)
SIZE = Field('fileSize', FieldType.long, 'size')
CELLS = Field('cells', FieldType.double, 'cells', facet=True)
AGE = Field('ageRange', FieldType.range, 'age', facet=True)
TITLE = Field('project.title', FieldType.keyword, 'project.title', facet=True)

REQUEST = SummaryRequest('files', Filters((Is(ORGAN, ('brain',)),)), (
    Count('count'),
    Sum('size', SIZE),
    Cardinality('ages', AGE, count_null=True),
    Terms('organs', ORGAN, sums=(CELLS,), distinct=(TITLE,)),
))


def _parts(body):
    return body['aggs']['azul_summary']['azul_summary']['parts']


def test_the_parts_are_named_as_the_aggregations():
    bodies = summary_agg_bodies(REQUEST)
    parts = {name: part for body in bodies for name, part in _parts(body).items()}
    assert parts == {
        'agg1': {'sum': 'fields.fileSize'},
        # A range's terms are its canonical keys
        'agg2': {'cardinality': 'range_key.ageRange'},
        # The null term: the documents listing the field in `nulls`
        'agg2_null': {'terms': 'nulls', 'include': ['ageRange']},
        'agg3': {'terms': 'fields.organ', 'sums': ['fields.cells'],
                 'distinct': ['fields.project%2Etitle']},
        'agg3_null': {'terms': 'nulls', 'include': ['organ'], 'sums': ['fields.cells'],
                      'distinct': ['fields.project%2Etitle']},
    }
    # Every part but the count's stands for an aggregation of `summary_body`
    # (whose pairs the terms part answers too)
    assert set(parts) == set(summary_body(REQUEST)['aggs']) - {'agg3_pairs0'}


def test_the_parts_shared_out_among_searches():
    # Weights (`_part_weight`): agg3 2.5 + 0.5 (a sum) + 4.0 (distinct
    # values) = 7.0, agg2 1.5, agg1 1.0, the null terms 0.3 each: 10.1 in
    # all, two searches of `MIN_PART_SHARE` (4.0). Heaviest first, each to
    # the lighter search: agg3 -> 1st, the rest -> 2nd (3.1 in the end)
    first, second = summary_agg_bodies(REQUEST)
    assert list(_parts(first)) == ['agg3']
    assert list(_parts(second)) == ['agg2', 'agg1', 'agg2_null', 'agg3_null']
    # Only the first counts the total; the query is the same
    assert (first['track_total_hits'], second['track_total_hits']) == (True, False)
    assert first['size'] == second['size'] == 0
    assert first['query'] == second['query'] == summary_body(REQUEST)['query']


def test_some_parts_only():
    [body] = summary_agg_bodies(REQUEST, names=['agg1', 'agg3_pairs0'], total=False)
    assert body['track_total_hits'] is False
    assert list(_parts(body)) == ['agg1']
    # None asked for: a search of the total only, or none
    [body] = summary_agg_bodies(REQUEST, names=[])
    assert 'aggs' not in body and body['track_total_hits'] is True
    assert summary_agg_bodies(REQUEST, names=[], total=False) == []


def _bucket(key, count, cells, titles):
    return {'key': key, 'doc_count': count, 'sum0': {'value': cells},
            'distinct0': {'sum_other_doc_count': 0, 'buckets': [{'key': t} for t in titles]}}


def test_the_response_reads_as_the_aggregations():
    empty = {'doc_count_error_upper_bound': 0, 'sum_other_doc_count': 0}
    response = {'hits': {'total': {'value': 7, 'relation': 'eq'}}, 'aggregations': {
        'azul_summary': {'parts': {
            'agg1': {'value': 120.0},
            'agg2': {'value': 2},
            'agg2_null': {**empty, 'buckets': []},
            'agg3': {**empty, 'buckets': [_bucket('brain', 5, 3.5, ['B', 'A']),
                                          _bucket('liver', 5, 1.0, [])]},
            'agg3_null': {**empty, 'buckets': [_bucket('organ', 2, 0.5, ['C'])]},
        }}}}
    read = summary_agg_response([response])
    # The null buckets become the filter aggregations' single buckets
    assert read['aggregations']['agg2_null'] == {'doc_count': 0}
    assert read['aggregations']['agg3_null'] == _bucket('organ', 2, 0.5, ['C'])
    assert summary_result(REQUEST, read) == {
        'count': 7,
        'size': 120.0,
        # No document without an age range: the null term does not count
        'ages': 2,
        # By count, descending, then by term, null last; distinct values sorted
        'organs': (TermBucket('brain', 5, {'cells': 3.5}, {'project.title': ('A', 'B')}),
                   TermBucket('liver', 5, {'cells': 1.0}, {'project.title': ()}),
                   TermBucket(None, 2, {'cells': 0.5}, {'project.title': ('C',)})),
    }
