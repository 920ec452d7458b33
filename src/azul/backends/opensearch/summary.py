"""
Pure translation of summary requests (`/index/summary`) into an aggregation
body and of the response into a `SummaryResult`.

Cardinality uses OpenSearch's HyperLogLog++ with `precision_threshold`
40000, its maximum: below that many distinct values the count is exact
(barring 64-bit hash collisions); above it, it is an estimate with a typical
error well under 1%. Azul counts distinct projects, donors, species and the
like, which stay far below that limit.
"""
from collections.abc import Mapping
from typing import Any

from azul.backends.opensearch.mapping import NULLS, from_key, term_path, value_path
from azul.backends.opensearch.queries import TERMS_SIZE, check_complete, filter_query
from azul.core.fields import Field, Value
from azul.core.search import (
    Cardinality,
    Count,
    Sum,
    SummaryRequest,
    SummaryResult,
    TermBucket,
    Terms,
    order_buckets,
)

PRECISION_THRESHOLD = 40_000


def _sum(field: Field) -> dict[str, Any]:
    return {'sum': {'field': value_path(field)}}


def _terms(field: Field) -> dict[str, Any]:
    return {'terms': {'field': term_path(field), 'size': TERMS_SIZE}}


def _bucket_aggs(agg: Terms) -> dict[str, Any]:
    return {
        **{f'sum{j}': _sum(f) for j, f in enumerate(agg.sums)},
        **{f'distinct{j}': _terms(f) for j, f in enumerate(agg.distinct)},
    }


def _aggregation(agg: Any) -> dict[str, dict[str, Any]]:
    """Named aggregations for one summary aggregation; keys get a prefix."""
    if isinstance(agg, Count):
        # Taken from the total of the hits
        return {}
    elif isinstance(agg, Sum):
        return {'': _sum(agg.field)}
    elif isinstance(agg, Cardinality):
        result = {'': {'cardinality': {'field': term_path(agg.field),
                                       'precision_threshold': PRECISION_THRESHOLD}}}
        if agg.count_null:
            # The null term is the documents listing the field in `nulls`
            result['_null'] = {'filter': {'term': {NULLS: agg.field.name}}}
        return result
    elif isinstance(agg, Terms):
        sub = _bucket_aggs(agg)
        terms: dict[str, Any] = _terms(agg.field)
        null: dict[str, Any] = {'filter': {'term': {NULLS: agg.field.name}}}
        if sub:
            terms['aggs'] = sub
            null['aggs'] = sub
        return {'': terms, '_null': null}
    else:
        raise AssertionError(agg)


def summary_body(request: SummaryRequest) -> dict[str, Any]:
    aggs = {}
    for i, agg in enumerate(request.aggregations):
        for suffix, body in _aggregation(agg).items():
            aggs[f'agg{i}{suffix}'] = body
    return {
        'size': 0,
        'track_total_hits': True,
        'query': filter_query(request.filters),
        'aggs': aggs,
    }


def _bucket(agg: Terms, term: Value, bucket: Mapping[str, Any]) -> TermBucket:
    distinct = {}
    for j, f in enumerate(agg.distinct):
        check_complete(f.name, bucket[f'distinct{j}'])
        values = (from_key(f, b['key']) for b in bucket[f'distinct{j}']['buckets'])
        distinct[f.name] = tuple(sorted(values))
    return TermBucket(term=term,
                      count=bucket['doc_count'],
                      sums={f.name: float(bucket[f'sum{j}']['value'])
                            for j, f in enumerate(agg.sums)},
                      distinct=distinct)


def summary_result(request: SummaryRequest, response: Mapping[str, Any]) -> SummaryResult:
    aggs = response.get('aggregations', {})
    result: dict[str, Any] = {}
    for i, agg in enumerate(request.aggregations):
        name = f'agg{i}'
        if isinstance(agg, Count):
            result[agg.name] = response['hits']['total']['value']
        elif isinstance(agg, Sum):
            result[agg.name] = float(aggs[name]['value'])
        elif isinstance(agg, Cardinality):
            nulls = aggs[f'{name}_null']['doc_count'] if agg.count_null else 0
            result[agg.name] = aggs[name]['value'] + (1 if nulls else 0)
        elif isinstance(agg, Terms):
            check_complete(agg.field.name, aggs[name])
            buckets = [_bucket(agg, from_key(agg.field, b['key']), b)
                       for b in aggs[name]['buckets']]
            null = aggs[f'{name}_null']
            if null['doc_count']:
                buckets.append(_bucket(agg, None, null))
            result[agg.name] = order_buckets(buckets)
        else:
            raise AssertionError(agg)
    return result
