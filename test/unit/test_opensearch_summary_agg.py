"""
The request for Azul's `azul_summary` and the reading of its response
(`azul.backends.opensearch.summary`); no node. The parts are the
aggregations `summary_body` would send, checked by hand against the
mapping's paths (`mapping.value_path`, `mapping.term_path`), and the
response shapes those of the aggregations they stand for.
"""
from azul.backends.opensearch.summary import (
    summary_agg_body,
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


def test_the_parts_are_named_as_the_aggregations():
    body = summary_agg_body(REQUEST)
    assert body['size'] == 0 and body['track_total_hits'] is True
    assert body['query'] == summary_body(REQUEST)['query']
    parts = body['aggs']['azul_summary']['azul_summary']['parts']
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


def test_some_parts_only():
    body = summary_agg_body(REQUEST, names=['agg1', 'agg3_pairs0'], total=False)
    assert body['track_total_hits'] is False
    assert list(body['aggs']['azul_summary']['azul_summary']['parts']) == ['agg1']
    # None asked for: a search of the total only, if anything
    assert 'aggs' not in summary_agg_body(REQUEST, names=[])


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
    read = summary_agg_response(response)
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
